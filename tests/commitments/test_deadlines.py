"""The due, overdue and freshness rules (commitments.deadlines), in the database and in Python."""

import datetime

import pytest
from django.db.models import F

from commitments import deadlines
from commitments.models import Commitment, Milestone
from commitments.statuses import Status
from tests.factories import CommitmentFactory

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 12, 12)
DAY = datetime.timedelta(days=1)


def state_of(commitment, *, today=TODAY):
    """The commitment as the secretariat sees it, with the annotations of day `today`."""
    visible = Commitment.objects.annotate(
        shown_status=F("status"), shown_last_activity=F("last_activity_on")
    )
    return deadlines.annotate(visible, today=today).get(pk=commitment.pk)


def milestone(commitment, due_on, done_on=None):
    return Milestone.objects.create(
        commitment=commitment, title=f"Step due {due_on}", due_on=due_on, done_on=done_on
    )


def python_rule(commitment, *, today=TODAY):
    pairs = [(m.due_on, m.done_on) for m in commitment.milestones.all()]
    return deadlines.deadline_state(
        status=commitment.status, target_date=commitment.target_date, milestones=pairs, today=today
    )


def assert_rule(commitment, state, on, *, today=TODAY):
    """Both statements of the rule agree: the annotations and the report's function."""
    row = state_of(commitment, today=today)
    assert (row.deadline, row.overdue_since if state == "overdue" else row.next_due) == (state, on)
    assert python_rule(commitment, today=today) == deadlines.Deadline(state, on)


def test_due_today_is_due_soon_not_overdue():
    assert_rule(CommitmentFactory(target_date=TODAY), deadlines.DUE_SOON, TODAY)


def test_due_yesterday_is_overdue_since_yesterday():
    assert_rule(CommitmentFactory(target_date=TODAY - DAY), deadlines.OVERDUE, TODAY - DAY)


def test_the_due_soon_window_ends_after_its_last_day(settings):
    settings.TRACKER_DUE_SOON_DAYS = 30
    last = TODAY + 30 * DAY
    assert_rule(CommitmentFactory(target_date=last), deadlines.DUE_SOON, last)
    assert_rule(CommitmentFactory(target_date=last + DAY), "", last + DAY)


@pytest.mark.parametrize(
    "status", [Status.ACHIEVED, Status.RECURRING_ON_TRACK, Status.NO_LONGER_PURSUED]
)
def test_finished_is_never_overdue_nor_due(status):
    commitment = CommitmentFactory(target_date=TODAY - 300 * DAY, status=status)
    milestone(commitment, TODAY - 10 * DAY)
    row = state_of(commitment)
    assert (row.deadline, row.overdue_since, row.due_date) == ("", None, None)
    assert python_rule(commitment) == deadlines.NO_DEADLINE


def test_a_missed_milestone_makes_it_overdue_while_the_target_date_is_ahead():
    commitment = CommitmentFactory(target_date=TODAY + 400 * DAY)
    milestone(commitment, TODAY - 20 * DAY)
    milestone(commitment, TODAY - 5 * DAY)
    milestone(commitment, TODAY - 90 * DAY, done_on=TODAY - 91 * DAY)  # done: not missed
    assert_rule(commitment, deadlines.OVERDUE, TODAY - 20 * DAY)


def test_overdue_since_is_the_earliest_missed_date():
    commitment = CommitmentFactory(target_date=TODAY - 3 * DAY)
    milestone(commitment, TODAY - 7 * DAY)
    assert_rule(commitment, deadlines.OVERDUE, TODAY - 7 * DAY)
    later = CommitmentFactory(target_date=TODAY - 30 * DAY)
    milestone(later, TODAY - 7 * DAY)
    assert_rule(later, deadlines.OVERDUE, TODAY - 30 * DAY)


def test_an_undone_milestone_ahead_makes_it_due_soon():
    commitment = CommitmentFactory(target_date=None)
    milestone(commitment, TODAY + 3 * DAY)
    milestone(commitment, TODAY - 3 * DAY, done_on=TODAY - 4 * DAY)
    assert_rule(commitment, deadlines.DUE_SOON, TODAY + 3 * DAY)


def test_no_date_no_deadline():
    assert_rule(CommitmentFactory(target_date=None), "", None)


