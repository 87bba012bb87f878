"""Reminders without a worker: who follows what, planning, claiming, skip rules, pages."""

import datetime
import smtplib
from collections import Counter

import kombu
import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.mail.backends import locmem
from django.db import connection
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from tests.factories import (
    ActorFactory,
    CommitmentFactory,
    LiaisonFactory,
    SecretariatFactory,
    post_status_update,
)
from tracker import reminders
from tracker.models import (
    Event,
    Reminder,
    ReminderPreference,
    ReminderSubscription,
    WorkerHeartbeat,
)
from tracker.reminders import sending
from tracker.tasks import send_reminders

UTC = datetime.UTC
State = Reminder.State


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


def make_event(*, commitments=(), **fields) -> Event:
    defaults = {
        "title": "International Day of Neutrality",
        "slug": f"event-{Event.objects.count() + 1}",
        "kind": Event.Kind.INTERNATIONAL_DAY,
        "rule": Event.Rule.YEARLY,
        "start_date": datetime.date(2017, 12, 12),
    }
    event = Event.objects.create(**{**defaults, **fields})
    event.commitments.set(commitments)
    return event


def dispatch(now: datetime.datetime) -> list[int]:
    """One dispatcher run at `now`; each claimed reminder is sent at once (locmem mail), at
    `now` too: an email says how far away its event is from the moment it is written."""
    with time_machine.travel(now, tick=False):
        return reminders.reminders_dispatch(now=now, enqueue=send_now)


def send_now(reminder_ids: list[int]) -> None:
    reminders.reminders_send(reminder_ids=reminder_ids)


def claim_only(now: datetime.datetime) -> list[int]:
    """A dispatcher run whose send tasks never run (a worker that is down)."""
    return reminders.reminders_dispatch(now=now, enqueue=lambda reminder_id: None)


@pytest.fixture
def owned_event(db):
    owner = SecretariatFactory(username="alice", time_zone="Asia/Ashgabat")
    commitment = CommitmentFactory(owner=owner, last_activity_on=datetime.date(2026, 11, 1))
    return make_event(commitments=[commitment]), owner


def test_owner_of_a_linked_commitment_follows_the_event_by_default(owned_event):
    event, owner = owned_event
    assert reminders.event_follower_ids(event_ids=[event.pk])[event.pk] == {owner.pk}


def test_liaison_follows_events_concerning_their_state_once_subscribed(db):
    state = ActorFactory(name="Turkmenistan")
    liaison = LiaisonFactory(actor=state)
    commitment = CommitmentFactory(lead_actors=[state])
    event = make_event(commitments=[commitment])
    assert liaison.pk not in reminders.event_follower_ids(event_ids=[event.pk])[event.pk]
    reminders.state_follow_set(user=liaison, follow=True)
    assert liaison.pk in reminders.event_follower_ids(event_ids=[event.pk])[event.pk]


def test_planning_twice_creates_each_reminder_once(owned_event):
    now = at(2026, 11, 11, 12)
    reminders.reminders_plan(now=now)
    reminders.reminders_plan(now=now)
    reminders.reminders_plan(now=now + datetime.timedelta(hours=1))
    rows = Reminder.objects.filter(kind=Reminder.Kind.EVENT)
    # 12 December 2026, 30 days ahead: 12 November, 09:00 in Ashgabat (UTC+5).
    assert [(r.lead_days, r.due_at) for r in rows] == [(30, at(2026, 11, 12, 4))]


def test_due_reminder_is_claimed_once_at_local_nine(owned_event):
    assert dispatch(at(2026, 11, 12, 3, 59)) == []
    claimed = dispatch(at(2026, 11, 12, 4, 0))
    assert len(claimed) == 1
    assert dispatch(at(2026, 11, 12, 4, 1)) == []
    assert Reminder.objects.get(pk=claimed[0]).state == State.SENT
    assert len(mail.outbox) == 1


