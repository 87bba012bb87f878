"""Reads for the dashboard. Each selector costs a fixed number of queries whatever the number
of rows, so the dashboard's query count stays fixed (tests/tracker/test_dashboard.py pins it).

Liaisons see the state each commitment has by its latest *public* update (shown_status,
shown_last_activity from commitments.selectors), so counts, the overdue and freshness figures and
the dated items never reveal an internal update.
"""

import datetime
from collections import Counter
from dataclasses import dataclass, field

from django.db import DEFAULT_DB_ALIAS
from django.db.models import (
    Count,
    Exists,
    OuterRef,
    QuerySet,
    Value,
    prefetch_related_objects,
)
from django.utils.translation import get_language

from commitments import deadlines
from commitments import selectors as commitment_selectors
from commitments.models import Commitment, Document, Paragraph, StatusUpdate
from commitments.statuses import DEFINITIONS, Status
from core import caching
from core.roles import liaison_state_id, reader_audience
from tracker import chart_selectors, events

# Finished commitments have nothing left to be due (commitments.deadlines says what is closed).
CLOSED_STATUSES = deadlines.CLOSED_STATUSES
# Far enough ahead to reach the next five-yearly forum.
EVENT_HORIZON_YEARS = 5
DOCUMENT_ORDER = ("-adopted_on", "short_name")


@dataclass(frozen=True)
class StatusCount:
    status: Status
    count: int  # not retired: what the table lists
    retired: int = 0  # for the achieved chart, whose history has the retired ones too

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
    # The last day of an event of several days already under way: "under way until ...".
    under_way_until: datetime.date | None = None


def _visible_commitments(*, user) -> QuerySet[Commitment]:
    """Commitments annotated with the state the user may see, without the table's prefetches."""
    return commitment_selectors.commitment_list(user=user).prefetch_related(None)


def _open(commitments: QuerySet[Commitment]) -> QuerySet[Commitment]:
    # A retired commitment is closed too: it cannot go quiet and nothing of it is due.
    return commitments.exclude(shown_status__in=CLOSED_STATUSES).filter(retired_on__isnull=True)


def dashboard_status_counts(*, user) -> list[StatusCount]:
    """How many commitments not retired are in each status, in the vocabulary's order (one
    query): the rows the table lists at each count's link, which leaves retired ones out.

    Every commitment grouped by the status column alone, less the retired ones grouped by it,
    so that PostgreSQL counts both from indexes (Commitment.Meta: the status column's and the
    small one of the retired commitments) without reading the table's wide rows, as a filter on
    retired_on, which neither index holds, would."""
    status_field, _ = commitment_selectors.state_columns(user=user)

    def by_status(commitments: QuerySet[Commitment], *, retired: bool) -> QuerySet:
        rows = commitments.values_list(status_field).annotate(retired=Value(retired), n=Count("*"))
        return rows.order_by()

    every = by_status(Commitment.objects.all(), retired=False)
    retired = by_status(Commitment.objects.filter(retired_on__isnull=False), retired=True)
    totals = {False: Counter(), True: Counter()}
    for status, is_retired, n in every.union(retired, all=True):
        totals[is_retired][status] += n
    left, gone = totals[False] - totals[True], totals[True]
    return [StatusCount(status, left[status.value], gone[status.value]) for status in Status]


def _paragraph_status_counts(*, user, document: Document) -> dict[tuple[int, str], int]:
    """(paragraph id, status) -> number of commitments not retired, one GROUP BY query."""
    rows = (
        _visible_commitments(user=user)
        .filter(paragraphs__document=document, retired_on__isnull=True)  # as the table
        .values("paragraphs", "shown_status")
        .annotate(n=Count("pk", distinct=True))
        .order_by()
    )
    return {(row["paragraphs"], row["shown_status"]): row["n"] for row in rows}


def dashboard_paragraph_matrix(*, user, document: Document) -> DocumentMatrix:
    """Paragraph x status counts for one document, paragraphs in order (two queries).

    A commitment drawn from two paragraphs counts once in each of them; paragraphs no
    commitment comes from are listed with zeroes, so gaps in the follow-up show.
    """
    counts = _paragraph_status_counts(user=user, document=document)
    matrix = DocumentMatrix(document)
    for paragraph in document.paragraphs.all():  # in number order (Paragraph.Meta)
        row = [StatusCount(s, counts.get((paragraph.pk, s.value), 0)) for s in Status]
        matrix.rows.append(ParagraphRow(paragraph, row, sum(c.count for c in row)))
    return matrix


# What the dashboard's document choice shows; the other fields load if something asks.
DOCUMENT_CHOICE_FIELDS = ("id", "short_name", "title")


