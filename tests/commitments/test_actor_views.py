"""Curating actors and themes in the app: create, rename (the address stays), merge two
actors, refuse a stale form; only the secretariat."""

import pytest
from auditlog.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from commitments import services
from commitments.models import Actor, Theme
from tests.factories import (
    ActorFactory,
    CommitmentFactory,
    EventFactory,
    LiaisonFactory,
    ThemeFactory,
)

pytestmark = pytest.mark.django_db


def test_the_secretariat_adds_an_actor(secretariat_client):
    data = {"name": "Kazakhstan", "kind": "member_state", "iso_code": "kz"}
    response = secretariat_client.post(reverse("commitments:actor_new"), data)
    actor = Actor.objects.get()
    assert response["Location"] == actor.get_absolute_url()
    assert (actor.slug, actor.iso_code, actor.version) == ("kazakhstan", "KZ", 1)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "turkmenistan", "kind": "member_state"}, "“turkmenistan” is taken"),
        ({"name": "Uzbekistan", "kind": "member_state", "iso_code": "TM"}, "TM is the code of"),
        ({"name": "Uzbekistan", "kind": "member_state", "iso_code": "T1"}, "Enter two letters"),
    ],
)
def test_a_wrong_actor_form_is_refused_with_a_message(secretariat_client, data, message):
    ActorFactory(name="Turkmenistan", iso_code="TM")
    response = secretariat_client.post(reverse("commitments:actor_new"), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Actor.objects.count() == 1


def test_renaming_an_actor_keeps_its_address(secretariat_client):
    actor = ActorFactory(name="UN OCHA", slug="un-ocha", kind="un_body")
    url = reverse("commitments:actor_edit", kwargs={"slug": "un-ocha"})
    data = {"name": "OCHA Regional Office", "kind": "un_body", "iso_code": "", "version": "1"}
    assert secretariat_client.post(url, data)["Location"] == "/actors/un-ocha/"
    actor.refresh_from_db()
    assert (actor.name, actor.slug, actor.version) == ("OCHA Regional Office", "un-ocha", 2)
    assert LogEntry.objects.get_for_object(actor).exists()


def test_a_stale_actor_form_is_refused_and_nothing_is_written(secretariat_client):
    actor = ActorFactory(name="UN OCHA", slug="un-ocha", kind="un_body")
    url = reverse("commitments:actor_edit", kwargs={"slug": "un-ocha"})
    first = {"name": "OCHA", "kind": "un_body", "iso_code": "", "version": "1"}
    secretariat_client.post(url, first)
    response = secretariat_client.post(url, first | {"name": "UN OCHA office"})
    assert response.status_code == 409
    assert ("Name", "OCHA", "UN OCHA office") in response.context["conflict_rows"]
    actor.refresh_from_db()
    assert (actor.name, actor.version) == ("OCHA", 2)


@pytest.fixture
def twins(db):
    """Tajikistan entered twice, with commitments, a liaison and an event on each."""
    keep = ActorFactory(name="Tajikistan", slug="tajikistan")
    twin = ActorFactory(name="Tajikistan (duplicate)", slug="tajikistan-2")
    CommitmentFactory(title="Both lead", lead_actors=[keep, twin])
    led_by_twin = CommitmentFactory(title="Twin leads", lead_actors=[twin])
    supported = CommitmentFactory(title="Twin supports")
    supported.supporting_actors.add(twin)
    kept_leads_twin_supports = CommitmentFactory(title="Mixed", lead_actors=[keep])
    kept_leads_twin_supports.supporting_actors.add(twin)
    liaison = LiaisonFactory(actor=twin)
    event = EventFactory(is_public=False, commitments=[led_by_twin])
    return keep, twin, liaison, event


def merge(client, actor, other, stays="this", version=None):
    url = reverse("commitments:actor_merge", kwargs={"slug": actor.slug})
    data = {"other": other.pk, "stays": stays, "version": version or actor.version}
    return client.post(url, data)


def test_merging_moves_commitments_liaisons_and_events(secretariat_client, twins):
    keep, twin, liaison, event = twins
    response = merge(secretariat_client, keep, twin)
    assert response["Location"] == keep.get_absolute_url()
    assert not Actor.objects.filter(pk=twin.pk).exists()
    assert sorted(keep.led_commitments.values_list("title", flat=True)) == [
        "Both lead",
        "Mixed",
        "Twin leads",
    ]
    # A lead is not listed as supporting too.
    assert list(keep.supported_commitments.values_list("title", flat=True)) == ["Twin supports"]
    both = keep.led_commitments.get(title="Both lead")
    assert list(both.lead_actors.all()) == [keep]
    liaison.refresh_from_db()
    assert liaison.actor == keep
    # The event concerning the twin's commitment is the kept state's now (tracker.events).
    from tracker.events import events_visible_to

    assert events_visible_to(user=liaison).filter(pk=event.pk).exists()
    assert LogEntry.objects.get_for_object(keep).filter(changes__icontains="merged").exists()


def test_merging_the_other_way_keeps_the_other_one(secretariat_client, twins):
    keep, twin, liaison, _ = twins
    merge(secretariat_client, twin, keep, stays="other")
    assert list(Actor.objects.values_list("name", flat=True)) == ["Tajikistan"]
    liaison.refresh_from_db()
    assert liaison.actor == keep


def test_merging_an_actor_with_itself_is_refused(secretariat_client, twins):
    keep, *_ = twins
    response = merge(secretariat_client, keep, keep)
    assert response.status_code == 400
    assert "cannot be merged with itself" in response.content.decode()
    assert Actor.objects.count() == 2
    with pytest.raises(services.SelfMerge):
        services.actor_merge(keep=keep, remove=keep, expected_versions={})


def test_a_stale_merge_is_refused_and_nothing_moves(secretariat_client, twins):
    keep, twin, liaison, _ = twins
    services.actor_update(
        actor=twin, name="Turkmenistan (old)", kind="member_state", iso_code="", expected_version=1
    )
    response = merge(secretariat_client, twin, keep, stays="other", version=1)
    assert response.status_code == 409
    assert Actor.objects.count() == 2
    liaison.refresh_from_db()
    assert liaison.actor == twin


def test_a_failed_merge_leaves_everything_as_it_was(twins, monkeypatch):
    keep, twin, liaison, _ = twins

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "_lead_not_also_supporting", fail)
    with pytest.raises(RuntimeError):
        services.actor_merge(keep=keep, remove=twin, expected_versions={})
    liaison.refresh_from_db()
    assert (liaison.actor, Actor.objects.count()) == (twin, 2)
    assert twin.led_commitments.count() == 2