def test_new_york_reader_is_reminded_at_nine_local_across_dst(db):
    reader = SecretariatFactory(time_zone="America/New_York")
    commitment = CommitmentFactory(owner=reader, last_activity_on=datetime.date(2026, 10, 1))
    # 5 November 2026 in Ashgabat; New York leaves daylight saving time on 1 November.
    make_event(
        commitments=[commitment],
        rule=Event.Rule.ONCE,
        start_date=datetime.date(2026, 11, 5),
        lead_times_days=[7, 1],
    )
    minute = datetime.timedelta(minutes=1)
    due_on = []
    for due_utc in (at(2026, 10, 29, 13), at(2026, 11, 4, 14)):  # 09:00 EDT, then 09:00 EST
        assert dispatch(due_utc - minute) == []
        [claimed] = dispatch(due_utc)
        reminder = Reminder.objects.get(pk=claimed)
        assert reminder.due_at == due_utc
        due_on.append(reminder.due_on)
    assert due_on == [datetime.date(2026, 10, 29), datetime.date(2026, 11, 4)]


def test_a_reader_with_an_unknown_zone_does_not_stop_the_others(db):
    for zone in ("Europe/Geneva", "Europe/Zurich"):  # Geneva is not an IANA zone name
        owner = SecretariatFactory(time_zone=zone)
        make_event(commitments=[CommitmentFactory(owner=owner)], lead_times_days=[1])
    claimed = Reminder.objects.filter(pk__in=dispatch(at(2026, 12, 11, 9)))
    assert sorted(r.due_at.hour for r in claimed) == [8, 9]  # 09:00 in Zurich; 09:00 UTC
    assert len(mail.outbox) == 2


def test_email_names_the_date_in_the_event_zone_and_the_reader_zone(db):
    reader = SecretariatFactory(time_zone="America/New_York", email="bob@example.org")
    commitment = CommitmentFactory(owner=reader, last_activity_on=datetime.date(2026, 12, 1))
    make_event(commitments=[commitment], lead_times_days=[1])
    [claimed] = dispatch(at(2026, 12, 11, 14))
    [message] = mail.outbox
    body = message.body
    assert "Saturday 12 December 2026 (Asia/Ashgabat)" in body
    # Midnight in Ashgabat (UTC+5) is 14:00 the day before in New York (UTC-5).
    assert "Friday 11 December 2026, 14:00 (America/New_York)" in body
    assert message.subject.startswith("International Day of Neutrality: tomorrow")
    assert message.to == ["bob@example.org"]


def test_beat_down_three_days_sends_what_is_still_useful(db):
    reader = SecretariatFactory(time_zone="Asia/Ashgabat")
    commitment = CommitmentFactory(owner=reader, last_activity_on=datetime.date(2026, 11, 20))
    ahead = make_event(
        commitments=[commitment],
        title="Forum",
        rule=Event.Rule.ONCE,
        start_date=datetime.date(2026, 12, 6),
        lead_times_days=[7, 3, 1],
    )
    passed = make_event(
        commitments=[commitment],
        title="Briefing",
        rule=Event.Rule.ONCE,
        start_date=datetime.date(2026, 12, 4),
        lead_times_days=[1],
    )
    assert len(dispatch(at(2026, 11, 29, 5))) == 1  # the 7-day reminder of the forum
    assert dispatch(at(2026, 12, 2, 12)) == []
    # Beat and workers are down from 2 December 12:00 to 5 December 12:00 (UTC).
    claimed = Reminder.objects.filter(pk__in=dispatch(at(2026, 12, 5, 12)))
    assert [(r.event, r.lead_days) for r in claimed] == [(ahead, 1)]
    skipped = {
        (r.event.title, r.lead_days): r.skip_reason
        for r in Reminder.objects.filter(state=State.SKIPPED)
    }
    assert skipped == {
        ("Forum", 3): "superseded by the 1-day reminder",
        ("Briefing", 1): "the event has passed",
    }
    assert passed.reminders.get().state == State.SKIPPED


def post_update(commitment, *, happened_on: datetime.date) -> None:
    post_status_update(
        commitment, commitment.owner, progress=10, narrative="Reported.", happened_on=happened_on
    )