def _document_choice_rows() -> list[tuple]:
    """(id, short_name, title) of every document with paragraphs, the most recently adopted
    first; cached with the dashboard's figures as plain rows (a programme has hundreds, read on
    every visit). A document entered as a record only (no text, so no paragraphs: a later
    resolution cited by its source) has no matrix to show and is not offered."""

    def compute() -> list[tuple]:
        with_text = Paragraph.objects.filter(document=OuterRef("pk"))
        documents = Document.objects.filter(Exists(with_text)).order_by(*DOCUMENT_ORDER)
        return list(documents.values_list(*DOCUMENT_CHOICE_FIELDS))

    return caching.cached(caching.DASHBOARD, ("documents",), compute)


def _document_from(row: tuple) -> Document:
    return Document.from_db(DEFAULT_DB_ALIAS, DOCUMENT_CHOICE_FIELDS, row)


@dataclass(frozen=True)
class DashboardDocuments:
    shown: Document | None  # the one asked for by its id, else the most recent; None: none
    choices: list[tuple[int, str]]  # (id, short name) of each one it can show, in order
    first: list[Document]  # the most recent few, named in the page's opening line


def dashboard_documents(*, requested: str | None, first: int) -> DashboardDocuments:
    """The documents the dashboard can show one at a time, the most recently adopted first,
    from one read of the kept list: Document objects only for those it names."""
    rows = _document_choice_rows()
    by_id = {str(row[0]): row for row in rows}
    shown = by_id.get(requested or "") or (rows[0] if rows else None)
    return DashboardDocuments(
        shown=_document_from(shown) if shown else None,
        choices=[(pk, short_name) for pk, short_name, _title in rows],
        first=[_document_from(row) for row in rows[:first]],
    )


@dataclass
class DashboardAggregates:
    status_counts: list[StatusCount]
    deadline_counts: "DeadlineCounts"
    matrix: DocumentMatrix | None
    charts: chart_selectors.DashboardCharts


def dashboard_aggregates(*, user, document: Document | None, today) -> DashboardAggregates:
    """Counts, the document's matrix and the charts, cached per audience until the next write.

    The deadline and freshness counts are here, beside the status counts, because they take
    how many are open from them instead of counting every open commitment again."""

    def compute() -> DashboardAggregates:
        if document is not None:  # the matrix and the chart both list its paragraphs
            prefetch_related_objects([document], "paragraphs")
        counts = dashboard_status_counts(user=user)
        return DashboardAggregates(
            status_counts=counts,
            deadline_counts=dashboard_deadline_counts(user=user, today=today, status_counts=counts),
            matrix=document and dashboard_paragraph_matrix(user=user, document=document),
            charts=chart_selectors.dashboard_charts(
                user=user, status_counts=counts, today=today, document=document
            ),
        )

    parts = (reader_audience(user), get_language(), today, document and document.pk)
    return caching.cached(caching.DASHBOARD, parts, compute)


def dashboard_recent_updates(*, user, limit: int = 10) -> QuerySet[StatusUpdate]:
    """The latest status updates by the date things happened; liaisons see only public ones.
    A corrected update is listed as its correction; a withdrawn one not at all."""
    return (
        commitment_selectors.status_update_in_effect_list(user=user)
        .select_related("commitment", "author")
        .order_by(*commitment_selectors.TIMELINE_ORDER)[:limit]
    )


def _dated_commitments(*, user, today: datetime.date) -> QuerySet[Commitment]:
    """Commitments with their deadline and freshness on `today` (commitments.deadlines)."""
    dated = commitment_selectors.commitment_dated_list(user=user, today=today)
    return dated.prefetch_related(None)


def dashboard_overdue_commitments(
    *, user, today: datetime.date, limit: int = 20
) -> QuerySet[Commitment]:
    """Overdue commitments, overdue the longest first."""
    # Filtered by the plain rule, not by the annotation: the annotations are then computed only
    # for the rows kept (deadlines.overdue).
    overdue = _dated_commitments(user=user, today=today).filter(deadlines.overdue(today=today))
    return overdue.order_by(deadlines.earliest_due(), "title")[:limit]  # overdue_since


def dashboard_due_soon_commitments(
    *, user, today: datetime.date, limit: int = 20
) -> QuerySet[Commitment]:
    """Commitments due within TRACKER_DUE_SOON_DAYS, the soonest first."""
    soon = _dated_commitments(user=user, today=today).filter(deadlines.due_soon(today=today))
    return soon.order_by(deadlines.earliest_due(), "title")[:limit]  # next_due


@dataclass(frozen=True)
class DeadlineCounts:
    """How many commitments are overdue, due soon, and of each freshness (one query)."""

    overdue: int
    due_soon: int
    freshness: list[tuple[str, str, int]]  # (value, label, count), on time first


