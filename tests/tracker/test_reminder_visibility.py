"""Reminders reach a reader only with what that reader may see when each is sent (issue 10).

Every test goes through the real path: the dispatcher's claim (reminders_dispatch, as the beat
task runs it) and the send service the Celery task calls (reminders_send), with Django's
locmem outbox; what changes between claim and send is what a real worker would meet.
"""

import datetime

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from commitments.models import Commitment
from core.roles import Role
from tests.factories import (
    ActorFactory,
    CommitmentFactory,
    LiaisonFactory,
    SecretariatFactory,
    UserFactory,
)
from tracker import events as events_module
from tracker import reminders
from tracker.events import commitment_deadline_event_sync
from tracker.models import Event, Reminder, ReminderPreference
from tracker.reminders import sending
from tracker.reminders.deadlines import DEADLINE_KINDS

UTC = datetime.UTC
State = Reminder.State
Kind = Reminder.Kind
# The event is on 12 December 2026; its 1-day reminder is due at 09:00 in Ashgabat (UTC+5).
EVENT_DAY = datetime.date(2026, 12, 12)
DUE = datetime.datetime(2026, 12, 11, 4, tzinfo=UTC)
# Monday 7 December 2026, 09:00 in Ashgabat: a digest covering 7 to 21 December.
DIGEST_DUE = datetime.datetime(2026, 12, 7, 4, tzinfo=UTC)


def claim(now: datetime.datetime) -> list[int]:
    """A dispatcher run whose send tasks have not run yet (queued behind others)."""
    return reminders.reminders_dispatch(now=now, enqueue=lambda chunk: None)


def send(reminder_ids: list[int]) -> int:
    """What tracker.tasks.send_reminders runs for a chunk."""
    return reminders.reminders_send(reminder_ids=reminder_ids)


def dispatch(now: datetime.datetime) -> list[int]:
    return reminders.reminders_dispatch(now=now, enqueue=send)


def make_event(*, commitments=(), is_public=True, **fields) -> Event:
    defaults = {
        "title": "Consultations on the draft",
        "slug": f"event-{Event.objects.count() + 1}",
        "description": "Draft positions, not for circulation.",
        "kind": Event.Kind.FORUM,
        "start_date": EVENT_DAY,
        "lead_times_days": [1],
    }
    event = Event.objects.create(**{**defaults, "is_public": is_public, **fields})
    event.commitments.set(commitments)
    return event


def mailed_to() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


def row_of(user) -> Reminder:
    """The user's reminder these tests are about. A target date also plans an overdue reminder
    for the day after it (tests/tracker/test_reminders_deadlines.py), left out here."""
    return Reminder.objects.exclude(kind__in=DEADLINE_KINDS).get(recipient=user)


@pytest.fixture
def kazakhstan_record(db):
    """An internal event on a Kazakhstan-led commitment, followed by its secretariat owner and
    by Kazakhstan's liaison through "every event concerning my state"."""
    kazakhstan = ActorFactory(name="Kazakhstan")
    uzbekistan = ActorFactory(name="Uzbekistan")
    owner = SecretariatFactory(username="alice")
    liaison = LiaisonFactory(username="kaz", actor=kazakhstan)
    commitment = CommitmentFactory(owner=owner, lead_actors=[kazakhstan])
    event = make_event(commitments=[commitment], is_public=False)
    reminders.state_follow_set(user=liaison, follow=True)
    return {
        "kazakhstan": kazakhstan,
        "uzbekistan": uzbekistan,
        "owner": owner,
        "liaison": liaison,
        "commitment": commitment,
        "event": event,
    }


def move_liaison_to_uzbekistan(record) -> None:
    record["liaison"].actor = record["uzbekistan"]
    record["liaison"].save()


def clear_liaison_state(record) -> None:
    record["liaison"].actor = None
    record["liaison"].save()


def lead_moves_to_uzbekistan(record) -> None:
    record["commitment"].lead_actors.set([record["uzbekistan"]])


def event_moves_to_an_uzbek_commitment(record) -> None:
    other = CommitmentFactory(owner=record["owner"], lead_actors=[record["uzbekistan"]])
    record["event"].commitments.set([other])


