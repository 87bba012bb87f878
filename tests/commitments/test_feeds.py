"""The Atom feeds of the public record's changes (commitments.feeds, docs/feeds.md): the whole
record, one commitment, one actor's commitments. Always the public record, whoever asks."""

import datetime
import xml.etree.ElementTree as ET
from types import SimpleNamespace

import pytest
from django.urls import reverse

from commitments.models import Source, StatusUpdate
from tests.commitments.test_amendments import correct, withdraw
from tests.factories import (
    ActorFactory,
    CommitmentFactory,
    LiaisonFactory,
    SecretariatFactory,
    StatusUpdateFactory,
)
from tests.factories import post_status_update as post

ATOM = "{http://www.w3.org/2005/Atom}"
INTERNAL = StatusUpdate.Visibility.INTERNAL
# Planted where no feed may reach: an internal update, an internal withdrawal reason, a
# withdrawn internal update, a person's email address.
MARKERS = ("INTERNAL-NOTE-7f3", "INTERNAL-REASON-9c1", "INTERNAL-WITHDRAWN-2b8", "@example.org")

pytestmark = pytest.mark.django_db


@pytest.fixture
def record():
    """A state leading one commitment and supporting another, a third it has nothing to do
    with; public, internal, corrected, withdrawn and other-source updates."""
    officer = SecretariatFactory(first_name="Aman", last_name="Officer")
    state = ActorFactory(name="Turkmenistan")
    office = CommitmentFactory(title="UN OCHA office", lead_actors=[state])
    centre = CommitmentFactory(title="Research centre")
    centre.supporting_actors.set([state])
    forum = CommitmentFactory(title="Neutrality forum")
    opened = post(office, officer, narrative="The office was announced.")
    corrected = correct(opened, officer, reason="PUBLIC-REASON-4d2", reason_public=True)
    post(office, officer, narrative="INTERNAL-NOTE-7f3", visibility=INTERNAL)
    mistaken = post(centre, officer, narrative="A statement that was mistaken.")
    withdrawal = withdraw(mistaken, officer, reason="INTERNAL-REASON-9c1")
    hidden = post(centre, officer, narrative="INTERNAL-WITHDRAWN-2b8", visibility=INTERNAL)
    withdraw(hidden, officer, reason="INTERNAL-WITHDRAWN-2b8", reason_public=True)
    institute = ActorFactory(name="Neutrality Institute", kind="organisation")
    other = post(
        office,
        officer,
        narrative="The institute saw the office open.",
        source=Source.CONTRIBUTOR,
        reported_by=institute,
    )
    elsewhere = post(forum, officer, narrative="The forum met in Ashgabat.")
    return SimpleNamespace(
        officer=officer,
        state=state,
        office=office,
        centre=centre,
        forum=forum,
        opened=opened,
        corrected=corrected,
        mistaken=mistaken,
        withdrawal=withdrawal,
        other=other,
        elsewhere=elsewhere,
    )


@pytest.fixture
def public_site(settings):
    settings.TRACKER_PUBLIC_SITE = True
    settings.TRACKER_SITE_URL = "https://tracker.example.net"


def atom(response) -> ET.Element:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)
    assert feed.tag == f"{ATOM}feed"
    for child in ("id", "title", "updated"):
        assert feed.find(f"{ATOM}{child}").text, child
    for entry in feed.findall(f"{ATOM}entry"):
        for child in ("id", "title", "updated", "summary", "author/" + ATOM + "name"):
            assert entry.find(f"{ATOM}{child}").text, child
        assert entry.find(f"{ATOM}link").get("href")
    return feed


def entries(feed: ET.Element) -> dict[str, ET.Element]:
    """The feed's entries by the update each stands for (its id's last part)."""
    return {e.find(f"{ATOM}id").text.rsplit("-", 1)[1]: e for e in feed.findall(f"{ATOM}entry")}


def text(entry: ET.Element, child: str) -> str:
    return entry.find(f"{ATOM}{child}").text


