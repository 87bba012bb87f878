"""Figures for the dashboard's charts: aggregates in a fixed number of queries (four), whatever
the number of commitments or updates, computed in the database rather than over every row.
Liaisons get the state of public updates only, like the rest of the dashboard
(commitments.selectors decides what each user may see).
"""

import datetime
from dataclasses import dataclass

from django.db import connection
from django.db.models import Avg, Count, F, Min, Window
from django.db.models.functions import Lead
from django.utils.translation import gettext as _

from commitments import charts, history
from commitments import selectors as commitment_selectors
from commitments.models import Document
from commitments.statuses import Status
from core.local_time import format_day


@dataclass
class DashboardCharts:
    status: charts.BarChart
    paragraphs: charts.BarChart | None  # the chosen document's
    over_time: charts.LineChart


def _paragraph_figures(*, user, document: Document) -> dict[int, tuple[int, int]]:
    """paragraph id -> (number of commitments, their average progress), one GROUP BY query."""
    rows = (
        commitment_selectors.commitment_list(user=user)
        .prefetch_related(None)
        .filter(paragraphs__document=document)
        .values("paragraphs")
        .annotate(n=Count("pk", distinct=True), mean=Avg("shown_progress"))
        .order_by()
    )
    return {row["paragraphs"]: (row["n"], round(row["mean"] or 0)) for row in rows}


def chart_paragraph_progress(*, user, document: Document) -> charts.BarChart:
    """The average progress of each of the document's paragraphs' commitments (two queries)."""
    figures = _paragraph_figures(user=user, document=document)
    rows = []
    for paragraph in document.paragraphs.all():  # in number order (Paragraph.Meta)
        count, mean = figures.get(paragraph.pk, (0, 0))
        rows.append(
            charts.ParagraphProgress(paragraph.number, paragraph.operative_verb, count, mean)
        )
    return charts.paragraph_progress_bars(
        rows,
        chart_id=f"chart-paragraphs-{document.pk}",
        title=_("Progress per paragraph: %(document)s") % {"document": document.short_name},
    )


# Each visible update still in effect (commitments.models.StatusUpdateQuerySet.in_effect)
# holds from its day until the commitment's next visible update (LEAD over
# the timeline's order). Counting +1 on the day an "achieved" update starts to hold and -1 on
# the day it stops gives, summed up to a day, how many commitments stood achieved then; the
# database returns one row per day with a change, not one per update.
ACHIEVED_CHANGES_SQL = """
WITH visible AS ({visible})
SELECT day, SUM(change) FROM (
    SELECT happened_on AS day, 1 AS change FROM visible WHERE status = %s
    UNION ALL
    SELECT next_on AS day, -1 AS change FROM visible WHERE status = %s AND next_on IS NOT NULL
    UNION ALL
    SELECT MIN(happened_on) AS day, 0 AS change FROM visible
) AS changes
WHERE day IS NOT NULL
GROUP BY day
ORDER BY day
"""


def _as_date(value) -> datetime.date:
    # SQLite hands a raw cursor's dates over as ISO text.
    return datetime.date.fromisoformat(value) if isinstance(value, str) else value


def _achieved_changes(*, user) -> list[tuple[datetime.date, int]]:
    """(day, change in the number of achieved commitments) for each day that has one (one query)."""
    timeline = [F("happened_on").asc(), F("recorded_at").asc(), F("pk").asc()]
    next_on = Window(Lead("happened_on"), partition_by=[F("commitment_id")], order_by=timeline)
    visible = (
        commitment_selectors.status_update_in_effect_list(user=user)
        .annotate(next_on=next_on)
        .order_by()
        .values("happened_on", "next_on", "status")
    )
    sql, params = visible.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            ACHIEVED_CHANGES_SQL.format(visible=sql),
            (*params, Status.ACHIEVED.value, Status.ACHIEVED.value),
        )
        return [(_as_date(day), int(change)) for day, change in cursor.fetchall()]


def _count_by_month(
    changes: list[tuple[datetime.date, int]], *, start: datetime.date, end: datetime.date
) -> list[tuple[datetime.date, int]]:
    """The running sum of the changes at the end of each month from start's to end's."""
    points, count, index = [], 0, 0
    for month_end in history.month_ends(start, end):
        while index < len(changes) and changes[index][0] <= month_end:
            count += changes[index][1]
            index += 1
        points.append((month_end, count))
    return points


def chart_achieved_over_time(*, user, today: datetime.date, total: int) -> charts.LineChart:
    """Commitments achieved at each month's end since the earliest adoption (two queries)."""
    start = Document.objects.aggregate(first=Min("adopted_on"))["first"]
    changes = _achieved_changes(user=user)
    start = start or (changes[0][0] if changes else today)
    monthly = _count_by_month(changes, start=start, end=today)
    return charts.achieved_over_time(
        monthly, chart_id="chart-achieved", total=total, since=format_day(start)
    )


def dashboard_charts(
    *, user, status_counts, today: datetime.date, document: Document | None
) -> DashboardCharts:
    """The dashboard's charts; status_counts come from the dashboard's own selector."""
    return DashboardCharts(
        status=charts.status_bars(status_counts),
        paragraphs=document and chart_paragraph_progress(user=user, document=document),
        over_time=chart_achieved_over_time(
            user=user, today=today, total=sum(item.count for item in status_counts)
        ),
    )