WAYS_TO_LOSE_SIGHT = [
    move_liaison_to_uzbekistan,
    clear_liaison_state,
    lead_moves_to_uzbekistan,
    event_moves_to_an_uzbek_commitment,
]


def test_the_state_liaison_gets_the_internal_event_while_it_concerns_their_state(
    kazakhstan_record,
):
    dispatch(DUE)
    assert mailed_to() == ["alice@example.org", "kaz@example.org"]


@pytest.mark.parametrize("lose_sight", WAYS_TO_LOSE_SIGHT)
def test_a_liaison_who_lost_sight_after_the_claim_is_not_sent_the_event(
    kazakhstan_record, client, lose_sight
):
    record = kazakhstan_record
    claimed = claim(DUE)
    assert len(claimed) == 2
    lose_sight(record)

    assert send(claimed) == 1

    assert mailed_to() == ["alice@example.org"]
    skipped = row_of(record["liaison"])
    assert (skipped.state, skipped.skip_reason) == (State.SKIPPED, reminders.UNSEEN_EVENT)
    # The same answer as the event's page gives them at that moment.
    client.force_login(record["liaison"])
    slug = record["event"].slug
    assert client.get(reverse("event_detail", kwargs={"slug": slug})).status_code == 404


@pytest.mark.parametrize("lose_sight", WAYS_TO_LOSE_SIGHT)
def test_a_liaison_who_lost_sight_after_planning_is_skipped_when_claimed(
    kazakhstan_record, lose_sight
):
    reminders.reminders_plan(now=DUE - datetime.timedelta(days=1))
    lose_sight(kazakhstan_record)

    dispatch(DUE)

    assert mailed_to() == ["alice@example.org"]
    skipped = row_of(kazakhstan_record["liaison"])
    assert (skipped.state, skipped.skip_reason) == (State.SKIPPED, reminders.UNSEEN_EVENT)


@pytest.mark.parametrize("lose_sight", WAYS_TO_LOSE_SIGHT)
def test_no_reminder_is_planned_for_a_liaison_who_may_not_see_the_event(
    kazakhstan_record, lose_sight
):
    lose_sight(kazakhstan_record)

    dispatch(DUE)

    assert mailed_to() == ["alice@example.org"]
    assert not Reminder.objects.filter(recipient=kazakhstan_record["liaison"]).exists()


def test_a_moved_liaison_no_longer_follows_the_old_states_public_events(kazakhstan_record):
    # Public: they may still see it, but "my state" is Uzbekistan now.
    Event.objects.filter(pk=kazakhstan_record["event"].pk).update(is_public=True)
    reminders.reminders_plan(now=DUE - datetime.timedelta(days=1))
    move_liaison_to_uzbekistan(kazakhstan_record)

    dispatch(DUE)

    assert mailed_to() == ["alice@example.org"]
    skipped = row_of(kazakhstan_record["liaison"])
    assert skipped.skip_reason == "the recipient no longer follows this event"
    assert not reminders.follows_state(user=kazakhstan_record["liaison"])


def test_an_event_made_internal_after_a_liaison_ticked_it_is_not_sent(db):
    liaison = LiaisonFactory(username="uzb", actor__name="Uzbekistan")
    event = make_event(commitments=[CommitmentFactory(lead_actors=[ActorFactory()])])
    reminders.event_follow_set(user=liaison, event=event, follow=True)
    claimed = claim(DUE)
    assert Reminder.objects.get(pk__in=claimed, recipient=liaison).state == State.CLAIMED
    Event.objects.filter(pk=event.pk).update(is_public=False)

    send(claimed)

    assert "uzb@example.org" not in mailed_to()
    assert row_of(liaison).skip_reason == reminders.UNSEEN_EVENT


def test_an_event_made_internal_before_the_claim_is_skipped_with_the_reason(db):
    liaison = LiaisonFactory(username="uzb", actor__name="Uzbekistan")
    event = make_event()
    reminders.event_follow_set(user=liaison, event=event, follow=True)
    reminders.reminders_plan(now=DUE - datetime.timedelta(days=1))
    Event.objects.filter(pk=event.pk).update(is_public=False)

    assert dispatch(DUE) == []

    assert mail.outbox == []
    assert row_of(liaison).skip_reason == reminders.UNSEEN_EVENT


