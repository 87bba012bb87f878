"""Reminders after the dispatcher was down: planned from the event, however long the downtime;
the nearest due reminder sent late, the ones it supersedes skipped, both visible with the
reason in the delivery log; the email's "today", "tomorrow", "in 4 days" counted from the
moment it is sent, in the reader's zone."""

import datetime

import pytest
import time_machine
from django.core import mail
from django.test import override_settings
from django.urls import reverse

from tests.factories import CommitmentFactory, SecretariatFactory
from tests.tracker.test_reminders import at, claim_only, dispatch, make_event
from tracker import reminders
from tracker.models import Event, Reminder, ReminderPreference

State = Reminder.State
DAY = datetime.timedelta(days=1)


def reader(username: str, time_zone: str = "Asia/Ashgabat", **fields):
    """A secretariat member who owns a commitment with recent activity (no quiet reminders)."""
    user = SecretariatFactory(username=username, time_zone=time_zone, **fields)
    commitment = CommitmentFactory(owner=user, last_activity_on=datetime.date(2026, 10, 1))
    return user, commitment


def once(commitment, day: datetime.date, leads: list[int], **fields) -> Event:
    return make_event(
        commitments=[commitment],
        title=fields.pop("title", "Forum"),
        rule=Event.Rule.ONCE,
        start_date=day,
        lead_times_days=leads,
        **fields,
    )


def log_text(client, **query) -> str:
    response = client.get(reverse("reminder_log"), query)
    assert response.status_code == 200
    return response.content.decode().replace("\xa0", " ")  # timesince's no-break spaces


# Recovery after the downtime: Thursday 10 December 2026, 12:00 UTC (17:00 in Ashgabat).
BACK = at(2026, 12, 10, 12)


@pytest.mark.parametrize("days_down", [8, 22, 40])
def test_a_reminder_due_during_a_long_downtime_is_sent_late_with_the_days_left(
    db, client, days_down
):
    """The issue's case: an event 22 days ahead whose 30-day reminder fell due 8 days ago."""
    user, commitment = reader("alice")
    # 1 January 2027: the 30-day reminder is due 2 December, 09:00 in Ashgabat (04:00 UTC).
    once(commitment, datetime.date(2027, 1, 1), [30, 7, 1])
    # The last run before the downtime is two hours before that (days_down = 8) or earlier.
    assert dispatch(BACK - datetime.timedelta(days=days_down, hours=10)) == []
    [claimed] = dispatch(BACK)
    reminder = Reminder.objects.get(pk=claimed)
    assert (reminder.lead_days, reminder.state) == (30, State.SENT)
    assert reminder.due_at == at(2026, 12, 2, 4)
    [message] = mail.outbox
    assert message.subject == "Forum: in 22 days, 1 January 2027"
    assert "Forum is in 22 days." in message.body
    client.force_login(SecretariatFactory(username="secretariat"))
    assert "sent late, 1 week, 1 day after it was due" in log_text(client, state="sent")


def test_after_forty_days_down_the_nearest_lead_goes_out_and_the_others_say_why(db, client):
    user, commitment = reader("alice")
    forum = once(commitment, datetime.date(2026, 12, 15), [30, 7, 1], title="Forum")
    summit = once(commitment, datetime.date(2026, 12, 10), [30, 7, 1], title="Summit")
    briefing = once(commitment, datetime.date(2026, 12, 7), [1], title="Briefing")
    assert dispatch(BACK - 40 * DAY) == []
    claimed = Reminder.objects.filter(pk__in=dispatch(BACK))
    assert sorted((r.event.title, r.lead_days) for r in claimed) == [("Forum", 7), ("Summit", 1)]
    # Every reminder that fell due has a row: none is dropped without a word.
    outcome = {
        (r.event.title, r.lead_days): (r.state, r.skip_reason)
        for r in Reminder.objects.filter(kind=Reminder.Kind.EVENT)
    }
    assert outcome == {
        ("Forum", 30): (State.SKIPPED, "superseded by the 7-day reminder"),
        ("Forum", 7): (State.SENT, ""),
        ("Summit", 30): (State.SKIPPED, "superseded by the 1-day reminder"),
        ("Summit", 7): (State.SKIPPED, "superseded by the 1-day reminder"),
        ("Summit", 1): (State.SENT, ""),
        # Passed during the downtime, its reminder due within REMINDER_CATCHUP_DAYS.
        ("Briefing", 1): (State.SKIPPED, "the event has passed"),
    }
    subjects = sorted(m.subject for m in mail.outbox)
    assert subjects == ["Forum: in 5 days, 15 December 2026", "Summit: today, 10 December 2026"]
    assert forum.reminders.count() == 2 and summit.reminders.count() == 3  # 1 day: not yet
    assert briefing.reminders.get().state == State.SKIPPED
    # A second run sends nothing more.
    assert dispatch(BACK + datetime.timedelta(minutes=1)) == []
    assert len(mail.outbox) == 2