def dashboard_deadline_counts(
    *, user, today: datetime.date, status_counts: list[StatusCount] | None = None
) -> DeadlineCounts:
    """The counts of deadlines.state_counts in the state the user sees; given the user's
    status counts (dashboard_status_counts, retired commitments left out), it takes how many
    are open, those freshness applies to, from them."""
    status_field, last_field = commitment_selectors.state_columns(user=user)
    open_total = None
    if status_counts is not None:
        open_total = sum(c.count for c in status_counts if c.status not in CLOSED_STATUSES)
    totals = deadlines.state_counts(
        today=today, status_field=status_field, last_field=last_field, open_total=open_total
    )
    freshness = [(v, label, totals[v]) for v, label in deadlines.FRESHNESS_LABELS.items()]
    return DeadlineCounts(totals[deadlines.OVERDUE], totals[deadlines.DUE_SOON], freshness)


def dashboard_upcoming_commitments(
    *, user, today: datetime.date, limit: int = 10
) -> QuerySet[Commitment]:
    """Open commitments whose target date is today or later, the soonest first."""
    return (
        _open(_visible_commitments(user=user))
        .filter(target_date__gte=today)
        .order_by("target_date", "title")[:limit]
    )


def dashboard_upcoming_occurrences(
    *, user, today: datetime.date, limit: int
) -> list[events.Occurrence]:
    """The first `limit` of the next occurrence of each event the user may see, up to the
    horizon (one query, or a few more when the soonest events have no occurrence soon).

    Only the next one per event, so that yearly days do not crowd out everything else.
    Deadline events mirror commitment target dates, which dashboard_upcoming_commitments
    lists already (and drops once the commitment is closed), so they are left out here.
    """
    visible = events.events_visible_to(user=user).filter(deadline_of__isnull=True)
    end = datetime.date(today.year + EVENT_HORIZON_YEARS, 12, 31)
    return events.first_occurrences(start=today, end=end, events=visible, limit=limit)


def _occurrence_item(occurrence: events.Occurrence, today: datetime.date) -> DatedItem:
    title = occurrence.event.title
    if occurrence.anniversary_label:
        title = f"{title} ({occurrence.anniversary_label})"
    kind = occurrence.event.get_kind_display()
    url = occurrence.event.get_absolute_url()
    if occurrence.under_way(today):
        # Listed today, among what comes next, until its last day.
        return DatedItem(today, title, url, kind, under_way_until=occurrence.last_day)
    return DatedItem(occurrence.date, title, url, kind)


def dashboard_upcoming_items(*, user, today: datetime.date, limit: int = 10) -> list[DatedItem]:
    """The next dated items: commitment target dates and event occurrences from today on."""
    items = [
        DatedItem(c.target_date, c.title, c.get_absolute_url(), "Target date")
        for c in dashboard_upcoming_commitments(user=user, today=today, limit=limit)
    ]
    occurrences = dashboard_upcoming_occurrences(user=user, today=today, limit=limit)
    items += [_occurrence_item(occurrence, today) for occurrence in occurrences]
    return sorted(items, key=lambda item: (item.date, item.title))[:limit]


@dataclass
class DashboardLists:
    recent_updates: list[StatusUpdate]
    overdue: list[Commitment]
    due_soon: list[Commitment]
    upcoming: list[DatedItem]


def dashboard_lists(*, user, today: datetime.date) -> DashboardLists:
    """Recent updates, what is overdue and due soon and the dated items, cached like the
    aggregates.

    The events a liaison sees depend on their state (tracker.events.events_visible_to), so
    their lists are kept per state.
    """

    def compute() -> DashboardLists:
        return DashboardLists(
            recent_updates=list(dashboard_recent_updates(user=user)),
            overdue=list(dashboard_overdue_commitments(user=user, today=today)),
            due_soon=list(dashboard_due_soon_commitments(user=user, today=today)),
            upcoming=dashboard_upcoming_items(user=user, today=today),
        )

    return caching.cached(caching.DASHBOARD, ("lists", *_viewer(user), today), compute)


def _viewer(user) -> tuple:
    """What the dashboard's content depends on besides the day: audience, state, language."""
    state = liaison_state_id(user)
    return (reader_audience(user), state, get_language())


def dashboard_content_parts(*, user, today, requested: str | None) -> tuple:
    """What the dashboard's rendered content depends on (cached in the DASHBOARD family, so a
    write forgets it like the aggregates): who sees it, on which day, the document asked for.

    The document is one of the recorded ids, "unknown" for any other value, or none: what the
    page shows for each, so a query string of junk shares one entry and cannot grow the cache."""
    return ("content", *_viewer(user), today, _document_key(requested))


def _document_key(requested: str | None) -> str | None:
    if not requested:
        return None
    known = {str(row[0]) for row in _document_choice_rows()}
    return requested if requested in known else "unknown"
