"""Figures for the dashboard's charts: aggregates in a fixed number of queries (four), whatever
the number of commitments or updates, computed in the database rather than over every row, the
achieved series from spans kept with each write (commitments.achieved_spans).
Liaisons get the state of public updates only, like the rest of the dashboard
(commitments.selectors decides what each user may see).
"""

import datetime
from dataclasses import dataclass

from django.db import connection
from django.db.models import Avg, Count, Min
from django.utils.translation import gettext as _

from commitments import charts, history
from commitments import selectors as commitment_selectors
from commitments.models import AchievedSpan, Document
from core.local_time import format_day
from core.roles import reader_audience


@dataclass
class DashboardCharts:
    status: charts.BarChart
    paragraphs: charts.BarChart | None  # the chosen document's
    over_time: charts.LineChart


def _paragraph_figures(*, user, document: Document) -> dict[int, tuple[int, int]]:
    """paragraph id -> (number of commitments not retired, their average progress), one GROUP BY
    query."""
    rows = (
        commitment_selectors.commitment_list(user=user)
        .prefetch_related(None)
        .filter(paragraphs__document=document, retired_on__isnull=True)  # as the matrix
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


# Each commitment's days achieved, as the reader's audience reads its history, are kept as
# spans (commitments.models.AchievedSpan, rewritten with each write of its history): counting
# +1 on the day a span starts and -1 on the day it ends gives, summed up to a day, how many
# commitments stood achieved then. The database returns one row per day with a change, from
# the spans' index, instead of a window over every update (0.8-2 s at 500,000 updates).
ACHIEVED_CHANGES_SQL = """
SELECT day, SUM(change) FROM (
    SELECT started_on AS day, 1 AS change FROM {table} WHERE audience = %s
    UNION ALL
    SELECT ended_on AS day, -1 AS change FROM {table}
    WHERE audience = %s AND ended_on IS NOT NULL
) AS changes
GROUP BY day
ORDER BY day
"""


def _as_date(value) -> datetime.date:
    # SQLite hands a raw cursor's dates over as ISO text.
    return datetime.date.fromisoformat(value) if isinstance(value, str) else value


def _achieved_changes(*, user) -> list[tuple[datetime.date, int]]:
    """(day, change in the number of achieved commitments) for each day that has one (one query)."""
    audience = reader_audience(user)
    with connection.cursor() as cursor:
        cursor.execute(
            ACHIEVED_CHANGES_SQL.format(table=AchievedSpan._meta.db_table), (audience, audience)
        )
        return [(_as_date(day), int(change)) for day, change in cursor.fetchall()]


def _first_day(*, user) -> datetime.date | None:
    """The day of the earliest update the user may read that still holds: where the chart
    starts when no document has an adoption date (one query, read from the timeline index)."""
    updates = commitment_selectors.status_update_in_effect_list(user=user)
    return updates.order_by("happened_on").values_list("happened_on", flat=True).first()


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
    """Commitments achieved at each month's end since the earliest adoption (two queries; a
    third when no document has an adoption date)."""
    start = Document.objects.aggregate(first=Min("adopted_on"))["first"]
    changes = _achieved_changes(user=user)
    start = start or _first_day(user=user) or today
    monthly = _count_by_month(changes, start=start, end=today)
    return charts.achieved_over_time(
        monthly, chart_id="chart-achieved", total=total, since=format_day(start)
    )


def dashboard_charts(
    *, user, status_counts, today: datetime.date, document: Document | None
) -> DashboardCharts:
    """The dashboard's charts; status_counts come from the dashboard's own selector. The
    achieved history counts retired commitments on the days they stood achieved, so its total
    has them too; the status bars, as the counts, leave them out."""
    every = sum(item.count + item.retired for item in status_counts)
    return DashboardCharts(
        status=charts.status_bars(status_counts),
        paragraphs=document and chart_paragraph_progress(user=user, document=document),
        over_time=chart_achieved_over_time(user=user, today=today, total=every),
    )
