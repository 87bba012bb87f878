"""When a commitment is due, overdue, and how fresh its news is: the one statement of the rules,
used by the table, the commitment and actor pages, the dashboard, the report and reminders.

On day T (the reader's today, core.local_time.reader_today; the report's "as of" day):

- **Overdue**: not finished, and its target date is before T, or one of its milestones not
  done has a due date before T. Overdue since: the earliest such date.
- **Due soon**: not overdue, and its target date or an undone milestone's due date falls
  within [T, T + TRACKER_DUE_SOON_DAYS].
- **Freshness** of an open commitment: on time while its last news is at most its reporting
  cadence (N months) old, late beyond it, very late beyond twice it (2N months). Its last news
  is its last activity (the day the latest update says something happened), or, with none,
  the day it was entered in the tracker.

The lists compute these in the database (annotations), so the table filters and sorts by
them and each page's query count does not grow with the record; the report replays history in
Python and uses the same rule as plain functions (`deadline_state`), which the tests hold to
the annotations.
"""

import calendar
import datetime
import functools
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, connections, router
from django.db.models import (
    Case,
    CharField,
    Count,
    DateField,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import (
    Coalesce,
    ExtractDay,
    ExtractMonth,
    ExtractYear,
    Least,
    TruncDate,
)
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    LessThan,
    LessThanOrEqual,
)
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import (
    DEFAULT_REPORTING_CADENCE_MONTHS,
    Commitment,
    Milestone,
    cadence_months_expression,
    news_on_expression,
)
from .statuses import Status

# Nothing more is expected of these: no news, no deadline.
CLOSED_STATUSES = (Status.ACHIEVED, Status.NO_LONGER_PURSUED)
# A recurring commitment on track met its latest occurrence: nothing is overdue, though news of
# the next occurrence is still expected (freshness applies).
FINISHED_STATUSES = (*CLOSED_STATUSES, Status.RECURRING_ON_TRACK)

OVERDUE = "overdue"
DUE_SOON = "due_soon"
DEADLINE_LABELS = {OVERDUE: _("Overdue"), DUE_SOON: _("Due soon")}

ON_TIME = "on_time"
LATE = "late"
VERY_LATE = "very_late"
FRESHNESS_LABELS = {ON_TIME: _("On time"), LATE: _("Late"), VERY_LATE: _("Very late")}


def closed(status_field: str = "shown_status") -> Q:
    """Commitments nothing more is expected of (no freshness, no deadline); retired ones too."""
    return Q(**{f"{status_field}__in": CLOSED_STATUSES}) | Q(retired_on__isnull=False)


def finished(status_field: str = "shown_status") -> Q:
    """Commitments that cannot be overdue or due soon."""
    return closed(status_field) | Q(**{status_field: Status.RECURRING_ON_TRACK})


def due_soon_days() -> int:
    return settings.TRACKER_DUE_SOON_DAYS


# --- In the database -------------------------------------------------------------------------


def _undone_milestone_due(*, from_day: datetime.date) -> Subquery:
    """The earliest due date of the commitment's undone milestones from a day on."""
    undone = Milestone.objects.filter(
        commitment=OuterRef("pk"), done_on__isnull=True, due_on__gte=from_day
    )
    return Subquery(undone.order_by("due_on").values("due_on")[:1], output_field=DateField())


def _earliest(a, b):
    """The earlier of two dates, either of which may be null (null only when both are):
    LEAST ignores nulls on PostgreSQL but not on SQLite, so each stands in for the other."""
    return Least(Coalesce(a, b), Coalesce(b, a), output_field=DateField())