def test_a_milestone_done_after_the_day_asked_about_was_still_undone_then():
    """The report replays a past day: a milestone done later was missed that day."""
    commitment = CommitmentFactory(target_date=None)
    milestone(commitment, TODAY - 10 * DAY, done_on=TODAY + 5 * DAY)
    assert python_rule(commitment) == deadlines.Deadline(deadlines.OVERDUE, TODAY - 10 * DAY)


# --- Freshness ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last_news", "expected"),
    [
        (datetime.date(2026, 6, 12), deadlines.ON_TIME),  # exactly 6 months: still on time
        (datetime.date(2026, 6, 11), deadlines.LATE),
        (datetime.date(2025, 12, 12), deadlines.LATE),  # exactly twice: late, not very late
        (datetime.date(2025, 12, 11), deadlines.VERY_LATE),
    ],
)
def test_freshness_at_the_cadence_edges(last_news, expected):
    commitment = CommitmentFactory(kind=Commitment.Kind.DELIVERABLE, last_activity_on=last_news)
    assert state_of(commitment).freshness == expected
    assert deadlines.freshness_of(last_news=last_news, cadence_months=6, today=TODAY) == expected


def test_a_month_end_counts_to_the_end_of_a_shorter_month():
    """31 August + 3 months is 30 November: late from 1 December."""
    commitment = CommitmentFactory(
        reporting_cadence_months=3, last_activity_on=datetime.date(2026, 8, 31)
    )
    assert state_of(commitment, today=datetime.date(2026, 11, 30)).freshness == deadlines.ON_TIME
    assert state_of(commitment, today=datetime.date(2026, 12, 1)).freshness == deadlines.LATE
    assert deadlines.late_from(
        last_news=datetime.date(2026, 8, 31), cadence_months=3
    ) == datetime.date(2026, 12, 1)


def test_the_kinds_default_cadence_applies_without_its_own():
    """A year for ongoing policies: 13 months without news is late, 11 is on time."""
    late = CommitmentFactory(kind=Commitment.Kind.ONGOING, last_activity_on=TODAY - 400 * DAY)
    fresh = CommitmentFactory(kind=Commitment.Kind.ONGOING, last_activity_on=TODAY - 330 * DAY)
    own = CommitmentFactory(
        kind=Commitment.Kind.ONGOING, reporting_cadence_months=1, last_activity_on=TODAY - 40 * DAY
    )
    assert state_of(late).freshness == deadlines.LATE
    assert state_of(fresh).freshness == deadlines.ON_TIME
    assert state_of(own).freshness == deadlines.LATE


def test_without_news_freshness_counts_from_the_day_it_was_entered():
    commitment = CommitmentFactory(last_activity_on=None)
    Commitment.objects.filter(pk=commitment.pk).update(
        created_at=datetime.datetime(2026, 1, 5, 12, tzinfo=datetime.UTC)
    )
    row = state_of(commitment)
    assert row.last_news == datetime.date(2026, 1, 5)
    assert row.freshness == deadlines.LATE


def test_closed_commitments_have_no_freshness_but_recurring_on_track_has():
    achieved = CommitmentFactory(status=Status.ACHIEVED, last_activity_on=TODAY - 900 * DAY)
    recurring = CommitmentFactory(
        kind=Commitment.Kind.RECURRING,
        status=Status.RECURRING_ON_TRACK,
        last_activity_on=TODAY - 900 * DAY,
    )
    assert state_of(achieved).freshness == ""
    assert state_of(recurring).freshness == deadlines.VERY_LATE


def test_every_day_of_two_years_agrees_with_the_calendar():
    """The database's month arithmetic against add_months, for each day of a leap year too."""
    commitment = CommitmentFactory(reporting_cadence_months=1)
    for offset in range(0, 730, 7):
        last = datetime.date(2023, 12, 25) + offset * DAY
        Commitment.objects.filter(pk=commitment.pk).update(last_activity_on=last)
        for today in (
            deadlines.add_months(last, 1),
            deadlines.late_from(last_news=last, cadence_months=1),
        ):
            expected = deadlines.freshness_of(last_news=last, cadence_months=1, today=today)
            assert state_of(commitment, today=today).freshness == expected, (last, today)
