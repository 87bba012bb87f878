"""What each reader chooses on My reminders (issue 14): the lead times of event reminders,
muting one event, only events still to come on offer, no owner-only option for a liaison, and
a new liaison following their state by default."""

import datetime

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from tests.factories import ActorFactory, CommitmentFactory, LiaisonFactory, SecretariatFactory
from tests.tracker.test_reminder_visibility import make_event
from tracker import accounts, reminders
from tracker.models import Follow, Invitation, Reminder, ReminderPreference, User
from tracker.models.invitations import invitation_token_hash
from tracker.reminders.claiming import LEAD_NOT_CHOSEN

UTC = datetime.UTC
Kind = Reminder.Kind
EVENT_DAY = datetime.date(2026, 12, 12)
# 1 November 2026: every lead time of the 12 December event is still ahead.
BEFORE = datetime.datetime(2026, 11, 1, 4, tzinfo=UTC)


def dispatch(now: datetime.datetime) -> list[int]:
    return reminders.reminders_dispatch(
        now=now, enqueue=lambda ids: reminders.reminders_send(reminder_ids=ids)
    )


@pytest.fixture
def follower(db):
    liaison = LiaisonFactory(username="reader")
    event = make_event(lead_times_days=[30, 7, 1])
    reminders.event_follow_set(user=liaison, event=event, follow=True)
    return liaison, event


def planned_leads(user) -> list[int]:
    rows = Reminder.objects.filter(recipient=user, kind=Kind.EVENT)
    return sorted(rows.values_list("lead_days", flat=True), reverse=True)


def plan_all_leads():
    for now in (BEFORE, datetime.datetime(2026, 12, 10, tzinfo=UTC)):
        reminders.reminders_plan(now=now)


def test_without_a_choice_the_events_own_lead_times_apply(follower):
    user, _ = follower
    plan_all_leads()
    assert planned_leads(user) == [30, 7, 1]


def test_the_reader_chooses_the_day_itself_and_7_days(follower):
    user, _ = follower
    ReminderPreference.objects.create(user=user, event_lead_days=[7, 0])
    plan_all_leads()
    assert planned_leads(user) == [7, 0]


def test_a_lead_time_dropped_after_planning_is_skipped(follower):
    user, _ = follower
    reminders.reminders_plan(now=datetime.datetime(2026, 11, 11, 4, tzinfo=UTC))
    assert 30 in planned_leads(user)
    ReminderPreference.objects.create(user=user, event_lead_days=[1])

    dispatch(datetime.datetime(2026, 11, 12, 4, tzinfo=UTC))

    row = Reminder.objects.get(recipient=user, lead_days=30)
    assert (row.state, row.skip_reason) == (Reminder.State.SKIPPED, LEAD_NOT_CHOSEN)
    assert mail.outbox == []


def test_the_page_saves_the_lead_times(follower, client):
    user, event = follower
    client.force_login(user)
    with time_machine.travel(BEFORE, tick=False):
        page = client.get(reverse("reminder_settings")).content.decode()
        assert "on the day itself" in page
        assert "up to 30 days ahead" in page
        form = {"lead_days": ["7", "0"], "notify": "daily", "events": [event.pk]}
        assert client.post(reverse("reminder_settings"), form).status_code == 302
    preference = ReminderPreference.objects.get(user=user)
    assert (preference.event_lead_days, preference.notify) == ([7, 0], "daily")


def test_leaving_the_default_lead_times_keeps_each_events_own(follower, client):
    user, event = follower
    client.force_login(user)
    with time_machine.travel(BEFORE, tick=False):
        form = {"lead_days": ["30", "7", "1"], "events": [event.pk]}
        client.post(reverse("reminder_settings"), form)
    assert ReminderPreference.objects.get(user=user).event_lead_days is None


def test_muting_one_event_stops_its_reminders_only(follower, client):
    user, event = follower
    other = make_event(title="Forum", lead_times_days=[30, 7, 1])
    reminders.event_follow_set(user=user, event=other, follow=True)
    client.force_login(user)
    client.post(reverse("follow_toggle", kwargs={"kind": "event", "key": event.slug}), {})

    plan_all_leads()

    rows = Reminder.objects.filter(recipient=user, kind=Kind.EVENT)
    assert set(rows.values_list("event", flat=True)) == {other.pk}


def test_past_events_are_never_offered(db, client):
    liaison = LiaisonFactory(username="reader")
    make_event(title="Forum of 2021", start_date=datetime.date(2021, 12, 12))
    make_event(title="Forum ahead", start_date=datetime.date(2027, 3, 1))
    make_event(title="Neutrality Day", start_date=datetime.date(2017, 12, 12), rule="yearly")
    client.force_login(liaison)
    with time_machine.travel(BEFORE, tick=False):
        page = client.get(reverse("reminder_settings")).content.decode()
    assert "Forum ahead" in page
    assert "Neutrality Day" in page  # every year: one ahead
    assert "Forum of 2021" not in page


def test_a_liaison_is_not_offered_what_only_owners_get(db, client):
    client.force_login(LiaisonFactory(username="reader"))
    page = client.get(reverse("reminder_settings")).content.decode()
    assert "gone quiet" not in page
    assert "that I own or supervise" not in page
    client.force_login(SecretariatFactory(username="officer"))
    page = client.get(reverse("reminder_settings")).content.decode()
    assert "gone quiet" in page


def test_a_liaison_posting_the_owners_option_changes_nothing(db, client):
    liaison = LiaisonFactory(username="reader")
    ReminderPreference.objects.create(user=liaison, stale_reminders=False)
    client.force_login(liaison)
    client.post(reverse("reminder_settings"), {"stale_reminders": "on", "lead_days": ["1"]})
    assert ReminderPreference.objects.get(user=liaison).stale_reminders is False


def test_a_new_liaison_follows_their_states_events_and_commitments(db, client):
    state = ActorFactory(name="Kazakhstan")
    commitment = CommitmentFactory(lead_actors=[state])
    event = make_event(commitments=[commitment])
    Invitation.objects.create(
        email="new@example.org",
        role="liaison",
        actor=state,
        language="en",
        token_hash=invitation_token_hash("token"),
        expires_at=timezone.now() + datetime.timedelta(days=1),
    )
    accounts.invitation_accept(
        token="token", first_name="N", last_name="L", password="a long passphrase 42"
    )
    user = User.objects.get(username="new@example.org")

    assert reminders.follows_state(user=user)
    assert event.pk in reminders.events_followed_by(user=user)
    assert Follow.objects.get(user=user).actor == state


def test_the_demo_liaison_follows_their_state(db):
    from tracker.demo import LIAISON_USERNAME, demo_accounts_load

    ActorFactory(name="Turkmenistan", iso_code="TM")

    class Run:
        password = "demo"
        owner = None

        def say(self, text):
            pass

    demo_accounts_load(Run())
    liaison = User.objects.get(username=LIAISON_USERNAME)
    assert reminders.follows_state(user=liaison)
    assert Follow.objects.filter(user=liaison, by_default=True).exists()