def test_the_delivery_log_shows_why_each_reminder_was_skipped_failed_or_late(db, client):
    user, commitment = reader("alice")
    once(commitment, datetime.date(2026, 12, 15), [30, 7, 1])
    once(commitment, datetime.date(2026, 12, 7), [1], title="Briefing")
    dispatch(BACK - 40 * DAY)
    dispatch(BACK)
    Reminder.objects.filter(lead_days=7).update(
        state=State.FAILED, error="SMTPDataError: 554 refused"
    )
    client.force_login(SecretariatFactory(username="secretariat"))
    page = log_text(client)
    assert "superseded by the 7-day reminder" in page
    assert "the event has passed" in page
    assert "554 refused" in page
    Reminder.objects.filter(lead_days=7).update(state=State.SENT, error="")
    assert "sent late, 2 days, 8 hours after it was due" in log_text(client, state="sent")


def test_the_log_gives_the_reasons_in_the_readers_language_old_rows_too(db, client):
    user, commitment = reader("alice")
    event = once(commitment, datetime.date(2026, 12, 15), [30, 7, 1])

    def skipped(lead: int, reason: str) -> None:
        due = datetime.date(2026, 12, 15) - lead * DAY
        Reminder.objects.create(
            kind=Reminder.Kind.EVENT,
            recipient=user,
            event=event,
            occurrence_date=datetime.date(2026, 12, 15),
            lead_days=lead,
            due_on=due,
            due_at=at(due.year, due.month, due.day, 4),
            state=State.SKIPPED,
            skip_reason=reason,
        )

    skipped(30, "superseded by the 7-day reminder")
    skipped(7, "a later reminder for the same occurrence is due")  # written by earlier versions
    skipped(1, "a reason this version does not know")
    skipped(3, reminders.UNSEEN_EVENT)
    client.force_login(SecretariatFactory(username="secretariat", language="ru"))
    page = log_text(client)
    assert "вытеснено напоминанием за 7 дней до события" in page
    assert "подошёл срок более позднего напоминания о том же мероприятии" in page
    assert "a reason this version does not know" in page
    assert "получателю больше не доступно это мероприятие" in page


def test_a_caught_up_day_before_reminder_sent_on_the_event_day_says_today(db):
    """The issue's 04:27: New York leaves daylight saving time that night (1 November 2026)."""
    user, commitment = reader("bob", "America/New_York")
    once(commitment, datetime.date(2026, 11, 1), [1], time_zone="America/New_York")
    assert dispatch(at(2026, 10, 31, 12, 59)) == []  # 08:59 EDT, a minute before it is due
    # Down until 04:27 EST on the event day (09:27 UTC).
    [claimed] = dispatch(at(2026, 11, 1, 9, 27))
    assert Reminder.objects.get(pk=claimed).due_at == at(2026, 10, 31, 13)  # 09:00 EDT
    [message] = mail.outbox
    assert message.subject == "Forum: today, 1 November 2026"
    assert "Forum is today." in message.body
    assert "tomorrow" not in message.body