def test_an_event_made_internal_still_reaches_the_liaison_of_a_state_it_concerns(db):
    # A supporting state's liaison may see the internal event: checking must not over-block.
    state = ActorFactory(name="Kazakhstan")
    liaison = LiaisonFactory(username="kaz", actor=state)
    commitment = CommitmentFactory()
    commitment.supporting_actors.set([state])
    event = make_event(commitments=[commitment])
    reminders.state_follow_set(user=liaison, follow=True)
    claimed = claim(DUE)
    Event.objects.filter(pk=event.pk).update(is_public=False)

    send(claimed)

    assert "kaz@example.org" in mailed_to()


# --- owners -----------------------------------------------------------------------------------


def test_a_liaison_cannot_be_made_an_owner_in_the_model(db):
    commitment = CommitmentFactory()
    commitment.owner = LiaisonFactory(username="kaz")
    with pytest.raises(ValidationError) as refused:
        commitment.full_clean()
    assert "kaz cannot own a commitment" in str(refused.value.message_dict["owner"])


def commitment_form(commitment, **overrides) -> dict:
    return {
        "title": commitment.title,
        "slug": commitment.slug,
        "summary": commitment.summary,
        "paragraphs": [p.pk for p in commitment.paragraphs.all()],
        "kind": commitment.kind,
        "owner": commitment.owner_id or "",
        "opened_version": commitment.version,
    } | overrides


@pytest.fixture
def admin_client(client, db):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def test_the_admin_offers_only_secretariat_owners_and_refuses_a_liaison(admin_client):
    commitment = CommitmentFactory()
    owner = commitment.owner
    liaison = LiaisonFactory(username="kaz")
    inactive = SecretariatFactory(username="gone", is_active=False)
    url = reverse("admin:commitments_commitment_change", args=[commitment.pk])

    choices = admin_client.get(url).context["adminform"].form.fields["owner"].queryset
    response = admin_client.post(url, commitment_form(commitment, owner=liaison.pk))

    assert owner in choices and liaison not in choices and inactive not in choices
    assert response.status_code == 200
    assert "Only active secretariat staff can own a commitment" in response.content.decode()
    commitment.refresh_from_db()
    assert (commitment.owner, commitment.version) == (owner, 1)


def test_the_admin_asks_for_a_new_owner_once_the_owner_left_the_secretariat(admin_client):
    commitment = CommitmentFactory(title="Water strategy")
    owner = commitment.owner
    owner.role = Role.LIAISON
    owner.save()
    url = reverse("admin:commitments_commitment_change", args=[commitment.pk])

    unchanged = admin_client.post(url, commitment_form(commitment, title="Renamed"))
    commitment.refresh_from_db()
    assert unchanged.status_code == 200
    assert f"{owner.username} cannot own a commitment" in unchanged.content.decode()
    assert (commitment.title, commitment.owner) == ("Water strategy", owner)

    other = SecretariatFactory(username="bob")
    replaced = admin_client.post(url, commitment_form(commitment, owner=other.pk))
    commitment.refresh_from_db()
    assert replaced.status_code == 302
    assert commitment.owner == other


@pytest.fixture
def quiet_commitment(db):
    """Alice owns a commitment late by its cadence: three months after 9 September is
    9 December, so late from 10 December."""
    owner = SecretariatFactory(username="alice")
    commitment = CommitmentFactory(
        owner=owner, last_activity_on=datetime.date(2026, 9, 9), reporting_cadence_months=3
    )
    return commitment


QUIET_DUE = datetime.datetime(2026, 12, 10, 4, tzinfo=UTC)


def demote(user, actor=None) -> None:
    user.role, user.actor = Role.LIAISON, actor
    user.save()


def test_an_owner_demoted_after_the_claim_gets_no_quiet_reminder(quiet_commitment):
    owner = quiet_commitment.owner
    claimed = claim(QUIET_DUE)
    assert Reminder.objects.get(pk__in=claimed).kind == Kind.STALE
    demote(owner)

    assert send(claimed) == 0

    assert mail.outbox == []
    assert row_of(owner).skip_reason == reminders.UNSEEN_NOT_SECRETARIAT