def deadline_annotations(*, today: datetime.date, status_field: str = "shown_status") -> dict:
    """overdue_since (date or null), next_due (the earliest date still ahead, or null),
    due_date (overdue_since, else next_due: the table's Due column, whose sort reads the same
    date written without today's in it, models.due_order_expression) and deadline (OVERDUE,
    DUE_SOON or ""), on the state in status_field.

    The milestones' dates come from Commitment.undone_milestone_due_on, the earliest undone
    one's: it is the overdue one if before today, else the next one ahead. Only next_due of a
    commitment with a missed milestone needs a milestone subquery (a later one may be ahead),
    run once for such a row and for no other; due_date and deadline read the expressions
    without it, as a later annotation's reference repeats the whole earlier expression."""
    not_finished = ~finished(status_field)
    first_milestone = F("undone_milestone_due_on")
    missed_target = Case(
        When(target_date__lt=today, then=F("target_date")), output_field=DateField()
    )
    ahead_target = Case(
        When(target_date__gte=today, then=F("target_date")), output_field=DateField()
    )
    missed_milestone = Case(
        When(undone_milestone_due_on__lt=today, then=first_milestone), output_field=DateField()
    )
    ahead_milestone = Case(
        When(undone_milestone_due_on__gte=today, then=first_milestone), output_field=DateField()
    )
    overdue_since = Case(
        When(not_finished, then=_earliest(missed_target, missed_milestone)),
        output_field=DateField(),
    )
    # next_due where no milestone was missed: all that due_date and deadline need.
    next_due_unless_missed = Case(
        When(not_finished, then=_earliest(ahead_target, ahead_milestone)),
        output_field=DateField(),
    )
    # CASE runs a branch's subquery only for the rows that take it; each branch has one.
    ahead_after_missed = _undone_milestone_due(from_day=today)
    next_after_missed = Case(
        When(
            target_date__gte=today,
            then=Least(F("target_date"), Coalesce(ahead_after_missed, F("target_date"))),
        ),
        default=ahead_after_missed,
        output_field=DateField(),
    )
    soon_end = today + datetime.timedelta(days=due_soon_days())
    return {
        "overdue_since": overdue_since,
        "next_due": Case(
            When(not_finished & Q(undone_milestone_due_on__lt=today), then=next_after_missed),
            default=next_due_unless_missed,
            output_field=DateField(),
        ),
        "due_date": Coalesce(overdue_since, next_due_unless_missed, output_field=DateField()),
        "deadline": Case(
            When(overdue_since__isnull=False, then=Value(OVERDUE)),
            When(LessThanOrEqual(next_due_unless_missed, soon_end), then=Value(DUE_SOON)),
            default=Value(""),
            output_field=CharField(),
        ),
    }


def _day_score(year, month, day):
    """A day as a number that orders days and in which a month is always 32 (see late_score)."""
    return (year * 12 + month) * 32 + day


def _cadence_months():
    return cadence_months_expression(DEFAULT_REPORTING_CADENCE_MONTHS)


def _freshness(status_field: str, allowed) -> Case:
    return Case(
        When(closed(status_field), then=Value("")),
        When(Q(news_elapsed__gt=allowed * 2), then=Value(VERY_LATE)),
        When(Q(news_elapsed__gt=allowed), then=Value(LATE)),
        default=Value(ON_TIME),
        output_field=CharField(),
    )


def annotate(
    queryset,
    *,
    today: datetime.date,
    status_field: str = "shown_status",
    last_field: str = "shown_last_activity",
):
    """The queryset with, for day `today`: the deadline annotations (deadline_annotations),
    last_news (the day freshness counts from) and freshness (ON_TIME, LATE, VERY_LATE, or ""
    for a closed commitment).

    Late on day T means T > last news + N months (the calendar's months: 31 January + 1 month
    is 28 or 29 February). With d = the day score of T minus that of the last news (32 per
    month, plus the difference of the days of the month), that is d > 32 N: a month more is at
    least 32 - 30 > 0, a month fewer at most -32 + 30 < 0, and in the same month count it is
    the days that decide (a last day past the end of T's month cannot be passed)."""
    deadlines = deadline_annotations(today=today, status_field=status_field)
    last_news = Coalesce(last_field, TruncDate("created_at"), output_field=DateField())
    news = (ExtractYear("last_news"), ExtractMonth("last_news"), ExtractDay("last_news"))
    elapsed = Value(_day_score(today.year, today.month, today.day)) - _day_score(*news)
    return (
        queryset.annotate(overdue_since=deadlines["overdue_since"], next_due=deadlines["next_due"])
        .annotate(due_date=deadlines["due_date"], deadline=deadlines["deadline"])
        .annotate(last_news=last_news)
        .annotate(news_elapsed=elapsed)
        .annotate(freshness=_freshness(status_field, _cadence_months() * 32))
    )


# --- Counts in one pass ----------------------------------------------------------------------

# Cadences the counts look up in a list of days; a longer one (the forms allow 120 months at
# most) is compared by the day scores of `annotate`.
LISTED_CADENCE_MONTHS = 120