def test_stale_owner_is_reminded_then_again_until_an_update_is_posted(db):
    owner = SecretariatFactory(time_zone="Asia/Ashgabat")
    commitment = CommitmentFactory(owner=owner, reporting_cadence_months=3)
    post_update(commitment, happened_on=datetime.date(2026, 1, 10))
    # Three months after 10 January is 10 April, so late from 11 April; REMINDER_STALE_REPEAT_DAYS
    # (30) later, 11 May.
    first = dispatch(at(2026, 4, 11, 4))
    second = dispatch(at(2026, 5, 11, 4))
    assert [Reminder.objects.get(pk=i).due_on for i in first + second] == [
        datetime.date(2026, 4, 11),
        datetime.date(2026, 5, 11),
    ]
    # An update recorded now about December 2025 is not newer than the last activity:
    # the record still shows nothing since 10 January, so the reminders go on.
    post_update(commitment, happened_on=datetime.date(2025, 12, 1))
    assert len(dispatch(at(2026, 6, 10, 4))) == 1
    reminders.reminders_plan(now=at(2026, 7, 8, 4))
    # News from 1 July is an update: the pending 10 July reminder is skipped.
    post_update(commitment, happened_on=datetime.date(2026, 7, 1))
    assert dispatch(at(2026, 7, 10, 4)) == []
    assert Reminder.objects.get(due_on=datetime.date(2026, 7, 10)).skip_reason == (
        "a status update was posted since"
    )


def test_digest_reader_gets_one_weekly_email_instead_of_single_ones(owned_event):
    event, owner = owned_event
    ReminderPreference.objects.create(user=owner, weekly_digest=True)
    # Monday 7 December 2026, 09:00 in Ashgabat.
    [claimed] = dispatch(at(2026, 12, 7, 4))
    digest = Reminder.objects.get(pk=claimed)
    assert digest.kind == Reminder.Kind.DIGEST
    assert not Reminder.objects.filter(kind=Reminder.Kind.EVENT).exists()
    body = reminders.reminder_message(reminder=digest).body
    assert "International Day of Neutrality" in body


def test_unsubscribe_link_asks_first_then_stops_that_event(client, owned_event):
    event, owner = owned_event
    url = reminders.unsubscribe_url(user=owner, scope="event", object_id=event.pk)
    path = url.removeprefix("http://127.0.0.1:8000")
    response = client.get(path)
    assert response.status_code == 200
    assert b"Unsubscribe?" in response.content
    assert not ReminderSubscription.objects.exists()
    response = client.post(path)
    assert response.status_code == 200
    assert ReminderSubscription.objects.get(user=owner, event=event).subscribed is False
    assert owner.pk not in reminders.event_follower_ids(event_ids=[event.pk])[event.pk]


def test_unsubscribe_from_all_skips_reminders_already_planned(client, owned_event):
    event, owner = owned_event
    reminders.reminders_plan(now=at(2026, 11, 12, 0))
    path = reverse(
        "reminder_unsubscribe",
        kwargs={"token": reminders.unsubscribe_token(user=owner, scope="all")},
    )
    client.post(path)
    assert dispatch(at(2026, 11, 12, 4)) == []
    assert mail.outbox == []
    assert Reminder.objects.get().skip_reason == "the recipient unsubscribed from all reminders"


def test_tampered_unsubscribe_link_is_refused_and_changes_nothing(client, owned_event):
    event, owner = owned_event
    token = reminders.unsubscribe_token(user=owner, scope="all")
    response = client.post(reverse("reminder_unsubscribe", kwargs={"token": token + "x"}))
    assert response.status_code == 400
    assert b"does not work" in response.content
    assert not ReminderPreference.objects.exists()