@pytest.mark.parametrize("change", ["reassigned", "demoted"])
def test_what_changed_while_its_chunk_was_sending_is_checked_before_its_group_goes_out(
    quiet_commitment, monkeypatch, change
):
    # A group reads its readers and commitments again once it is `sending`, as they are then,
    # not as the chunk read them before its earlier groups went out.
    owner = quiet_commitment.owner
    claimed = claim(QUIET_DUE)
    move = sending._move

    def move_then_change(*args, **kwargs):
        if change == "reassigned":
            Commitment.objects.filter(pk=quiet_commitment.pk).update(owner=SecretariatFactory())
        else:
            demote(owner)
        return move(*args, **kwargs)

    monkeypatch.setattr(sending, "_move", move_then_change)

    assert send(claimed) == 0

    assert mail.outbox == []
    reason = (
        reminders.UNSEEN_NOT_OWNER if change == "reassigned" else reminders.UNSEEN_NOT_SECRETARIAT
    )
    assert row_of(owner).skip_reason == reason


def test_an_owner_demoted_before_planning_gets_no_quiet_reminder(quiet_commitment):
    demote(quiet_commitment.owner)

    assert dispatch(QUIET_DUE) == []

    assert mail.outbox == []
    assert not Reminder.objects.exists()


def test_an_owner_demoted_after_planning_is_skipped_when_claimed(quiet_commitment):
    reminders.reminders_plan(now=QUIET_DUE - datetime.timedelta(days=1))
    demote(quiet_commitment.owner)

    dispatch(QUIET_DUE)

    assert mail.outbox == []
    assert row_of(quiet_commitment.owner).skip_reason == reminders.UNSEEN_NOT_SECRETARIAT


def with_deadline(commitment: Commitment, *, lead_actors=()) -> Event:
    """A target date on EVENT_DAY, and news from 1 December: no quiet reminder is due too."""
    commitment.lead_actors.set(lead_actors)
    Commitment.objects.filter(pk=commitment.pk).update(
        target_date=EVENT_DAY, last_activity_on=datetime.date(2026, 12, 1)
    )
    commitment.refresh_from_db()
    event = commitment_deadline_event_sync(commitment=commitment)
    Event.objects.filter(pk=event.pk).update(lead_times_days=[1])
    return event


@pytest.mark.parametrize("state_leads", [False, True])
def test_an_owner_demoted_after_the_claim_gets_no_deadline_reminder(quiet_commitment, state_leads):
    # Demoted to a liaison of no state (the internal deadline is out of sight), or of the
    # state that leads the commitment (they may see it, but followed it only as its owner).
    owner = quiet_commitment.owner
    state = ActorFactory(name="Kazakhstan")
    with_deadline(quiet_commitment, lead_actors=[state])
    claimed = claim(DUE)
    assert Reminder.objects.filter(pk__in=claimed, kind=Kind.EVENT).count() == 1
    demote(owner, actor=state if state_leads else None)

    send(claimed)

    assert mail.outbox == []
    reason = reminders.UNSEEN_NOT_SECRETARIAT if state_leads else reminders.UNSEEN_EVENT
    assert Reminder.objects.get(kind=Kind.EVENT).skip_reason == reason


@pytest.mark.parametrize("owned_through", ["commitments", "deadline_of"])
def test_an_owner_demoted_after_the_claim_loses_an_event_owned_either_way(
    quiet_commitment, owned_through
):
    # The event is theirs through one link only (the commitments it concerns, or the
    # commitment whose target date it is), and still in their sight as a liaison of the
    # state that leads it (public): followed only as its owner, it is not sent.
    owner = quiet_commitment.owner
    state = ActorFactory(name="Kazakhstan")
    event = with_deadline(quiet_commitment, lead_actors=[state])
    claimed = claim(DUE)
    if owned_through == "commitments":
        Event.objects.filter(pk=event.pk).update(deadline_of=None)
    else:
        event.commitments.clear()
        Event.objects.filter(pk=event.pk).update(is_public=True)
    demote(owner, actor=state)

    send(claimed)

    assert mail.outbox == []
    assert row_of(owner).skip_reason == reminders.UNSEEN_NOT_SECRETARIAT


