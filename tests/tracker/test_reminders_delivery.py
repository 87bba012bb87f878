"""Reminders delivered for real: a Celery worker process, the broker (Redis when REDIS_URL is
set, else files on disk), an SMTP server on loopback, and the dispatcher run by the test at
frozen instants. Counts are of messages the SMTP server received."""

import datetime
import threading

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test import override_settings

from commitments.models import Commitment
from tests.factories import ActorFactory, CommitmentFactory, LiaisonFactory, SecretariatFactory
from tests.reminder_helpers import wait_until
from tracker import reminders
from tracker.events import commitment_deadline_event_sync
from tracker.models import Event, Reminder, ReminderPreference, ReminderSubscription
from tracker.tasks import send_reminders

UTC = datetime.UTC
State = Reminder.State
IN_FLIGHT = [State.CLAIMED, State.SENDING]


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


def enqueue(ids) -> None:
    """As the dispatcher hands them over: chunks of ids, each sent over one SMTP connection."""
    ids = list(ids)
    for start in range(0, len(ids), settings.REMINDER_SEND_CHUNK_SIZE):
        send_reminders.delay(ids[start : start + settings.REMINDER_SEND_CHUNK_SIZE])


def all_settled() -> bool:
    return not Reminder.objects.filter(state__in=IN_FLIGHT).exists()


def dispatch_frozen(now: datetime.datetime) -> list[int]:
    """The dispatcher's claim step at a frozen instant; publishing happens after, in real time."""
    with time_machine.travel(now, tick=False):
        return reminders.reminders_dispatch(now=now, enqueue=lambda reminder_id: None)


def neutrality_day(*commitments) -> Event:
    event = Event.objects.create(
        title="International Day of Neutrality",
        slug="neutrality-day",
        kind=Event.Kind.INTERNATIONAL_DAY,
        rule=Event.Rule.YEARLY,
        start_date=datetime.date(2017, 12, 12),
        anniversary_of_year=1995,
    )
    event.commitments.set(commitments)
    return event


@pytest.fixture
def walk_record(transactional_db):
    """Four readers in three zones, one yearly day, one deadline at the turn of the year."""
    alice = SecretariatFactory(username="alice", time_zone="Asia/Ashgabat")
    bob = SecretariatFactory(username="bob", time_zone="America/New_York")
    state = ActorFactory(name="Turkmenistan")
    carol = LiaisonFactory(username="carol", actor=state, time_zone="Europe/Zurich")
    dave = SecretariatFactory(username="dave", time_zone="Asia/Ashgabat")
    neutrality = neutrality_day(
        CommitmentFactory(owner=alice, last_activity_on=datetime.date(2026, 11, 1))
    )
    # Bob's commitment: no news since 27 May, late by its six-month cadence from 28 November
    # (then every 30 days), due on 1 January 2027, which makes it a deadline event.
    deadline_commitment = CommitmentFactory(
        owner=bob,
        lead_actors=[state],
        last_activity_on=datetime.date(2026, 5, 27),
        reporting_cadence_months=6,
    )
    Commitment.objects.filter(pk=deadline_commitment.pk).update(
        target_date=datetime.date(2027, 1, 1)
    )
    deadline_commitment.refresh_from_db()
    deadline = commitment_deadline_event_sync(commitment=deadline_commitment)
    Event.objects.filter(pk=deadline.pk).update(lead_times_days=[7, 1])
    reminders.state_follow_set(user=carol, follow=True)
    ReminderSubscription.objects.create(user=dave, event=neutrality)
    ReminderPreference.objects.create(user=dave, weekly_digest=True)
    return {"alice": alice, "bob": bob, "carol": carol, "dave": dave}


def test_walk_across_12_december_and_the_year_end(walk_record, smtp_sink, start_worker):
    worker = start_worker()
    instant = at(2026, 11, 10)
    while instant < at(2027, 1, 3):
        claimed = dispatch_frozen(instant)
        if claimed:
            enqueue(claimed)
            wait_until(all_settled, what=f"reminders claimed at {instant}", worker=worker)
        instant += datetime.timedelta(hours=6)
    received = smtp_sink.count_by_recipient()
    assert received == {
        # 12 December: 30, 7 and 1 day ahead.
        "alice@example.org": 3,
        # The deadline 7 and 1 day ahead, late on 28 November and 28 December, and overdue on
        # 2 January, the day after the target date passed with nothing achieved.
        "bob@example.org": 5,
        # The deadline concerns her state: 7 and 1 day ahead.
        "carol@example.org": 2,
        # Mondays 9 November (caught up on the first run) to 28 December: digests only.
        "dave@example.org": 8,
    }
    assert set(Reminder.objects.values_list("state", flat=True)) == {State.SENT, State.PENDING}
    # The worker writes "tomorrow" or "in 7 days" as of its own clock, not the walk's: pick the
    # deadline's reminders by their date.
    new_year_eve = next(
        m
        for m in smtp_sink.messages
        if m["To"] == "bob@example.org" and "1 January 2027" in m["Subject"]
    )
    body = new_year_eve.get_payload()
    assert "Friday 1 January 2027 (Asia/Ashgabat)" in body
    assert "Thursday 31 December 2026, 14:00 (America/New_York)" in body


