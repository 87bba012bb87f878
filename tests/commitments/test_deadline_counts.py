"""The dashboard's counts of deadline and freshness states (deadlines.counts, deadlines.overdue,
deadlines.due_soon) against the annotations they stand in for (deadlines.annotate), for both
audiences, on days where months are short or long."""

import datetime
import random
from collections import Counter

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from commitments import deadlines
from commitments import models as commitment_models
from commitments.models import DEFAULT_REPORTING_CADENCE_MONTHS, Commitment
from commitments.statuses import Status
from tests.factories import CommitmentFactory

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
DAYS = [
    datetime.date(2026, 12, 12),
    datetime.date(2026, 3, 31),  # a month after 28 February
    datetime.date(2028, 2, 29),
    datetime.date(2027, 1, 31),
    datetime.date(2026, 5, 1),
]
# (status field, last activity field) of the secretariat's state and of the public one.
AUDIENCES = [("status", "last_activity_on"), ("public_status", "public_last_activity_on")]


def some_day(rng: random.Random, today: datetime.date, ahead: int = 60) -> datetime.date | None:
    """A day in the two years before `today` or up to `ahead` days after it, or none."""
    if rng.random() < 0.15:
        return None
    return today + datetime.timedelta(days=rng.randrange(-731, ahead))


def varied_record(today: datetime.date, count: int = 60) -> None:
    """Commitments with every mix of status, retirement, dates and cadence, written straight to
    their columns (the counts read nothing else), including month ends and cadences of 0 and 200."""
    rng = random.Random(16)
    statuses = list(Status)
    for number in range(count):
        commitment = CommitmentFactory()
        last = some_day(rng, today, ahead=0)
        if number % 7 == 0 and last:
            last = last.replace(day=28) + rng.randrange(4) * DAY  # month ends
        target, milestone = some_day(rng, today), some_day(rng, today, ahead=365)
        if number % 4 == 0:  # both ahead: due soon or not, by the earlier
            target, milestone = today + rng.randrange(40) * DAY, today + rng.randrange(60) * DAY
        Commitment.objects.filter(pk=commitment.pk).update(
            status=rng.choice(statuses),
            public_status=rng.choice(statuses),
            last_activity_on=last,
            public_last_activity_on=some_day(rng, today, ahead=0),
            target_date=target,
            undone_milestone_due_on=milestone,
            reporting_cadence_months=rng.choice([None, None, 0, 1, 3, 6, 12, 120, 200]),
            kind=rng.choice(list(Commitment.Kind)),
            retired_on=datetime.date(2025, 1, 1) if number % 11 == 0 else None,
        )


def edge_cases(today: datetime.date) -> None:
    """Open commitments on each boundary: due today, on the due-soon window's last day and
    the day after; last news on the first day not late, and the day before, for 1, 6 and 12
    months (each audience's own date)."""
    soon_end = today + deadlines.due_soon_days() * DAY
    for target in (today - DAY, today, soon_end, soon_end + DAY):
        CommitmentFactory(target_date=target, status=Status.IN_PROGRESS)
    for months in (0, 1, 6, 12, 120, 121, 200):
        for factor in (1, 2):
            edge = deadlines.late_before(today=today, months=months * factor)
            for last in (edge - DAY, edge):
                commitment = CommitmentFactory(status=Status.IN_PROGRESS)
                Commitment.objects.filter(pk=commitment.pk).update(
                    public_status=Status.STALLED,
                    last_activity_on=last,
                    public_last_activity_on=last,
                    reporting_cadence_months=months,
                )


def annotated(status_field: str, last_field: str, today: datetime.date):
    visible = Commitment.objects.annotate(
        shown_status=F(status_field), shown_last_activity=F(last_field)
    )
    return deadlines.annotate(visible, today=today)


def visible(status_field: str, last_field: str):
    return Commitment.objects.annotate(
        shown_status=F(status_field), shown_last_activity=F(last_field)
    )