def late_before(*, today: datetime.date, months: int) -> datetime.date:
    """The earliest last news that is not late after `months` months on `today`: the day score
    rule of `annotate` (late when today's score exceeds the last news' by more than 32 N) said
    as a day, so a count compares a date instead of computing scores for every row."""
    year, month = divmod(today.year * 12 + today.month - 1 - months, 12)
    last = calendar.monthrange(year, month + 1)[1]
    if today.day <= last:
        return datetime.date(year, month + 1, today.day)
    return datetime.date(year, month + 1, last) + datetime.timedelta(days=1)


class _DayByCadence(Func):
    """late_before(today, cadence x factor) of each row's cadence: the days listed once per
    query (an array indexed by the cadence on PostgreSQL, a CASE elsewhere); null for a cadence
    past the list."""

    output_field = DateField()

    def __init__(self, cadence, *, today: datetime.date, factor: int):
        super().__init__(cadence)
        self.days = [
            late_before(today=today, months=months * factor)
            for months in range(1, LISTED_CADENCE_MONTHS + 1)
        ]

    def as_sql(self, compiler, connection, **extra_context):
        cadence_sql, params = compiler.compile(self.source_expressions[0])
        whens = " ".join(f"WHEN {months} THEN %s" for months in range(1, len(self.days) + 1))
        return f"CASE {cadence_sql} {whens} END", [*params, *self.days]

    def as_postgresql(self, compiler, connection, **extra_context):
        cadence_sql, params = compiler.compile(self.source_expressions[0])
        return f"(%s::date[])[{cadence_sql}]", [self.days, *params]


def earliest_due():
    """The earlier of the target date and the earliest undone milestone's due date: for an
    overdue row its overdue_since, for a due-soon one its next_due (an index of
    Commitment.Meta is on this expression)."""
    return _earliest(F("target_date"), F("undone_milestone_due_on"))


def overdue(*, today: datetime.date, status_field: str = "shown_status") -> Q:
    """The rows `annotate` marks OVERDUE on `today`, said without its per-row CASEs: a
    commitment not finished whose earliest date is before today."""
    return ~finished(status_field) & Q(LessThan(earliest_due(), today))


def due_soon(*, today: datetime.date, status_field: str = "shown_status") -> Q:
    """The rows `annotate` marks DUE_SOON on `today`: not finished, earliest date ahead and
    within TRACKER_DUE_SOON_DAYS (the earliest is the next due when none is missed)."""
    soon_end = today + datetime.timedelta(days=due_soon_days())
    earliest = earliest_due()
    ahead = Q(GreaterThanOrEqual(earliest, today)) & Q(LessThanOrEqual(earliest, soon_end))
    return ~finished(status_field) & ahead


def _late(*, today: datetime.date, last_field: str, factor: int) -> Q:
    """Last news more than `factor` cadences old on `today` (annotate's rule): a date compared
    with the row's cadence's day from a list, the day scores only past the list."""
    last_news = Coalesce(last_field, TruncDate("created_at"), output_field=DateField())
    cadence = _cadence_months()
    listed = Q(GreaterThanOrEqual(cadence, 1)) & Q(LessThanOrEqual(cadence, LISTED_CADENCE_MONTHS))
    by_day = Q(LessThan(last_news, _DayByCadence(cadence, today=today, factor=factor)))
    news = (ExtractYear(last_news), ExtractMonth(last_news), ExtractDay(last_news))
    elapsed = Value(_day_score(today.year, today.month, today.day)) - _day_score(*news)
    by_score = Q(GreaterThan(elapsed, cadence * 32 * factor))
    return (listed & by_day) | (~listed & by_score)


def counts(
    *,
    today: datetime.date,
    status_field: str = "shown_status",
    last_field: str = "shown_last_activity",
) -> dict:
    """Count aggregates (for QuerySet.aggregate) of the rows in each deadline and freshness
    state on `today`: OVERDUE, DUE_SOON, ON_TIME, LATE, VERY_LATE. The same numbers as
    counting `annotate`'s deadline and freshness, which computed every row's CASEs and day
    scores once per state (0.16 s of the cold dashboard at 20,000 commitments)."""
    fresh = ~closed(status_field)
    late = _late(today=today, last_field=last_field, factor=1)
    very_late = _late(today=today, last_field=last_field, factor=2)
    return {
        OVERDUE: Count("pk", filter=overdue(today=today, status_field=status_field)),
        DUE_SOON: Count("pk", filter=due_soon(today=today, status_field=status_field)),
        ON_TIME: Count("pk", filter=fresh & ~late),
        LATE: Count("pk", filter=fresh & late & ~very_late),
        VERY_LATE: Count("pk", filter=fresh & very_late),
    }