def test_the_site_feed_lists_public_changes_newest_first(client, record, public_site):
    feed = atom(client.get("/feeds/changes.atom"))
    found = entries(feed)
    public = [record.elsewhere, record.other, record.withdrawal, record.mistaken]
    public += [record.corrected, record.opened]
    assert list(found) == [str(u.pk) for u in public]  # newest recorded first, nothing else
    assert text(feed, "id") == "https://tracker.example.net/feeds/changes.atom"
    opened = found[str(record.opened.pk)]
    day = f"{record.opened.happened_on.day} {record.opened.happened_on:%B %Y}"
    assert text(opened, "title") == f"{day}: UN OCHA office: New public update: In progress, 40%"
    assert text(opened, "id").startswith("tag:tracker.example.net,")
    assert opened.find(f"{ATOM}link").get("href") == (
        f"https://tracker.example.net/commitments/un-ocha-office/#update-{record.opened.pk}"
    )
    assert text(opened, "updated") == record.opened.recorded_at.isoformat()
    assert "The office was announced." in text(opened, "summary")


def test_corrections_withdrawals_and_other_sources_read_as_on_the_pages(
    client, record, public_site
):
    found = entries(atom(client.get("/feeds/changes.atom")))
    correction = found[str(record.corrected.pk)]
    assert "corrected: now Achieved, 100%" in text(correction, "title")
    assert "PUBLIC-REASON-4d2" in text(correction, "summary")  # the secretariat made it public
    withdrawal = found[str(record.withdrawal.pk)]
    assert text(withdrawal, "title").endswith(": Research centre: A public update was withdrawn")
    assert "was withdrawn" in text(withdrawal, "summary")
    assert withdrawal.find(f"{ATOM}link").get("href").endswith(f"#update-{record.mistaken.pk}")
    other = found[str(record.other.pk)]
    assert "Other source: reported by Neutrality Institute" in text(other, "title")
    assert text(other, f"author/{ATOM}name") == "Neutrality Institute"
    assert text(found[str(record.opened.pk)], f"author/{ATOM}name") == "The secretariat"


@pytest.mark.parametrize("who", ["anonymous", "liaison", "secretariat"])
def test_no_feed_shows_anything_internal_or_an_email_whoever_reads(
    client, record, public_site, who
):
    """A feed reader is shared: the secretariat gets the public record too."""
    if who != "anonymous":
        client.force_login(record.officer if who == "secretariat" else LiaisonFactory())
    for url in (
        "/feeds/changes.atom",
        reverse("commitments:commitment_changes_feed", args=[record.office.slug]),
        reverse("commitments:commitment_changes_feed", args=[record.centre.slug]),
        reverse("commitments:actor_changes_feed", args=[record.state.slug]),
    ):
        body = client.get(url).content.decode()
        atom(client.get(url))
        assert [m for m in MARKERS if m in body] == [], url
        assert "Aman" not in body  # the officer's name: the secretariat is the author


def test_a_commitment_feed_lists_that_commitment_only(client, record, public_site):
    url = reverse("commitments:commitment_changes_feed", args=[record.office.slug])
    assert url == "/commitments/un-ocha-office/changes.atom"
    feed = atom(client.get(url))
    office_changes = (record.other, record.corrected, record.opened)
    assert list(entries(feed)) == [str(u.pk) for u in office_changes]
    assert feed.find(f"{ATOM}link[@rel='alternate']").get("href") == (
        "https://tracker.example.net/commitments/un-ocha-office/"
    )


def test_an_actor_feed_lists_the_commitments_it_leads_or_supports(client, record, public_site):
    url = reverse("commitments:actor_changes_feed", args=[record.state.slug])
    assert url == "/actors/turkmenistan/changes.atom"
    found = entries(atom(client.get(url)))
    assert str(record.withdrawal.pk) in found  # the centre, which it supports
    assert str(record.opened.pk) in found  # the office, which it leads
    assert str(record.elsewhere.pk) not in found


@pytest.mark.parametrize("name", ["commitment_changes_feed", "actor_changes_feed"])
def test_an_unknown_slug_is_not_found(client, record, public_site, name):
    assert client.get(reverse(f"commitments:{name}", args=["no-such-thing"])).status_code == 404