def make_followers(count: int) -> Event:
    owners = [SecretariatFactory(username=f"reader{n}") for n in range(count)]
    commitments = [
        # Active days before DUE: no quiet-commitment nudge is due to them besides the event's.
        CommitmentFactory(owner=owner, last_activity_on=datetime.date(2030, 12, 1))
        for owner in owners
    ]
    event = neutrality_day(*commitments)
    Event.objects.filter(pk=event.pk).update(lead_times_days=[1])
    return event


# Due 11 December 2030, 09:00 in Ashgabat.
DUE = at(2030, 12, 11, 4)


@override_settings(REMINDER_BATCH_SIZE=2)
def test_two_dispatchers_at_once_send_each_reminder_once(smtp_sink, start_worker):
    make_followers(12)
    reminders.reminders_plan(now=DUE)
    barrier = threading.Barrier(2)
    claimed: list[list[int]] = [[], []]

    def dispatcher(index: int) -> None:
        barrier.wait()
        try:
            while batch := reminders.reminders_claim_due(now=DUE):
                claimed[index].extend(batch)
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatcher, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(claimed[0]) + len(claimed[1]) == 12
    assert set(claimed[0]).isdisjoint(claimed[1])
    # Each dispatcher hands its ids over, and both hand over the other's too (a redelivered
    # message): the send step's conditional UPDATE still sends each once.
    worker = start_worker()
    enqueue(claimed[0] + claimed[1])
    enqueue(claimed[1] + claimed[0])
    wait_until(lambda: Reminder.objects.filter(state=State.SENT).count() == 12, what="12 sent")
    wait_until(all_settled, what="all settled", worker=worker)
    assert sorted(smtp_sink.count_by_recipient().values()) == [1] * 12


# A worker killed mid-chunk: tests/reliability/test_worker_lost.py (the broker redelivers).


def test_smtp_failure_is_retried_then_failed_visible_in_the_log_and_resent(
    smtp_sink, start_worker, client
):
    make_followers(1)
    smtp_sink.reject = True
    worker = start_worker()
    enqueue(reminders.reminders_dispatch(now=DUE, enqueue=lambda reminder_id: None))
    wait_until(
        lambda: Reminder.objects.filter(state=State.FAILED).exists(), what="failed", worker=worker
    )
    failed = Reminder.objects.get()
    assert failed.attempts == 3  # REMINDER_MAX_RETRIES=2 for the test worker: 1 + 2 retries
    assert "554" in failed.error
    client.force_login(SecretariatFactory(username="officer"))
    log = client.get("/reminders/log/", {"state": "failed"})
    assert b"reader0@example.org" in log.content
    assert b"test sink refuses mail" in log.content
    client.post(f"/reminders/{failed.pk}/resend/")
    smtp_sink.reject = False
    enqueue(reminders.reminders_dispatch(now=DUE, enqueue=lambda reminder_id: None))
    wait_until(lambda: Reminder.objects.filter(state=State.SENT).exists(), what="resent")
    assert smtp_sink.count_by_recipient() == {"reader0@example.org": 1}


def test_a_chunk_of_reminders_goes_over_one_smtp_connection(smtp_sink, start_worker):
    make_followers(5)
    claimed = reminders.reminders_dispatch(now=DUE, enqueue=lambda chunk: None)
    worker = start_worker()
    send_reminders.delay(claimed)
    wait_until(lambda: Reminder.objects.filter(state=State.SENT).count() == 5, what="5 sent")
    wait_until(all_settled, what="all settled", worker=worker)
    assert sorted(smtp_sink.count_by_recipient().values()) == [1] * 5
    assert len(smtp_sink.peers) == 1


def test_one_refused_message_in_a_chunk_retries_only_itself(smtp_sink, start_worker):
    make_followers(3)
    smtp_sink.reject_to = {"reader1@example.org"}
    worker = start_worker()
    send_reminders.delay(reminders.reminders_dispatch(now=DUE, enqueue=lambda chunk: None))
    wait_until(
        lambda: Reminder.objects.filter(state=State.FAILED).exists(), what="failed", worker=worker
    )
    wait_until(all_settled, what="all settled", worker=worker)
    assert smtp_sink.count_by_recipient() == {"reader0@example.org": 1, "reader2@example.org": 1}
    attempts = dict(Reminder.objects.values_list("recipient__email", "attempts"))
    # REMINDER_MAX_RETRIES=2 for the test worker: the refused one is tried 1 + 2 times.
    assert attempts == {
        "reader0@example.org": 1,
        "reader1@example.org": 3,
        "reader2@example.org": 1,
    }
    failed = Reminder.objects.get(state=State.FAILED)
    assert failed.recipient.email == "reader1@example.org"
    assert "554" in failed.error