def test_liaisons_cannot_merge(liaison_client, twins):
    keep, twin, *_ = twins
    assert merge(liaison_client, keep, twin).status_code == 403
    assert Actor.objects.filter(pk__in=[keep.pk, twin.pk]).count() == 2


def test_themes_are_added_and_renamed_keeping_their_address(secretariat_client):
    secretariat_client.post(reverse("commitments:theme_new"), {"name": "Preventive diplomacy"})
    theme = Theme.objects.get()
    url = reverse("commitments:theme_edit", kwargs={"slug": "preventive-diplomacy"})
    secretariat_client.post(url, {"name": "Preventive diplomacy and mediation", "version": "1"})
    theme.refresh_from_db()
    assert (theme.name, theme.slug, theme.version) == (
        "Preventive diplomacy and mediation",
        "preventive-diplomacy",
        2,
    )
    assert LogEntry.objects.get_for_object(theme).count() == 2
    stale = secretariat_client.post(url, {"name": "Mediation", "version": "1"})
    assert stale.status_code == 409
    theme.refresh_from_db()
    assert theme.name == "Preventive diplomacy and mediation"


def page_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_curating_pages_cost_the_same_queries_with_more_rows(secretariat_client):
    actor = ActorFactory()
    urls = [
        reverse("commitments:theme_list"),
        reverse("commitments:actor_edit", kwargs={"slug": actor.slug}),
        reverse("commitments:actor_merge", kwargs={"slug": actor.slug}),
        reverse("commitments:actor_list"),
    ]
    ThemeFactory.create_batch(2)
    ActorFactory.create_batch(2)
    # The menu's count of reports to review is read once, then cached (commitments.submissions).
    secretariat_client.get(urls[0])
    few = [page_queries(secretariat_client, url) for url in urls]
    for theme in ThemeFactory.create_batch(20):
        CommitmentFactory().themes.add(theme)
    ActorFactory.create_batch(20)
    assert [page_queries(secretariat_client, url) for url in urls] == few
    assert max(few) <= 12


def test_after_a_merge_the_cached_pages_show_the_moved_commitments(secretariat_client, twins):
    keep, twin, *_ = twins
    assert "Twin leads" not in secretariat_client.get(keep.get_absolute_url()).content.decode()
    merge(secretariat_client, keep, twin)
    assert "Twin leads" in secretariat_client.get(keep.get_absolute_url()).content.decode()
    assert secretariat_client.get(twin.get_absolute_url()).status_code == 404
