"""A contributor reads public content only, even about commitments their organisation leads or
supports: its internal events are not listed, opened, offered, followed, fed or emailed to them."""

import pytest
from django.core import mail

from tests.factories import ActorFactory, CommitmentFactory, ContributorFactory, SecretariatFactory
from tests.tracker.test_reminder_visibility import DUE, dispatch, mailed_to, make_event
from tracker import reminders
from tracker.events import event_ids_visible_to_each, events_visible_to
from tracker.models import ReminderSubscription
from tracker.reminders.following import event_follower_ids


@pytest.fixture
def record(db):
    organisation = ActorFactory(name="Rights Institute", kind="organisation")
    owner = SecretariatFactory(username="alice")
    contributor = ContributorFactory(username="nhri", actor=organisation)
    commitment = CommitmentFactory(owner=owner, lead_actors=[organisation])
    internal = make_event(commitments=[commitment], is_public=False, title="Internal talks")
    public = make_event(commitments=[commitment], is_public=True, title="Open forum")
    return {
        "contributor": contributor,
        "organisation": organisation,
        "internal": internal,
        "public": public,
    }


def test_a_contributor_sees_public_events_only(record):
    contributor = record["contributor"]
    assert set(events_visible_to(user=contributor)) == {record["public"]}
    ids = {record["internal"].pk, record["public"].pk}
    seen = event_ids_visible_to_each(users=[contributor], event_ids=ids)
    assert seen[contributor.pk] == {record["public"].pk}


def test_the_pages_and_the_feed_keep_the_internal_event_from_a_contributor(record, client):
    contributor = record["contributor"]
    client.force_login(contributor)
    internal, public = record["internal"], record["public"]
    assert client.get(f"/events/{internal.slug}/").status_code == 404
    assert client.get(f"/events/{public.slug}/").status_code == 200
    listing = client.get("/events/").content.decode()
    assert public.title in listing and internal.title not in listing
    page = client.get("/reminders/").content.decode()
    assert internal.title not in page
    assert "concerning my state" not in page
    assert client.post(f"/follow/event/{internal.slug}/").status_code == 404
    assert not ReminderSubscription.objects.filter(event=internal).exists()
    feed = client.get(f"/calendar/{contributor.calendar_token}.ics").content.decode()
    assert "Open forum" in feed and "Internal talks" not in feed


def test_a_contributor_is_never_emailed_an_internal_event(record):
    contributor, organisation = record["contributor"], record["organisation"]
    # Rows such as an older version of the site may have written.
    ReminderSubscription.objects.create(user=contributor, actor=organisation)
    ReminderSubscription.objects.create(user=contributor, event=record["internal"])
    reminders.state_follow_set(user=contributor, follow=True)
    followers = event_follower_ids(event_ids=[record["internal"].pk])
    assert contributor.pk not in followers[record["internal"].pk]
    mail.outbox.clear()
    dispatch(DUE)
    assert "nhri@example.org" not in mailed_to()
    assert "alice@example.org" in mailed_to()


def test_posting_follow_state_as_a_contributor_changes_nothing(record, client):
    client.force_login(record["contributor"])
    client.post("/reminders/", {"follow_state": "on", "notify": "instant"})
    assert not ReminderSubscription.objects.filter(actor__isnull=False).exists()


def test_a_contributor_never_shares_a_liaisons_cached_dashboard(record):
    from tests.factories import LiaisonFactory
    from tracker.selectors import _viewer

    liaison = LiaisonFactory(actor=record["organisation"])
    assert _viewer(record["contributor"]) != _viewer(liaison)