def test_subscriptions_page_saves_only_what_was_changed(client, db):
    state = ActorFactory(name="Turkmenistan")
    liaison = LiaisonFactory(actor=state)
    followed = make_event(commitments=[CommitmentFactory(lead_actors=[state])])
    other = make_event(title="Forum")
    reminders.state_follow_set(user=liaison, follow=True)
    client.force_login(liaison)
    response = client.get(reverse("reminder_settings"))
    assert response.status_code == 200
    # The state's event is ticked; the liaison adds the forum and asks for the digest.
    form = {"follow_state": "on", "weekly_digest": "on", "stale_reminders": "on"}
    response = client.post(
        reverse("reminder_settings"), {**form, "events": [followed.pk, other.pk]}
    )
    assert response.status_code == 302
    assert reminders.events_followed_by(user=liaison) == {followed.pk, other.pk}
    assert ReminderPreference.objects.get(user=liaison).weekly_digest is True
    assert list(ReminderSubscription.objects.filter(event__isnull=False)) == [
        ReminderSubscription.objects.get(event=other, subscribed=True)
    ]


def test_liaison_cannot_follow_an_event_they_may_not_see(client, db):
    liaison = LiaisonFactory()
    hidden = make_event(title="Target date: hidden report", is_public=False)
    client.force_login(liaison)
    assert hidden.title.encode() not in client.get(reverse("reminder_settings")).content
    response = client.post(reverse("reminder_settings"), {"events": [hidden.pk]})
    assert response.status_code == 400  # the form says the choice is not valid
    assert not ReminderSubscription.objects.exists()


def make_failed_reminder() -> Reminder:
    owner = SecretariatFactory(email="failing@example.org")
    commitment = CommitmentFactory(owner=owner, last_activity_on=datetime.date(2026, 12, 1))
    make_event(commitments=[commitment], lead_times_days=[1])
    [claimed] = claim_only(at(2026, 12, 11, 12))
    stamp = Reminder.objects.get(pk=claimed).claimed_at
    reminders.reminders_mark_failed(held=[(claimed, stamp)], error="SMTPDataError: 554 refused")
    return Reminder.objects.get(pk=claimed)


def test_delivery_log_shows_failures_and_resend_queues_again(secretariat_client):
    failed = make_failed_reminder()
    response = secretariat_client.get(reverse("reminder_log"), {"state": "failed"})
    assert b"failing@example.org" in response.content
    assert b"554 refused" in response.content
    response = secretariat_client.post(reverse("reminder_resend", kwargs={"pk": failed.pk}))
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.state == State.PENDING
    assert [failed.pk] == dispatch(at(2026, 12, 11, 13))
    assert [m.to for m in mail.outbox] == [["failing@example.org"]]


def test_delivery_log_query_count_does_not_grow_with_rows(
    secretariat_client, django_assert_max_num_queries
):
    for _ in range(3):
        make_failed_reminder()
    with django_assert_max_num_queries(8):
        response = secretariat_client.get(reverse("reminder_log"))
    assert response.content.count(b"Resend</button>") == 3


def test_liaison_cannot_see_the_log_or_resend(liaison_client):
    failed = make_failed_reminder()
    assert liaison_client.get(reverse("reminder_log")).status_code == 403
    response = liaison_client.post(reverse("reminder_resend", kwargs={"pk": failed.pk}))
    assert response.status_code == 403
    failed.refresh_from_db()
    assert failed.state == State.FAILED


@pytest.fixture
def published(monkeypatch):
    """The task of each message this process hands to the broker, kept here instead of sent:
    kombu's Producer.publish is where every Celery send ends, however it was started."""
    tasks = []

    def publish(producer, body, *args, **kwargs):
        tasks.append(kwargs.get("headers", {}).get("task"))

    monkeypatch.setattr(kombu.Producer, "publish", publish)
    return tasks


def test_saving_a_status_update_never_touches_the_broker(
    secretariat_client, secretariat, published, django_capture_on_commit_callbacks
):
    commitment = CommitmentFactory(owner=secretariat)
    make_event(commitments=[commitment], lead_times_days=[1])  # reminders follow it
    form = {
        "status": "in_progress",
        "progress": "40",
        "progress_reason": "As the latest report says.",
        "happened_on": "2026-11-20",
        "narrative": "Reported.",
        "visibility": "public",
        "version": str(commitment.version),
    }

    # A send queued for after the commit (transaction.on_commit) would count too.
    with django_capture_on_commit_callbacks(execute=True):
        response = secretariat_client.post(commitment.get_absolute_url(), form)

    assert response.status_code == 302
    assert commitment.updates.count() == 1
    assert published == []
    send_reminders.delay([0])  # the spy sees a send when there is one
    assert published == ["tracker.tasks.send_reminders"]