@pytest.mark.parametrize("today", DAYS)
def test_counts_and_lists_are_the_annotations(today):
    varied_record(today)
    edge_cases(today)
    states = (deadlines.OVERDUE, deadlines.DUE_SOON, *deadlines.FRESHNESS_LABELS)
    rules = {deadlines.OVERDUE: deadlines.overdue, deadlines.DUE_SOON: deadlines.due_soon}
    for status_field, last_field in AUDIENCES:
        rows = annotated(status_field, last_field, today)
        pairs = list(rows.values_list("deadline", "freshness"))
        expected = Counter(deadline for deadline, _ in pairs) + Counter(f for _, f in pairs)
        totals = visible(status_field, last_field).aggregate(**deadlines.counts(today=today))
        assert totals == {state: expected[state] for state in states}
        assert all(totals[state] for state in states), totals  # each count is tested
        # The dashboard's counts: from the indexes on PostgreSQL, the one pass elsewhere.
        columns = {"status_field": status_field, "last_field": last_field}
        assert deadlines.state_counts(today=today, **columns) == totals
        # ... and with how many are open taken from the status counts (retired ones left out).
        closed = {f"{status_field}__in": deadlines.CLOSED_STATUSES}
        open_total = Commitment.objects.exclude(**closed).filter(retired_on__isnull=True).count()
        assert deadlines.state_counts(today=today, open_total=open_total, **columns) == totals
        for state, rule in rules.items():
            chosen = visible(status_field, last_field).filter(rule(today=today))
            assert set(chosen.values_list("pk")) == set(
                rows.filter(deadline=state).values_list("pk")
            )


def test_late_before_is_the_day_score_rule():
    """Last news on late_before(today, N) is on time and the day before is late, by the
    Python rule the report uses (freshness_of), on every day of two years."""
    day = datetime.date(2027, 1, 1)
    while day < datetime.date(2029, 1, 1):
        for months in (1, 6, 12, 24):
            first_on_time = deadlines.late_before(today=day, months=months)
            on_time = deadlines.freshness_of(
                last_news=first_on_time, cadence_months=months, today=day
            )
            late = deadlines.freshness_of(
                last_news=first_on_time - datetime.timedelta(days=1),
                cadence_months=months,
                today=day,
            )
            assert (on_time, late) == (deadlines.ON_TIME, deadlines.LATE), (day, months)
        day += datetime.timedelta(days=1)


def test_the_freshness_indexes_know_the_default_cadences():
    """Commitment.Meta's freshness indexes are made before DEFAULT_REPORTING_CADENCE_MONTHS
    and spell its values out; the counts find their rows only while the two agree."""
    defaults = {kind.value: months for kind, months in DEFAULT_REPORTING_CADENCE_MONTHS.items()}
    assert defaults == commitment_models._CADENCE_DEFAULTS


def test_the_counts_follow_the_due_soon_setting_and_the_day(settings):
    """state_counts keeps its statement per day and TRACKER_DUE_SOON_DAYS: a statement kept
    from another day or window would count the wrong rows."""
    today = DAYS[0]
    for days in (5, 25, 45):
        CommitmentFactory(target_date=today + days * DAY, status=Status.IN_PROGRESS)

    def due_soon(day, window) -> int:
        settings.TRACKER_DUE_SOON_DAYS = window
        return deadlines.state_counts(today=day)[deadlines.DUE_SOON]

    assert [due_soon(today, window) for window in (10, 30, 60, 10)] == [1, 2, 3, 1]
    assert due_soon(today + 20 * DAY, 10) == 1  # the 25-day one, 5 days ahead then
    assert due_soon(today + 50 * DAY, 10) == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the statement of PostgreSQL")
def test_the_counts_statement_is_kept_per_time_zone():
    """The day a commitment without news was entered is read in the current time zone, which
    the kept statement holds: another zone gets its own."""
    CommitmentFactory(status=Status.IN_PROGRESS)

    def sent(zone: str) -> str:
        with timezone.override(zone), CaptureQueriesContext(connection) as queries:
            deadlines.state_counts(today=DAYS[0])
        return queries.captured_queries[-1]["sql"]

    assert "'UTC'" in sent("UTC") and "'UTC'" not in sent("Asia/Ashgabat")
    assert "'Asia/Ashgabat'" in sent("Asia/Ashgabat")


def test_the_counts_read_the_server_the_request_reads(monkeypatch):
    """A read replica (core.replica) answers the table's rows: their count must come from the
    same server, which the router names."""
    CommitmentFactory(status=Status.IN_PROGRESS)
    asked = []

    def db_for_read(model, **hints):
        asked.append(model)
        return "default"

    monkeypatch.setattr(deadlines.router, "db_for_read", db_for_read)

    deadlines.state_counts(today=DAYS[0])

    assert asked == [Commitment]  # the statement's (the ORM's own on SQLite)