# --- Counts read from the indexes (PostgreSQL) ------------------------------------------------
#
# The one-pass counts above evaluate every commitment's rules: 200 ms of the cold dashboard at
# 200,000 commitments. On PostgreSQL each state is counted from an index of Commitment.Meta
# instead, read alone (an index-only scan): overdue and due soon are ranges of the open
# commitments by earliest due date; late and very late are, for each listed cadence, the
# range of open commitments of that cadence whose news is older than its day; on time and
# late are then differences (very late is late too: its day is earlier).


def _count_sql(rows) -> tuple[str, tuple]:
    """SELECT COUNT(*) of the rows (a plain function, not an aggregate: no GROUP BY)."""
    counted = rows.order_by().values(n=Func(template="COUNT(*)", output_field=IntegerField()))
    return counted.query.sql_with_params()


def _listed_late_sql(fresh, *, today: datetime.date, last_field: str, factor: int):
    """The number of rows late after `factor` cadences, of the cadences 0 to
    LISTED_CADENCE_MONTHS: a count per cadence over a list of (first day on time, cadence).
    (A cadence of 0, which no form allows, is late from the day after its news by the day
    scores as by late_before.)"""
    cadence = RawSQL("listed.months - 1", (), output_field=IntegerField())
    first_on_time = RawSQL("listed.first_on_time", (), output_field=DateField())
    rows = fresh.filter(
        Exact(_cadence_months(), cadence), LessThan(news_on_expression(last_field), first_on_time)
    )
    count_sql, params = _count_sql(rows)
    days = [
        late_before(today=today, months=months * factor)
        for months in range(LISTED_CADENCE_MONTHS + 1)
    ]
    sql = (
        f"SELECT COALESCE(SUM(({count_sql})), 0) "
        "FROM unnest(%s::date[]) WITH ORDINALITY AS listed(first_on_time, months)"
    )
    return sql, (*params, days)


def _unlisted_late_sql(fresh, *, today: datetime.date, last_field: str, factor: int):
    """The number of rows of longer cadences late after `factor` cadences, by day scores."""
    cadence = _cadence_months()
    last_news = news_on_expression(last_field)
    news = (ExtractYear(last_news), ExtractMonth(last_news), ExtractDay(last_news))
    elapsed = Value(_day_score(today.year, today.month, today.day)) - _day_score(*news)
    # Said as a closed range (a cadence is a small integer): PostgreSQL keeps no statistics of
    # a partial index's expressions, and guesses a third of the rows for an open range (then
    # starts parallel workers to read them) but a few for a closed one. There are none in use.
    longer = Q(GreaterThan(cadence, LISTED_CADENCE_MONTHS)) & Q(LessThanOrEqual(cadence, 32767))
    unlisted = fresh.filter(longer)
    return _count_sql(unlisted.filter(GreaterThan(elapsed, cadence * 32 * factor)))


def state_counts_sql(
    *, today: datetime.date, status_field: str, last_field: str, open_total: int | None = None
):
    """The statement of state_counts on PostgreSQL, (sql, params): overdue, due soon, the
    commitments freshness applies to (unless open_total says it), then late and very late of the
    listed cadences and of longer ones."""
    fresh = Commitment.objects.filter(~closed(status_field))
    parts = [
        _count_sql(Commitment.objects.filter(overdue(today=today, status_field=status_field))),
        _count_sql(Commitment.objects.filter(due_soon(today=today, status_field=status_field))),
    ]
    if open_total is None:
        parts.append(_count_sql(fresh))
    for factor in (1, 2):
        parts.append(_listed_late_sql(fresh, today=today, last_field=last_field, factor=factor))
        parts.append(_unlisted_late_sql(fresh, today=today, last_field=last_field, factor=factor))
    sql = "SELECT " + ", ".join(f"({part_sql})" for part_sql, _ in parts)
    return sql, [param for _, params in parts for param in params]


