"""Reads for the dashboard. Each selector is one query whatever the number of rows, so the
dashboard's query count stays fixed (tests/tracker/test_dashboard.py pins it)."""

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import (
    Count,
    DateField,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import Coalesce, TruncDate

from commitments.models import Commitment, Document, Paragraph, StatusUpdate
from commitments.statuses import DEFINITIONS, Status
from tracker.roles import user_can_see_internal

# Finished commitments cannot go quiet and have nothing left to be due.
CLOSED_STATUSES = (Status.ACHIEVED, Status.NO_LONGER_PURSUED)


@dataclass(frozen=True)
class StatusCount:
    status: Status
    count: int

    @property
    def definition(self) -> str:
        return DEFINITIONS[self.status]


@dataclass
class ParagraphRow:
    paragraph: Paragraph
    counts: list[StatusCount]
    total: int


@dataclass
class DocumentMatrix:
    document: Document
    rows: list[ParagraphRow] = field(default_factory=list)


@dataclass(frozen=True)
class DatedItem:
    """A commitment's target date or an event occurrence, as the dashboard lists them."""

    date: datetime.date
    title: str
    url: str
    kind: str


def _status_aggregates(prefix: str = "") -> dict:
    return {
        status.value: Count(f"{prefix}pk", filter=Q(**{f"{prefix}status": status}), distinct=True)
        for status in Status
    }


def dashboard_status_counts() -> list[StatusCount]:
    """How many commitments are in each status, in the vocabulary's order (one query)."""
    totals = Commitment.objects.aggregate(**_status_aggregates())
    return [StatusCount(status, totals[status.value]) for status in Status]


def dashboard_paragraph_matrix() -> list[DocumentMatrix]:
    """Paragraph x status counts for every document, numbered paragraphs in order (one query).

    A commitment drawn from two paragraphs counts once in each of them.
    """
    paragraphs = (
        Paragraph.objects.select_related("document")
        .annotate(**_status_aggregates("commitments__"), total=Count("commitments", distinct=True))
        .order_by("-document__adopted_on", "document__short_name", "number")
    )
    matrices: dict[int, DocumentMatrix] = {}
    for paragraph in paragraphs:
        matrix = matrices.setdefault(paragraph.document_id, DocumentMatrix(paragraph.document))
        counts = [StatusCount(status, getattr(paragraph, status.value)) for status in Status]
        matrix.rows.append(ParagraphRow(paragraph, counts, paragraph.total))
    return list(matrices.values())


def dashboard_recent_updates(*, user, limit: int = 10) -> QuerySet[StatusUpdate]:
    """The latest status updates by the date things happened; liaisons see only public ones."""
    updates = StatusUpdate.objects.select_related("commitment", "author")
    if not user_can_see_internal(user):
        updates = updates.filter(visibility=StatusUpdate.Visibility.PUBLIC)
    return updates.order_by("-happened_on", "-recorded_at", "-pk")[:limit]


def dashboard_quiet_commitments(*, today: datetime.date, limit: int = 20) -> QuerySet[Commitment]:
    """Open commitments with no update for their quiet period, the longest-silent first.

    The period is the commitment's own `quiet_after_days`, else TRACKER_QUIET_AFTER_DAYS. A
    commitment with no update at all counts from the day it was entered in the tracker, so a
    commitment added yesterday is not quiet yet.
    """
    default_days = settings.TRACKER_QUIET_AFTER_DAYS
    one_day = Value(datetime.timedelta(days=1), output_field=DurationField())
    days = Coalesce("quiet_after_days", default_days, output_field=IntegerField())
    quiet_period = ExpressionWrapper(days * one_day, output_field=DurationField())
    return (
        Commitment.objects.exclude(status__in=CLOSED_STATUSES)
        .annotate(active_on=Coalesce("last_activity_on", TruncDate("created_at")))
        .annotate(quiet_from=ExpressionWrapper(F("active_on") + quiet_period, DateField()))
        .filter(quiet_from__lte=today)
        .order_by(F("last_activity_on").asc(nulls_first=True), "title")[:limit]
    )


def dashboard_upcoming_commitments(
    *, today: datetime.date, limit: int = 10
) -> QuerySet[Commitment]:
    """Open commitments whose target date is today or later, the soonest first."""
    return (
        Commitment.objects.exclude(status__in=CLOSED_STATUSES)
        .filter(target_date__gte=today)
        .order_by("target_date", "title")[:limit]
    )


def dashboard_upcoming_items(*, today: datetime.date, limit: int = 10) -> list[DatedItem]:
    """The next dated items: commitment target dates from today on."""
    items = [
        DatedItem(c.target_date, c.title, c.get_absolute_url(), "Target date")
        for c in dashboard_upcoming_commitments(today=today, limit=limit)
    ]
    return sorted(items, key=lambda item: (item.date, item.title))[:limit]