def test_a_demoted_owner_following_their_state_still_gets_its_deadline(quiet_commitment):
    # Followed as a liaison, not as the owner: what the state's liaisons get.
    owner = quiet_commitment.owner
    state = ActorFactory(name="Kazakhstan")
    with_deadline(quiet_commitment, lead_actors=[state])
    claimed = claim(DUE)
    demote(owner, actor=state)
    reminders.state_follow_set(user=owner, follow=True)

    send(claimed)

    [message] = mail.outbox
    assert message.subject.startswith("Target date:")
    assert row_of(owner).state == State.SENT


# --- the digest and inactive accounts -----------------------------------------------------------


@pytest.fixture
def digest_reader(db):
    liaison = LiaisonFactory(username="uzb", actor__name="Uzbekistan")
    ReminderPreference.objects.create(user=liaison, weekly_digest=True)
    return liaison


def test_a_digest_leaves_out_an_event_made_internal(digest_reader):
    kept = make_event(title="Open forum on water")
    hidden = make_event(title="Closed consultations")
    for event in (kept, hidden):
        reminders.event_follow_set(user=digest_reader, event=event, follow=True)
    claimed = claim(DIGEST_DUE)
    Event.objects.filter(pk=hidden.pk).update(is_public=False)

    send(claimed)

    [message] = mail.outbox
    assert "Open forum on water" in message.body
    assert "Closed consultations" not in message.body
    assert "Draft positions" not in message.body


def test_a_digest_left_empty_by_what_its_reader_may_not_see_is_skipped(digest_reader):
    hidden = make_event(title="Closed consultations")
    reminders.event_follow_set(user=digest_reader, event=hidden, follow=True)
    claimed = claim(DIGEST_DUE)
    Event.objects.filter(pk=hidden.pk).update(is_public=False)

    assert send(claimed) == 0

    assert mail.outbox == []
    assert Reminder.objects.get(pk__in=claimed).skip_reason == reminders.UNSEEN_DIGEST


def test_a_demoted_owners_digest_leaves_out_quiet_commitments(quiet_commitment):
    owner = quiet_commitment.owner
    ReminderPreference.objects.create(user=owner, weekly_digest=True)
    public = make_event(title="Open forum on water", start_date=datetime.date(2026, 12, 24))
    reminders.event_follow_set(user=owner, event=public, follow=True)
    # Monday 21 December: the quiet days have passed; a secretariat owner's digest lists it.
    due = datetime.datetime(2026, 12, 21, 4, tzinfo=UTC)
    claimed = claim(due)
    demote(owner)

    send(claimed)

    [message] = mail.outbox
    assert "Open forum on water" in message.body
    assert quiet_commitment.title not in message.body


def test_a_digest_that_had_nothing_to_list_still_goes_out(digest_reader):
    dispatch(DIGEST_DUE)
    [message] = mail.outbox
    assert "Nothing you follow." in message.body


@pytest.mark.parametrize("kind", ["event", "stale", "digest"])
def test_an_account_deactivated_after_the_claim_gets_nothing(quiet_commitment, kind):
    owner = quiet_commitment.owner
    if kind == "event":
        with_deadline(quiet_commitment)
        due = DUE
    elif kind == "digest":
        ReminderPreference.objects.create(user=owner, weekly_digest=True)
        due = DIGEST_DUE
    else:
        due = QUIET_DUE
    claimed = claim(due)
    assert Reminder.objects.get(pk__in=claimed).kind == kind
    owner.is_active = False
    owner.save()

    assert send(claimed) == 0

    assert mail.outbox == []
    assert Reminder.objects.get(pk__in=claimed).skip_reason == reminders.UNSEEN_INACTIVE


def test_an_account_deactivated_before_the_claim_is_skipped_with_the_reason(quiet_commitment):
    reminders.reminders_plan(now=QUIET_DUE - datetime.timedelta(days=1))
    owner = quiet_commitment.owner
    owner.is_active = False
    owner.save()

    dispatch(QUIET_DUE)

    assert mail.outbox == []
    assert row_of(owner).skip_reason == reminders.UNSEEN_INACTIVE


