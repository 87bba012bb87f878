"""Deadline reminders (tracker.reminders.deadlines): a milestone ahead and an overdue commitment
to its owner, the escalation to its supervisor, each once, at the reader's local hour, and never
to anyone who may not see the commitment's internal state. Through the real plan, claim and
send path (locmem mail); the SMTP sink and a real worker are in test_reminders_delivery.py."""

import datetime

import pytest
from django.core import mail
from django.test import override_settings

from commitments.models import Commitment, Milestone
from commitments.statuses import Status
from core.roles import Role
from tests.factories import CommitmentFactory, LiaisonFactory, SecretariatFactory
from tests.tracker.test_reminders import at, dispatch
from tracker import reminders
from tracker.models import Reminder, ReminderPreference

pytestmark = pytest.mark.django_db
Kind = Reminder.Kind
State = Reminder.State


@pytest.fixture
def owner():
    return SecretariatFactory(username="owner", email="owner@example.org")


@pytest.fixture
def supervisor():
    return SecretariatFactory(username="chief", email="chief@example.org")


def overdue_commitment(owner, supervisor=None, **fields) -> Commitment:
    """Target date 1 March 2026, in progress, with news from February: not quiet."""
    defaults = {
        "title": "Regional centre founded",
        "owner": owner,
        "supervisor": supervisor,
        "target_date": datetime.date(2026, 3, 1),
        "status": Status.IN_PROGRESS,
        "last_activity_on": datetime.date(2026, 2, 20),
    }
    return CommitmentFactory(**defaults | fields)


def sent_to(address: str) -> list[str]:
    return [m.subject for m in mail.outbox if m.to == [address]]


def deadline_rows(**filters):
    return Reminder.objects.filter(kind__in=[Kind.MILESTONE, Kind.OVERDUE, Kind.ESCALATION])


def test_the_owner_is_told_once_the_day_after_the_target_date_passed(owner):
    overdue_commitment(owner)
    # 1 March passes unachieved: overdue from 2 March, told at 09:00 in Ashgabat (04:00 UTC).
    assert dispatch(at(2026, 3, 2, 3, 59)) == []
    assert len(dispatch(at(2026, 3, 2, 4))) == 1
    assert dispatch(at(2026, 3, 2, 5)) == []
    assert dispatch(at(2026, 3, 9, 4)) == []
    assert sent_to("owner@example.org") == ["Overdue, due 1 March 2026: Regional centre founded"]


def test_a_new_york_owner_is_told_at_nine_in_new_york(owner):
    owner.time_zone = "America/New_York"
    owner.save()
    overdue_commitment(owner)
    assert dispatch(at(2026, 3, 2, 13, 59)) == []  # 08:59 in New York (EST, UTC-5)
    assert len(dispatch(at(2026, 3, 2, 14))) == 1


def test_the_supervisor_is_told_after_the_escalation_time_and_the_owner_is_not(owner, supervisor):
    overdue_commitment(owner, supervisor)
    with override_settings(TRACKER_ESCALATE_AFTER_DAYS=30):
        dispatch(at(2026, 3, 2, 4))
        assert dispatch(at(2026, 3, 31, 4)) == []  # 29 days overdue
        assert len(dispatch(at(2026, 4, 1, 4))) == 1  # 30 days after 2 March
        assert dispatch(at(2026, 4, 2, 4)) == []
    assert sent_to("chief@example.org") == ["Overdue for 30 days: Regional centre founded"]
    assert len(sent_to("owner@example.org")) == 1


def test_achieving_it_before_the_escalation_skips_it_with_a_reason(owner, supervisor):
    commitment = overdue_commitment(owner, supervisor)
    dispatch(at(2026, 3, 2, 4))
    reminders.reminders_plan(now=at(2026, 3, 31, 4))
    Commitment.objects.filter(pk=commitment.pk).update(status=Status.ACHIEVED)
    assert dispatch(at(2026, 4, 1, 4)) == []
    escalation = Reminder.objects.get(kind=Kind.ESCALATION)
    assert escalation.state == State.SKIPPED
    assert escalation.skip_reason == "the commitment is no longer overdue since that date"
    assert sent_to("chief@example.org") == []


def test_a_milestone_is_reminded_ahead_and_then_its_lateness_is_overdue(owner):
    commitment = overdue_commitment(owner, target_date=datetime.date(2026, 12, 31))
    Milestone.objects.create(
        commitment=commitment, title="Host agreement signed", due_on=datetime.date(2026, 5, 20)
    )
    with override_settings(REMINDER_MILESTONE_LEAD_DAYS=[7, 1]):
        for day in range(10, 23):
            dispatch(at(2026, 5, day, 4))
    assert sent_to("owner@example.org") == [
        "Milestone due 20 May 2026: Host agreement signed",
        "Milestone due 20 May 2026: Host agreement signed",
        "Overdue, due 20 May 2026: Regional centre founded",
    ]
    assert "That is in 7 days." in mail.outbox[0].body
    assert "That is in 1 day." in mail.outbox[1].body