@functools.lru_cache(maxsize=32)
def _state_counts_statement(
    today: datetime.date,
    status_field: str,
    last_field: str,
    count_open: bool,
    soon_days: int,
    zone: str,
) -> tuple[str, tuple]:
    """state_counts_sql, written once a day per audience and process: building it from the
    ORM's expressions took about as long as PostgreSQL takes to count (6 ms each at 20,000
    commitments), on every cold dashboard and table filtered by a state. The statement holds
    `soon_days` (TRACKER_DUE_SOON_DAYS) and the time zone the day of a commitment's entry is
    read in (`zone`, the current one's name: TIME_ZONE)."""
    sql, params = state_counts_sql(
        today=today,
        status_field=status_field,
        last_field=last_field,
        open_total=None if count_open else 0,
    )
    return sql, tuple(params)


def state_counts(
    *,
    today: datetime.date,
    status_field: str = "status",
    last_field: str = "last_activity_on",
    open_total: int | None = None,
) -> dict[str, int]:
    """How many commitments are in each deadline and freshness state on `today` (OVERDUE,
    DUE_SOON, ON_TIME, LATE, VERY_LATE) by the state in the columns status_field and
    last_field (the secretariat's, or the public_ ones): one query, the numbers of `counts`.

    open_total, if known: how many commitments not retired have a status not closed (the
    dashboard's status counts say it), which are those freshness applies to: not counted
    again."""
    if connection.vendor != "postgresql":  # SQLite (make run): the one pass, as before
        return Commitment.objects.aggregate(
            **counts(today=today, status_field=status_field, last_field=last_field)
        )
    sql, params = _state_counts_statement(
        today,
        status_field,
        last_field,
        open_total is None,
        due_soon_days(),
        timezone.get_current_timezone_name(),
    )
    # The server the request's other reads of the record go to (core.replica): the table's
    # rows and this count of them must have seen the same writes.
    with connections[router.db_for_read(Commitment)].cursor() as cursor:
        cursor.execute(sql, params)
        numbers = [int(n) for n in cursor.fetchone()]
    if open_total is not None:
        numbers.insert(2, open_total)
    overdue_n, due_soon_n, fresh_n, listed, unlisted, listed_2, unlisted_2 = numbers
    late, very_late = listed + unlisted, listed_2 + unlisted_2
    return {
        OVERDUE: overdue_n,
        DUE_SOON: due_soon_n,
        ON_TIME: fresh_n - late,
        LATE: late - very_late,
        VERY_LATE: very_late,
    }


# --- In Python (the report, reminders) -------------------------------------------------------


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The same day `months` later, or that month's last day if it has no such day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return datetime.date(year, month + 1, min(day.day, last))


def late_from(*, last_news: datetime.date, cadence_months: int) -> datetime.date:
    """The first day a commitment whose last news is `last_news` counts as late."""
    return add_months(last_news, cadence_months) + datetime.timedelta(days=1)


def freshness_of(*, last_news: datetime.date, cadence_months: int, today: datetime.date) -> str:
    if today >= late_from(last_news=last_news, cadence_months=2 * cadence_months):
        return VERY_LATE
    if today >= late_from(last_news=last_news, cadence_months=cadence_months):
        return LATE
    return ON_TIME


@dataclass(frozen=True)
class Deadline:
    """A commitment's deadline state on a day: overdue since a date, due soon on one, or none."""

    state: str  # OVERDUE, DUE_SOON or ""
    on: datetime.date | None  # overdue since, or the next due date

    @property
    def label(self) -> str:
        return DEADLINE_LABELS.get(self.state, "")

    # Read like an annotated commitment (deadline, overdue_since, next_due) by the badges.
    @property
    def deadline(self) -> str:
        return self.state

    @property
    def overdue_since(self) -> datetime.date | None:
        return self.on if self.state == OVERDUE else None

    @property
    def next_due(self) -> datetime.date | None:
        return None if self.state == OVERDUE else self.on


NO_DEADLINE = Deadline("", None)


def deadline_state(
    *,
    status: str,
    target_date: datetime.date | None,
    milestones,
    today: datetime.date,
) -> Deadline:
    """The rule for one commitment; milestones: (due_on, done_on) pairs, done_on counted only
    if by `today` (the report replays a past day)."""
    if status in FINISHED_STATUSES:
        return NO_DEADLINE
    dates = [target_date] if target_date else []
    dates += [due for due, done in milestones if due and (done is None or done > today)]
    missed = [day for day in dates if day < today]
    if missed:
        return Deadline(OVERDUE, min(missed))
    ahead = [day for day in dates if day >= today]
    if ahead and min(ahead) <= today + datetime.timedelta(days=due_soon_days()):
        return Deadline(DUE_SOON, min(ahead))
    return Deadline("", min(ahead) if ahead else None)