def test_no_reminder_is_planned_for_a_ticked_event_made_internal(db):
    liaison = LiaisonFactory(username="uzb", actor__name="Uzbekistan")
    event = make_event()
    reminders.event_follow_set(user=liaison, event=event, follow=True)
    Event.objects.filter(pk=event.pk).update(is_public=False)

    reminders.reminders_plan(now=DUE)

    assert not Reminder.objects.filter(recipient=liaison).exists()
    assert reminders.events_followed_by(user=liaison) == set()


@pytest.mark.parametrize("ids_per_query", [5000, 1])
def test_what_reminders_count_as_visible_is_what_the_pages_show(db, monkeypatch, ids_per_query):
    # Asked for many readers at once, split over several statements when long (SQL limits).
    monkeypatch.setattr(events_module, "IDS_PER_QUERY", ids_per_query)
    kazakhstan, uzbekistan = ActorFactory(name="Kazakhstan"), ActorFactory(name="Uzbekistan")
    led = CommitmentFactory(lead_actors=[kazakhstan])
    supported = CommitmentFactory()
    supported.supporting_actors.set([uzbekistan])
    events = [
        make_event(),
        make_event(is_public=False),
        make_event(commitments=[led], is_public=False),
        make_event(commitments=[supported], is_public=False),
    ]
    readers = [
        SecretariatFactory(),
        UserFactory(is_superuser=True),
        LiaisonFactory(actor=kazakhstan),
        LiaisonFactory(actor=uzbekistan),
        LiaisonFactory(actor=None),
        SecretariatFactory(is_active=False),
    ]

    seen = events_module.event_ids_visible_to_each(users=readers, event_ids=[e.pk for e in events])

    for reader in readers:
        page_rule = set(events_module.events_visible_to(user=reader).values_list("pk", flat=True))
        assert seen[reader.pk] == page_rule
    assert len({frozenset(ids) for ids in seen.values()}) == 4


@pytest.mark.parametrize("states", [1, 12])
def test_what_reminders_count_as_visible_takes_one_statement_however_many_states(db, states):
    # Asked for every group of emails just before sending, whose readers are of many states:
    # no statement, nor UNION term, per state; the three SELECTs in one round trip.
    actors = [ActorFactory() for _ in range(states)]
    led, supported = CommitmentFactory(lead_actors=actors[:1]), CommitmentFactory()
    supported.supporting_actors.set(actors[-1:])
    events = [make_event(commitments=[led, supported], is_public=False), make_event()]
    readers = [LiaisonFactory(actor=actor) for actor in actors] + [SecretariatFactory()]

    with CaptureQueriesContext(connection) as queries:
        seen = events_module.event_ids_visible_to_each(
            users=readers, event_ids=[e.pk for e in events]
        )

    assert len(queries) == 1
    assert sum(query["sql"].count("SELECT") for query in queries) == 3

    for reader in readers:
        page_rule = set(events_module.events_visible_to(user=reader).values_list("pk", flat=True))
        assert seen[reader.pk] == page_rule


def user_form(page) -> dict:
    """The admin's user form as the page filled it in, to post back with changes."""
    form = page.context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if isinstance(value, datetime.datetime):
            data[f"{name}_0"], data[f"{name}_1"] = value.date(), value.time()
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        elif value is not None:
            data[name] = value
    return data


def test_demoting_an_owner_in_the_admin_says_what_becomes_of_their_commitments(admin_client):
    commitment = CommitmentFactory()
    owner = commitment.owner
    url = reverse("admin:tracker_user_change", args=[owner.pk])

    response = admin_client.post(
        url, user_form(admin_client.get(url)) | {"role": Role.LIAISON}, follow=True
    )

    owner.refresh_from_db()
    assert owner.role == Role.LIAISON
    shown = [str(message) for message in response.context["messages"]]
    assert shown[0].startswith(f"{owner.username} still owns 1 commitment but is no longer")
    commitment.refresh_from_db()
    assert commitment.owner == owner  # kept: the next admin edit asks for a new one