def test_a_milestone_done_before_its_reminder_is_skipped(owner):
    commitment = overdue_commitment(owner, target_date=datetime.date(2026, 12, 31))
    milestone = Milestone.objects.create(
        commitment=commitment, title="Host agreement signed", due_on=datetime.date(2026, 5, 20)
    )
    with override_settings(REMINDER_MILESTONE_LEAD_DAYS=[1]):
        reminders.reminders_plan(now=at(2026, 5, 18, 4))
        Milestone.objects.filter(pk=milestone.pk).update(done_on=datetime.date(2026, 5, 18))
        assert dispatch(at(2026, 5, 19, 4)) == []
        assert dispatch(at(2026, 5, 21, 4)) == []  # done: not overdue either
    row = Reminder.objects.get(kind=Kind.MILESTONE)
    assert (row.state, row.skip_reason) == (State.SKIPPED, "the milestone is done")
    assert mail.outbox == []


def test_moving_a_milestone_skips_the_old_date_and_reminds_of_the_new(owner):
    commitment = overdue_commitment(owner, target_date=datetime.date(2026, 12, 31))
    milestone = Milestone.objects.create(
        commitment=commitment, title="Host agreement signed", due_on=datetime.date(2026, 5, 20)
    )
    with override_settings(REMINDER_MILESTONE_LEAD_DAYS=[1]):
        reminders.reminders_plan(now=at(2026, 5, 18, 4))
        Milestone.objects.filter(pk=milestone.pk).update(due_on=datetime.date(2026, 6, 20))
        assert dispatch(at(2026, 5, 19, 4)) == []
        assert len(dispatch(at(2026, 6, 19, 4))) == 1
    old = Reminder.objects.get(kind=Kind.MILESTONE, occurrence_date=datetime.date(2026, 5, 20))
    assert old.skip_reason == "the milestone's due date changed"
    assert sent_to("owner@example.org") == ["Milestone due 20 June 2026: Host agreement signed"]


def test_a_liaison_gets_no_deadline_reminder_even_if_set_as_supervisor(owner):
    liaison = LiaisonFactory(email="liaison@example.org")
    commitment = overdue_commitment(owner)
    # Forced past Commitment.clean, which refuses a liaison as supervisor.
    Commitment.objects.filter(pk=commitment.pk).update(supervisor=liaison)
    with override_settings(TRACKER_ESCALATE_AFTER_DAYS=1):
        for day in (2, 3, 4):
            dispatch(at(2026, 3, day, 4))
    assert not Reminder.objects.filter(recipient=liaison).exists()
    assert sent_to("liaison@example.org") == []


def test_an_owner_demoted_after_planning_is_sent_nothing(owner):
    overdue_commitment(owner)
    reminders.reminders_plan(now=at(2026, 3, 1, 4))
    owner.role = Role.LIAISON
    owner.save()
    assert dispatch(at(2026, 3, 2, 4)) == []
    row = Reminder.objects.get(kind=Kind.OVERDUE)
    assert row.skip_reason == "the owner is no longer on the secretariat"
    assert mail.outbox == []


def test_a_commitment_handed_to_another_owner_reminds_the_new_one(owner):
    commitment = overdue_commitment(owner)
    reminders.reminders_plan(now=at(2026, 3, 1, 4))
    successor = SecretariatFactory(email="successor@example.org")
    Commitment.objects.filter(pk=commitment.pk).update(owner=successor)
    dispatch(at(2026, 3, 2, 4))
    assert sent_to("owner@example.org") == []
    assert sent_to("successor@example.org") == [
        "Overdue, due 1 March 2026: Regional centre founded"
    ]


def test_turning_deadline_reminders_off_stops_them(owner, client):
    overdue_commitment(owner)
    ReminderPreference.objects.create(user=owner, deadline_reminders=False)
    assert dispatch(at(2026, 3, 2, 4)) == []
    assert not deadline_rows().exists()


def test_the_unsubscribe_link_of_an_overdue_email_turns_them_off(owner, client):
    overdue_commitment(owner, target_date=datetime.date(2026, 3, 1))
    dispatch(at(2026, 3, 2, 4))
    [message] = mail.outbox
    link = next(line for line in message.body.splitlines() if "milestones and overdue" in line)
    url = link.split(": ", 1)[1].strip()
    path = url.split("://", 1)[1].split("/", 1)[1]
    assert client.post(f"/{path}").status_code == 200
    assert ReminderPreference.objects.get(user=owner).deadline_reminders is False