def make_due_readers(count: int) -> datetime.datetime:
    """`count` owners following one event with a 1-day lead; returns when they are due."""
    commitments = [
        CommitmentFactory(
            owner=SecretariatFactory(username=f"reader{n}"),
            last_activity_on=datetime.date(2026, 11, 1),
        )
        for n in range(count)
    ]
    make_event(commitments=commitments, lead_times_days=[1])
    return at(2026, 12, 11, 12)


@override_settings(REMINDER_BATCH_SIZE=2, REMINDER_SEND_CHUNK_SIZE=2)
def test_one_dispatcher_run_claims_batch_after_batch_and_hands_over_chunks(db):
    due = make_due_readers(5)
    chunks = []

    def hand_over(chunk):  # to a worker that keeps up: each chunk is sent at once
        chunks.append(chunk)
        send_now(chunk)

    claimed = reminders.reminders_dispatch(now=due, enqueue=hand_over)
    assert len(claimed) == 5
    assert [len(chunk) for chunk in chunks] == [2, 2, 1]
    assert sorted(sum(chunks, [])) == sorted(claimed)
    assert set(Reminder.objects.values_list("state", flat=True)) == {State.SENT}


@override_settings(REMINDER_BATCH_SIZE=2, REMINDER_SEND_CHUNK_SIZE=1)
def test_claims_stay_a_batch_ahead_of_the_workers_and_continue_behind_them(db):
    due = make_due_readers(5)
    queue = []  # the broker: chunks and the next claims, in order

    def claim(now):
        return reminders.reminders_dispatch(
            now=now, enqueue=queue.append, continue_later=lambda: queue.append("claim")
        )

    first = claim(due)
    assert len(first) == 2  # then 2 claimed rows wait for a worker: enough ahead
    assert queue == [[first[0]], [first[1]], "claim"]
    assert Reminder.objects.filter(state=State.PENDING).count() == 3
    # The next minute's run while those still wait claims nothing, and queues nothing.
    assert claim(due) == []
    assert len(queue) == 3
    # A worker sends the two chunks, then comes to the claim queued behind them.
    while queue:
        item = queue.pop(0)
        if item == "claim":
            reminders.reminders_claim(
                now=due, enqueue=queue.append, continue_later=lambda: queue.append("claim")
            )
        else:
            send_now(item)
    assert len(mail.outbox) == 5
    assert set(Reminder.objects.values_list("state", flat=True)) == {State.SENT}
    assert Counter(m.to[0] for m in mail.outbox) == {f"reader{n}@example.org": 1 for n in range(5)}


@override_settings(REMINDER_BATCH_SIZE=2, REMINDER_DISPATCH_SECONDS=0)
def test_a_dispatcher_run_out_of_time_leaves_the_rest_to_the_next_run(db):
    due = make_due_readers(3)
    assert len(dispatch(due)) == 2
    assert Reminder.objects.filter(state=State.PENDING).count() == 1
    assert len(dispatch(due)) == 1


@override_settings(REMINDER_SEND_GROUP_SIZE=3)
def test_sending_a_chunk_writes_once_per_message_and_once_per_group(db, django_assert_num_queries):
    claimed = claim_only(make_due_readers(5))
    # Two reads for the chunk (the rows with their events, the commitments the events
    # concern); per group of 3, claimed -> sending and two reads for what the readers may see
    # then (the rows' recipients as they are now, the events visible to them); sending -> sent
    # per message. No read per row: a row's reader is read with its group's.
    with django_assert_num_queries(2 + 2 * (1 + 2) + 5):
        assert reminders.reminders_send(reminder_ids=claimed) == 5
    assert len(mail.outbox) == 5
    assert set(Reminder.objects.values_list("state", flat=True)) == {State.SENT}
    # A redelivered chunk sends nothing again.
    assert reminders.reminders_send(reminder_ids=claimed) == 0
    assert len(mail.outbox) == 5


