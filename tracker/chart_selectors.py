"""Figures for the dashboard's charts: aggregates in a fixed number of queries (four), whatever
the number of commitments or updates. Liaisons get the state of public updates only, like the
rest of the dashboard (commitments.selectors decides what each user may see).
"""

import datetime
from dataclasses import dataclass

from django.db.models import Avg, Count, Min
from django.utils.translation import gettext as _

from commitments import history
from commitments import selectors as commitment_selectors
from commitments.models import Document, Paragraph
from commitments.statuses import Status

from . import charts


@dataclass
class DashboardCharts:
    status: charts.BarChart
    paragraphs: list[tuple[Document, charts.BarChart]]
    over_time: charts.LineChart


def _paragraph_figures(*, user) -> dict[int, tuple[int, int]]:
    """paragraph id -> (number of commitments, their average progress), one GROUP BY query."""
    rows = (
        commitment_selectors.commitment_list(user=user)
        .prefetch_related(None)
        .filter(paragraphs__isnull=False)
        .values("paragraphs")
        .annotate(n=Count("pk", distinct=True), mean=Avg("shown_progress"))
        .order_by()
    )
    return {row["paragraphs"]: (row["n"], round(row["mean"] or 0)) for row in rows}


def chart_paragraph_progress(*, user) -> list[tuple[Document, charts.BarChart]]:
    """Per document, the average progress of each paragraph's commitments (two queries)."""
    figures = _paragraph_figures(user=user)
    paragraphs = Paragraph.objects.select_related("document").order_by(
        "-document__adopted_on", "document__short_name", "number"
    )
    by_document: dict[int, tuple[Document, list[charts.ParagraphProgress]]] = {}
    for paragraph in paragraphs:
        document, rows = by_document.setdefault(paragraph.document_id, (paragraph.document, []))
        count, mean = figures.get(paragraph.pk, (0, 0))
        rows.append(
            charts.ParagraphProgress(paragraph.number, paragraph.operative_verb, count, mean)
        )
    return [
        (
            document,
            charts.paragraph_progress_bars(
                rows,
                chart_id=f"chart-paragraphs-{document.pk}",
                title=_("Progress per paragraph: %(document)s") % {"document": document.short_name},
            ),
        )
        for document, rows in by_document.values()
    ]


def chart_achieved_over_time(*, user, today: datetime.date, total: int) -> charts.LineChart:
    """Commitments achieved at each month's end since the earliest adoption (two queries)."""
    start = Document.objects.aggregate(first=Min("adopted_on"))["first"]
    rows = list(
        commitment_selectors.status_update_visible_list(user=user)
        .order_by("happened_on", "recorded_at", "pk")
        .values_list("commitment_id", "happened_on", "status", "progress", named=True)
    )
    start = start or (rows[0].happened_on if rows else today)
    monthly = history.count_by_month(rows, start=start, end=today, status=Status.ACHIEVED)
    return charts.achieved_over_time(
        monthly, chart_id="chart-achieved", total=total, since=f"{start:%d %B %Y}"
    )


def dashboard_charts(*, user, status_counts, today: datetime.date) -> DashboardCharts:
    """The dashboard's three charts; status_counts come from the dashboard's own selector."""
    return DashboardCharts(
        status=charts.status_bars(status_counts),
        paragraphs=chart_paragraph_progress(user=user),
        over_time=chart_achieved_over_time(
            user=user, today=today, total=sum(item.count for item in status_counts)
        ),
    )
