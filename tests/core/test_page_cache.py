"""Whole logged-in pages kept per reader (core.page_cache): never shared between two readers,
never stale after a change to the reader or what they follow, bypassed when a message waits,
and served with a new, valid CSRF token each time."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from core import page_cache
from tests.factories import (
    CommitmentFactory,
    DocumentFactory,
    LiaisonFactory,
    ParagraphFactory,
    SecretariatFactory,
)
from tracker.models import User

DASHBOARD = reverse("dashboard")
TABLE = reverse("commitments:commitment_list")
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([A-Za-z0-9]{64})"')

# Session, user and the loss record (core.caching._cache_trusted): nothing else on a kept page.
KEPT_PAGE_QUERIES = 3


@pytest.fixture
def commitment(db):
    return CommitmentFactory(title="Group of Friends of Neutrality")


def page(client, url=DASHBOARD) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_two_readers_of_one_role_never_share_a_page(client, commitment):
    first, second = (
        SecretariatFactory(username="first-officer"),
        SecretariatFactory(username="second-officer"),
    )
    other = Client()
    client.force_login(first)
    other.force_login(second)
    for url in (DASHBOARD, TABLE):
        page(client, url)
        page(client, url)  # kept for the first

        shown = page(other, url)

        assert "second-officer" in shown
        assert "first-officer" not in shown


def test_a_liaison_never_gets_the_secretariats_page(client, secretariat, liaison, commitment):
    client.force_login(secretariat)
    page(client)
    assert "Delivery log" in page(client)

    client.force_login(liaison)
    shown = page(client)

    assert "Delivery log" not in shown
    assert "Turkmenistan" in shown  # the menu's link to the liaison's own state


@pytest.mark.parametrize(
    ("change", "shown"),
    [
        ({"username": "renamed-officer"}, "renamed-officer"),
        ({"language": "ru"}, '<html lang="ru">'),
        ({"role": "contributor"}, "(Contributor)"),
        ({"unread_notifications": 4}, "4 unread"),
    ],
)
def test_a_change_to_the_reader_shows_on_the_next_page(client, secretariat, change, shown):
    client.force_login(secretariat)
    page(client)
    assert shown not in page(client)

    User.objects.filter(pk=secretariat.pk).update(**change)  # no signal: no family forgotten

    assert shown in page(client)


def test_a_liaisons_new_state_shows_on_the_next_page(client, liaison, commitment):
    client.force_login(liaison)
    page(client)
    assert "Turkmenistan" in page(client)
    elsewhere = LiaisonFactory(actor__name="Kazakhstan").actor

    User.objects.filter(pk=liaison.pk).update(actor=elsewhere)

    assert "Kazakhstan" in page(client)


def test_following_shows_and_a_message_after_a_post_shows(liaison_client, liaison):
    state_page = liaison.actor.get_absolute_url()
    follow = reverse("follow_toggle", kwargs={"kind": "actor", "key": liaison.actor.slug})
    liaison_client.post(follow, {"follow": "0", "next": state_page})
    page(liaison_client, state_page)
    assert "Follow: tell me when it changes" in page(liaison_client, state_page)  # kept

    liaison_client.post(follow, {"follow": "1", "next": state_page})
    after_follow = page(liaison_client, state_page)
    page(liaison_client, state_page)
    kept = page(liaison_client, state_page)
    # Following again writes nothing, so the kept page is still current: only its message is new.
    liaison_client.post(follow, {"follow": "1", "next": state_page})
    after_again = page(liaison_client, state_page)

    assert "Following: stop" in after_follow and "You follow Turkmenistan now." in after_follow
    assert "Following: stop" in kept and "You follow" not in kept
    assert "You follow Turkmenistan now." in after_again


def test_a_kept_page_hands_out_a_new_valid_csrf_token(secretariat, commitment):
    client = Client(enforce_csrf_checks=True)
    client.force_login(secretariat)
    tokens = [TOKEN.findall(page(client)) for _ in range(3)]

    assert all(tokens)
    assert len({found[0] for found in tokens}) == 3
    switched = client.post(
        reverse("set_language"),
        {"language": "en", "next": DASHBOARD, "csrfmiddlewaretoken": tokens[-1][0]},
    )
    assert switched.status_code == 302


@pytest.mark.parametrize("url", [DASHBOARD, TABLE, f"{TABLE}?sort=status"])
def test_a_kept_page_reads_only_the_session_user_and_loss_record(
    liaison_client, commitment, url, django_assert_num_queries
):
    page(liaison_client, url)

    with django_assert_num_queries(KEPT_PAGE_QUERIES):
        page(liaison_client, url)


def test_junk_in_the_address_or_a_search_is_never_kept(secretariat_client, commitment, monkeypatch):
    kept = []
    set_entry = page_cache.cache.set

    def noted(key, *args, **kwargs):
        if ":page:" in key:
            kept.append(key)
        return set_entry(key, *args, **kwargs)

    monkeypatch.setattr(page_cache.cache, "set", noted)

    page(secretariat_client, f"{TABLE}?junk=1")
    page(secretariat_client, f"{TABLE}?q=neutrality")
    page(secretariat_client, f"{DASHBOARD}?document=junk")
    assert not kept

    page(secretariat_client, f"{TABLE}?sort=status")
    assert len(kept) == 1


def test_an_address_that_only_parses_as_the_canonical_one_is_not_kept(liaison_client, kept_keys):
    """Extra "&" or %-escapes read as the same page: kept each under its own key, they would let
    anyone fill the cache with copies of one page."""
    document = DocumentFactory()
    CommitmentFactory(paragraphs=[ParagraphFactory(document=document)])
    pk = str(document.pk)
    escaped = "".join(f"%{ord(c):02X}" for c in pk)
    dashboard = [f"document={pk}", f"document={pk}&", f"&document={pk}", f"document={escaped}"]
    table = ["sort=status", "sort=status&", "s%6Frt=status", "sort=status&&"]
    for query in dashboard:
        assert liaison_client.get(f"{DASHBOARD}?{query}").status_code == 200
    for query in table:
        assert liaison_client.get(f"{TABLE}?{query}").status_code == 200

    assert len(set(kept_keys)) == 2  # the one canonical address of each


@pytest.mark.parametrize("hole", ["@@tracker-page-csrf-token@@", "@@tracker-page-csp-nonce@@"])
def test_a_record_quoting_a_holes_marker_is_shown_as_written(liaison_client, db, hole):
    CommitmentFactory(title=f"Report back {hole} by 2026")

    for _ in range(2):  # rendered, then (were it kept) served from the cache
        assert f"Report back {hole} by 2026" in page(liaison_client, TABLE)


@pytest.mark.parametrize("url", [TABLE, "actor"])
def test_a_kept_page_is_served_as_the_bytes_first_sent(liaison_client, liaison, kept_keys, url):
    """Kept as the response's bytes cut at its holes (not text decoded, searched and encoded
    again on each hit): a page with text outside Latin-1 comes back the same, but for its new
    CSRF token."""
    CommitmentFactory(title="Доклад — о нейтралитете", slug="doklad", lead_actors=[liaison.actor])
    url = liaison.actor.get_absolute_url() if url == "actor" else url
    sent = liaison_client.get(url).content
    kept = liaison_client.get(url).content

    assert kept_keys and "Доклад — о нейтралитете".encode() in kept
    assert TOKEN.sub("", kept.decode()) == TOKEN.sub("", sent.decode())
    assert all(isinstance(part, bytes) for part in page_cache.cache.get(kept_keys[0])[1]["parts"])


def test_each_hole_of_a_kept_page_is_filled_with_this_requests_token_or_nonce(rf):
    request = rf.get(DASHBOARD)
    request.csp_nonce = "this-requests-nonce"
    kept = [b"<a>", page_cache.CSRF_HOLE, b"<b>", page_cache.NONCE_HOLE, b"<c>"]
    entry = {"parts": [*kept, page_cache.CSRF_HOLE, b""], "headers": []}

    served = page_cache._served(request, entry).content.decode()

    token = request.META["CSRF_COOKIE"]
    assert re.fullmatch(r"<a>(\w{64})<b>this-requests-nonce<c>\1", served), served
    assert token and entry["parts"][1] == page_cache.CSRF_HOLE  # the entry is left as kept
