"""{% progress_timeline_chart timeline %}: a commitment's history as a chart, from the updates
the page already holds (no query)."""

from django import template

from commitments import charts
from core.local_time import reader_today

register = template.Library()


@register.inclusion_tag("tracker/_chart_line.html", takes_context=True)
def progress_timeline_chart(context, timeline):
    """timeline: the page's updates, newest first, already filtered to what the reader may see."""
    oldest_first = sorted(timeline, key=lambda u: (u.happened_on, u.recorded_at, u.pk))
    today = reader_today(context["request"].user)
    chart = charts.progress_timeline(oldest_first, chart_id="chart-timeline", today=today)
    return {"chart": chart}