def test_a_week_ahead_reminder_sent_three_days_late_says_four_days(db):
    # New York starts daylight saving time on 8 March 2026, between due day and sending.
    user, commitment = reader("bob", "America/New_York")
    once(commitment, datetime.date(2026, 3, 12), [7], time_zone="America/New_York")
    assert dispatch(at(2026, 3, 5, 13, 59)) == []  # 08:59 EST
    [claimed] = dispatch(at(2026, 3, 8, 13))  # 09:00 EDT, three days later
    assert Reminder.objects.get(pk=claimed).due_at == at(2026, 3, 5, 14)  # 09:00 EST
    [message] = mail.outbox
    assert message.subject == "Forum: in 4 days, 12 March 2026"
    assert "Forum is in 4 days." in message.body


def test_readers_of_one_chunk_on_different_days_each_get_their_own_word(db):
    """The event's text is rendered once per chunk for readers who see it alike: "today" in
    Ashgabat must not be cached for a New York reader for whom it is still tomorrow."""
    ashgabat, mine = reader("aman")
    new_york, theirs = reader("bob", "America/New_York")
    make_event(commitments=[mine, theirs], lead_times_days=[1])  # 12 December, Ashgabat
    ids = claim_only(at(2026, 12, 12, 3))  # 08:00 on the 12th in Ashgabat, 22:00 the 11th in NY
    with time_machine.travel(at(2026, 12, 12, 3), tick=False):
        reminders.reminders_send(reminder_ids=ids)
    sent = {message.to[0]: message.subject for message in mail.outbox}
    assert sent == {
        ashgabat.email: "International Day of Neutrality: today, 12 December 2026",
        new_york.email: "International Day of Neutrality: tomorrow, 12 December 2026",
    }


def test_a_timed_event_is_counted_on_the_day_it_starts_for_the_reader(db):
    user, commitment = reader("bob", "America/New_York")
    # 01:00 on 12 December in Ashgabat is 15:00 on the 11th in New York.
    once(commitment, datetime.date(2026, 12, 12), [1], start_time=datetime.time(1))
    assert len(dispatch(at(2026, 12, 11, 14))) == 1  # 09:00 in New York on the 11th
    [message] = mail.outbox
    assert message.subject == "Forum: today, 11 December 2026"
    assert "Friday 11 December 2026, 15:00 (America/New_York)" in message.body


def test_a_quiet_commitment_nudge_missed_in_a_long_downtime_is_still_sent(db):
    owner = SecretariatFactory(username="olga", time_zone="Asia/Ashgabat")
    CommitmentFactory(
        owner=owner,
        title="Water",
        reporting_cadence_months=3,
        last_activity_on=datetime.date(2026, 7, 8),
    )
    # Late from 9 October (three months after 8 July, and a day); rounds: 9 October,
    # 8 November, 8 December (09:00 in Ashgabat, 04:00 UTC).
    assert len(dispatch(at(2026, 11, 8, 4))) == 1
    # Down from 10 November to 20 December: the 8 December round is older than the catch-up.
    [claimed] = dispatch(at(2026, 12, 20, 12))
    assert Reminder.objects.get(pk=claimed).due_on == datetime.date(2026, 12, 8)
    late = mail.outbox[-1]
    assert late.subject == "No update for 165 days: Water"  # 8 July to 20 December


@pytest.mark.parametrize("catchup_days", [7, 2])
def test_a_digest_missed_in_a_long_downtime_goes_out_listing_from_the_day_it_is_sent(
    db, catchup_days
):
    user, commitment = reader("dana")
    ReminderPreference.objects.create(user=user, weekly_digest=True)
    once(commitment, datetime.date(2026, 12, 8), [1], title="Passed while down")
    once(commitment, datetime.date(2026, 12, 20), [1], title="Still ahead")
    dispatch(BACK - 40 * DAY)  # sends Monday 26 October's digest; 2 November's is planned
    mail.outbox.clear()
    with override_settings(REMINDER_CATCHUP_DAYS=catchup_days):
        # Monday 7 December's digest, missed; Thursday 10 December is the day it goes out.
        [claimed] = dispatch(BACK)
    assert Reminder.objects.get(pk=claimed).due_on == datetime.date(2026, 12, 7)
    [message] = mail.outbox
    assert message.subject == "Commitment tracker: the week of 10 December 2026"
    assert "Still ahead" in message.body
    assert "Passed while down" not in message.body