def test_anonymous_visitors_are_sent_to_log_in_while_the_public_site_is_off(client, record):
    response = client.get("/feeds/changes.atom")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_shared_cache_may_keep_a_feed_five_minutes(client, record, public_site):
    response = client.get(reverse("commitments:actor_changes_feed", args=[record.state.slug]))
    assert set(response["Cache-Control"].split(", ")) == {"public", "max-age=300"}


def test_a_feed_is_bounded_and_its_queries_do_not_grow(
    client, public_site, django_assert_max_num_queries
):
    commitment = CommitmentFactory()
    day = datetime.date(2021, 1, 1)
    for n in range(55):
        StatusUpdateFactory(commitment=commitment, happened_on=day, narrative=f"Entry {n}.")
    url = reverse("commitments:commitment_changes_feed", args=[commitment.slug])
    with django_assert_max_num_queries(2):  # the commitment, the entries
        feed = atom(client.get(url))
    assert len(feed.findall(f"{ATOM}entry")) == 50
    assert "Entry 54." in text(feed.find(f"{ATOM}entry"), "summary")


@pytest.mark.parametrize("page", ["dashboard", "commitment", "actor"])
def test_the_pages_point_to_their_feeds(client, record, page):
    client.force_login(LiaisonFactory())
    urls = {
        "dashboard": (reverse("dashboard"), "/feeds/changes.atom"),
        "commitment": (
            record.office.get_absolute_url(),
            "/commitments/un-ocha-office/changes.atom",
        ),
        "actor": (record.state.get_absolute_url(), "/actors/turkmenistan/changes.atom"),
    }
    page_url, feed_url = urls[page]
    html = client.get(page_url).content.decode()
    assert f'<link rel="alternate" type="application/atom+xml" href="{feed_url}"' in html
    if page != "dashboard":  # and a link a person sees
        assert f'<a href="{feed_url}" type="application/atom+xml">Atom feed</a>' in html


def test_every_page_shows_a_link_to_the_whole_records_feed(client, record, public_site):
    """In the footer, for visitors and every role: the <link> in the head is for programs."""
    html = client.get(reverse("commitments:document_list")).content.decode()
    footer = html[html.index('<footer class="site-footer">') :]

    assert '<a href="/feeds/changes.atom" type="application/atom+xml">' in footer


def test_a_feed_is_in_the_readers_language(client, record, public_site):
    response = client.get("/feeds/changes.atom", HTTP_ACCEPT_LANGUAGE="ru")
    feed = atom(response)
    assert text(feed, "title") == "Изменения в открытых сведениях"
    assert "Обновление от 1 марта 2021 отозвано." in response.content.decode()


def test_a_reader_asking_again_with_the_etag_gets_not_modified(client, record, public_site):
    first = client.get("/feeds/changes.atom")
    again = client.get("/feeds/changes.atom", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304


def test_an_entry_says_the_day_it_happened_not_the_day_it_was_recorded(
    client, record, public_site, time_machine
):
    """An update of 2021 recorded today (as the demo's are) is not today's news; a correction
    or withdrawal happened the day it was recorded."""
    time_machine.move_to(datetime.datetime(2026, 3, 5, 10, tzinfo=datetime.UTC))
    officer, office = record.officer, record.office
    old = post(office, officer, narrative="Met in 2021.", happened_on=datetime.date(2021, 4, 16))
    old.commitment.refresh_from_db()
    withdraw(old, officer, reason="A mistake.")

    found = entries(atom(client.get("/feeds/changes.atom")))
    assert text(found[str(old.pk)], "title").startswith("16 April 2021: UN OCHA office: ")
    withdrawal = [
        e for e in found.values() if "office: A public update was withdrawn" in text(e, "title")
    ][0]
    assert text(withdrawal, "title").startswith("5 March 2026: UN OCHA office: ")
    assert "The update of 16 April 2021 was withdrawn." in text(withdrawal, "summary")