def test_emails_offer_one_click_unsubscribe_and_a_one_click_post_applies_it(client, owned_event):
    event, owner = owned_event
    dispatch(at(2026, 11, 12, 4))
    [message] = mail.outbox
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = message.extra_headers["List-Unsubscribe"].strip("<>")
    response = client.post(
        url.removeprefix(settings.TRACKER_SITE_URL.rstrip("/")),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert ReminderPreference.objects.get(user=owner).muted is True


def test_an_event_moved_after_planning_is_not_reminded_on_its_old_date(db):
    reader = SecretariatFactory(time_zone="Asia/Ashgabat")
    commitment = CommitmentFactory(owner=reader, last_activity_on=datetime.date(2026, 11, 20))
    event = make_event(
        commitments=[commitment],
        rule=Event.Rule.ONCE,
        start_date=datetime.date(2026, 12, 6),
        lead_times_days=[1],
    )
    reminders.reminders_plan(now=at(2026, 12, 4))
    Event.objects.filter(pk=event.pk).update(start_date=datetime.date(2026, 12, 9))
    assert claim_only(at(2026, 12, 5, 5)) == []
    old = Reminder.objects.get(occurrence_date=datetime.date(2026, 12, 6))
    assert old.skip_reason == "the event no longer falls on this date"
    # The new date gets its own reminder.
    assert len(dispatch(at(2026, 12, 8, 5))) == 1
    assert "9 December 2026" in mail.outbox[0].body


def test_readers_far_west_get_the_day_before_reminder_of_an_all_day_event(db):
    honolulu = SecretariatFactory(username="hana", time_zone="Pacific/Honolulu")
    new_york = SecretariatFactory(username="bob", time_zone="America/New_York")
    commitments = [CommitmentFactory(owner=honolulu), CommitmentFactory(owner=new_york)]
    make_event(commitments=commitments, lead_times_days=[1])  # 12 December, Asia/Ashgabat
    # 09:00 on 11 December in New York is 14:00 UTC; in Honolulu 19:00 UTC, which is already
    # midnight of 12 December in Ashgabat: the day has begun there but not ended.
    assert len(dispatch(at(2026, 12, 11, 14))) == 1
    assert len(dispatch(at(2026, 12, 11, 19))) == 1
    assert sorted(m.to[0] for m in mail.outbox) == sorted([honolulu.email, new_york.email])
    assert not Reminder.objects.filter(state=State.SKIPPED).exists()


class RefusingBackend(locmem.EmailBackend):
    """Every message is refused the way an SMTP server refuses it (an OSError)."""

    def send_messages(self, messages):
        raise smtplib.SMTPDataError(554, b"refused")


@override_settings(EMAIL_BACKEND="tests.tracker.test_reminders.RefusingBackend")
def test_after_the_last_retry_only_rows_still_held_by_the_task_are_failed(db):
    due = make_due_readers(2)
    claimed = claim_only(due)
    with time_machine.travel(due, tick=False), pytest.raises(reminders.RemindersNotSent) as refused:
        reminders.reminders_send(reminder_ids=claimed)
    # Meanwhile one row was requeued and claimed again by a newer dispatcher run.
    taken, kept = claimed
    Reminder.objects.filter(pk=taken).update(state=State.PENDING, claimed_at=None)
    assert reminders.reminders_claim_due(now=due + datetime.timedelta(minutes=1)) == [taken]
    send_reminders.on_failure(refused.value, "task-id", (claimed,), {}, None)
    assert Reminder.objects.get(pk=taken).state == State.CLAIMED
    assert Reminder.objects.get(pk=kept).state == State.FAILED


class SlowSMTP:
    """Wraps reminder_message: each SMTP call takes `seconds` (well under the claim timeout),
    and a dispatcher run during each call requeues whatever looks stuck by then."""

    def __init__(self, monkeypatch, traveller, *, seconds: int):
        self.build, self.traveller, self.seconds = reminders.reminder_message, traveller, seconds
        monkeypatch.setattr(sending, "reminder_message", self)  # what a send task calls

    def __call__(self, *, reminder):
        self.traveller.shift(datetime.timedelta(seconds=self.seconds))
        reminders.reminders_requeue_stuck(now=timezone.now())
        return self.build(reminder=reminder)


@override_settings(REMINDER_SEND_GROUP_SIZE=3)
def test_a_group_slower_than_the_claim_timeout_sends_nothing_twice(db, monkeypatch):
    due = make_due_readers(3)
    claimed = claim_only(due)
    timeout = settings.REMINDER_CLAIM_TIMEOUT_SECONDS
    with time_machine.travel(due, tick=False) as traveller:
        # 0.4 of the timeout per message: the third would start after the group looks stuck.
        SlowSMTP(monkeypatch, traveller, seconds=timeout * 2 // 5)
        assert reminders.reminders_send(reminder_ids=claimed) == 2
        monkeypatch.undo()
        # The worker put the third back before the requeue could hand it to anyone else.
        states = Counter(Reminder.objects.values_list("state", flat=True))
        assert states == {State.SENT: 2, State.CLAIMED: 1}
        # After the timeout a dispatcher run requeues it and it goes out, once.
        traveller.shift(datetime.timedelta(seconds=timeout))
        assert len(dispatch(timezone.now())) == 1
    assert sorted(Counter(m.to[0] for m in mail.outbox).values()) == [1, 1, 1]
    assert set(Reminder.objects.values_list("state", flat=True)) == {State.SENT}


def test_a_send_task_holds_its_chunk_rewriting_only_rows_another_process_holds(db, monkeypatch):
    due = make_due_readers(3)
    mine, theirs, nobodys = claim_only(due)
    Reminder.objects.filter(pk=mine).update(claimed_by="host:1:me")
    Reminder.objects.filter(pk=theirs).update(claimed_by="host:2:dispatcher")
    monkeypatch.setattr(sending, "holder_id", lambda: "host:1:me")
    written = []

    def rows_written(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if sql.startswith("UPDATE"):
            written.append(context["cursor"].rowcount)
        return result

    with connection.execute_wrapper(rows_written):
        sending._hold([mine, theirs, nobodys])
    held = dict(Reminder.objects.values_list("pk", "claimed_by"))
    assert held == {mine: "host:1:me", theirs: "host:1:me", nobodys: "host:1:me"}
    # The row this process claimed itself (its own dispatcher run) is not written again.
    assert written == [2]


def test_rows_a_dead_worker_held_are_requeued_once_its_heartbeat_is_stale(db):
    due = make_due_readers(3)
    dead, alive, outside = claim_only(due)
    Reminder.objects.filter(pk=dead).update(claimed_by="host:11:dead", state=State.SENDING)
    Reminder.objects.filter(pk=alive).update(claimed_by="host:12:alive", state=State.SENDING)
    stale = datetime.timedelta(seconds=settings.REMINDER_HEARTBEAT_STALE_SECONDS + 1)
    WorkerHeartbeat.objects.create(holder="host:11:dead", beat_at=due - stale)
    WorkerHeartbeat.objects.create(holder="host:12:alive", beat_at=due)
    # Well before the claim timeout: only the dead worker's row goes back.
    assert reminders.reminders_requeue_stuck(now=due) == 1
    assert Reminder.objects.get(pk=dead).state == State.PENDING
    assert Reminder.objects.get(pk=dead).claimed_by == ""
    assert {Reminder.objects.get(pk=pk).state for pk in (alive, outside)} == {
        State.SENDING,
        State.CLAIMED,
    }
    # The claim timeout stays the last resort, for rows claimed outside a worker and for a
    # worker that beats but never finishes; a heartbeat that old is forgotten.
    later = due + datetime.timedelta(seconds=settings.REMINDER_CLAIM_TIMEOUT_SECONDS + 1)
    WorkerHeartbeat.objects.filter(holder="host:12:alive").update(beat_at=later)
    assert reminders.reminders_requeue_stuck(now=later) == 2
    assert list(WorkerHeartbeat.objects.values_list("holder", flat=True)) == ["host:12:alive"]
