"""Whole public pages kept for visitors (core.visitor_pages): one copy for every visitor, built
from the public record alone, never served to anyone logged in, never stale after a write to
what they show, and gone with the public site."""

import datetime
import uuid

import pytest
from django.contrib.messages import constants
from django.contrib.messages.storage.base import Message
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import caches
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory
from django.urls import reverse

from commitments import milestones, services
from commitments.models import Commitment, Document, DocumentLink, StatusUpdate
from core.models import CacheState
from tests.factories import DocumentFactory, ParagraphFactory
from tests.leak_world import MARKER, MarkedWorld

SITE_URL = "https://tracker.example.org"
# The loss record (core.caching._cache_trusted): a visitor has no session and no user row.
KEPT_PAGE_QUERIES = 1


@pytest.fixture
def world(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.TRACKER_PUBLIC_SITE = True
    settings.TRACKER_SITE_URL = SITE_URL
    return MarkedWorld()


def commitment_url(world) -> str:
    return world.commitment.get_absolute_url()


def document_url(world) -> str:
    return world.document.get_absolute_url()


def record_pages(world) -> list[str]:
    """Every page kept for visitors, as the marked record has them."""
    return [
        reverse("dashboard"),
        reverse("commitments:commitment_list"),
        reverse("commitments:commitment_list") + "?retired=on",
        world.actor.get_absolute_url(),
        commitment_url(world),
        world.retired.get_absolute_url(),
        document_url(world),
    ]


def visitor_page(url: str, client=None) -> str:
    response = (client or Client()).get(url)
    assert response.status_code == 200
    return response.content.decode()


def kept_pages() -> dict[str, str]:
    """Every visitor page in the cache, by key (the tests' cache is local memory)."""
    backend = caches["default"]
    keys = [key.split(":", 2)[2] for key in list(backend._cache) if ":tracker:visitor-page:" in key]
    return {key: backend.get(key)[1]["body"].decode() for key in keys}


def test_a_kept_page_costs_a_visitor_one_query_and_reads_the_same(world, django_assert_num_queries):
    for url in record_pages(world):
        first = visitor_page(url)
        with django_assert_num_queries(KEPT_PAGE_QUERIES):
            again = visitor_page(url)
        assert again == first, url
    assert len(kept_pages()) == len(record_pages(world))


def test_a_kept_page_is_built_from_the_public_record_alone(world):
    """The secretariat reads every page first (their parts of the page are cached too), then
    visitors: no page kept for visitors holds a marker planted in an internal field, nor a
    form's token."""
    secretariat = Client()
    secretariat.force_login(world.secretariat)
    urls = record_pages(world)
    assert MARKER in visitor_page(commitment_url(world), secretariat)
    for url in urls:
        visitor_page(url, secretariat)
        assert MARKER not in visitor_page(url)
        assert MARKER not in visitor_page(url)  # served from the cache
    kept = kept_pages()
    assert len(kept) == len(urls)
    for key, body in kept.items():
        assert MARKER not in body, key
        assert "csrfmiddlewaretoken" not in body, key
        assert "Internal note" not in body, key


def test_a_logged_in_reader_never_gets_the_visitors_page(world):
    url = commitment_url(world)
    visitor_page(url)
    visitor_page(url)
    for user in (world.secretariat, world.outside_liaison):
        reader = Client()
        reader.force_login(user)

        page = visitor_page(url, reader)

        assert '<form class="logout"' in page
        assert 'class="login-link"' not in page
    secretariat = Client()
    secretariat.force_login(world.secretariat)
    assert MARKER in visitor_page(url, secretariat)


def test_with_the_site_turned_off_a_kept_page_is_not_served(world, settings):
    url = commitment_url(world)
    visitor_page(url)
    settings.TRACKER_PUBLIC_SITE = False

    response = Client().get(url)

    assert response.status_code == 302
    assert response.url.startswith("/login/")


def test_a_visitor_with_a_message_waiting_reads_it_and_it_is_not_kept(world):
    url = commitment_url(world)
    visitor_page(url)
    with_message = Client()
    storage = CookieStorage(RequestFactory().get("/"))
    with_message.cookies["messages"] = storage._encode([Message(constants.INFO, "A note for you")])

    assert "A note for you" in visitor_page(url, with_message)
    assert "A note for you" not in visitor_page(url)
    assert all("A note for you" not in body for body in kept_pages().values())


def test_only_a_canonical_address_is_kept(world, monkeypatch):
    """An address the view reads as another (junk, a page past the last) is served, not kept."""
    monkeypatch.setattr("commitments.views.TIMELINE_PAGE_SIZE", 1)
    url = commitment_url(world)
    for junk in ("?utm_source=x", "?page=abc", "?page=01", "?page=999", "?page=2&page=2"):
        visitor_page(url + junk)
    assert kept_pages() == {}

    visitor_page(url + "?page=2")

    assert len(kept_pages()) == 1


def test_a_kept_page_is_not_served_while_an_invalidation_is_lost(world):
    """A write whose invalidation never reached the cache (core.caching): its page is made anew."""
    url = commitment_url(world)
    visitor_page(url)
    Commitment.objects.filter(pk=world.commitment.pk).update(title="A title the cache missed")
    CacheState.objects.update_or_create(pk=1, defaults={"invalidation_lost": uuid.uuid4()})

    assert "A title the cache missed" in visitor_page(url)


def test_each_language_and_day_has_its_own_page(world, time_machine):
    url = document_url(world)
    # Within the entries' TRACKER_CACHE_TIMEOUT (60 s), so that only the day can make it anew.
    time_machine.move_to(datetime.datetime(2026, 3, 5, 23, 59, 40, tzinfo=datetime.UTC))
    english = visitor_page(url)
    russian = visitor_page(url, Client(headers={"accept-language": "ru"}))
    assert "retrieved 5 March 2026" in english and "Как цитировать:" in russian
    time_machine.move_to(datetime.datetime(2026, 3, 6, 0, 0, 10, tzinfo=datetime.UTC))

    assert "retrieved 6 March 2026" in visitor_page(url)


# --- A write shows on the next visitor's page ------------------------------------------------


def public_update(world):
    services.status_update_create(
        commitment=world.commitment,
        author=world.secretariat,
        status="in_progress",
        progress=None,  # the milestones' figure
        narrative="Fresh public news.",
        happened_on=datetime.date(2021, 9, 1),
        visibility=StatusUpdate.Visibility.PUBLIC,
    )
    return commitment_url(world), "Fresh public news."


def correction(world):
    services.status_update_correct(
        update=world.public,
        author=world.secretariat,
        status="in_progress",
        progress=None,
        narrative="The group met in Geneva.",
        reason="The place was wrong.",
        expected_version=world.version(),
    )
    return commitment_url(world), "The group met in Geneva."


def withdrawal(world):
    services.status_update_withdraw(
        update=world.public,
        author=world.secretariat,
        reason="It was another group.",
        reason_public=True,
        expected_version=world.version(),
    )
    return commitment_url(world), "It was another group."


def milestone_added(world):
    milestones.milestone_create(
        commitment=world.commitment, author=world.secretariat, title="Fresh milestone", weight=1
    )
    return commitment_url(world), "Fresh milestone"


def milestone_done(world):
    step = world.commitment.milestones.get(title="Planned step")
    milestones.milestone_done(
        milestone=step,
        author=world.secretariat,
        done_on=datetime.date(2021, 10, 1),
        evidence_url="https://example.org/proof-of-the-step",
        expected_version=step.version,
    )
    return commitment_url(world), "https://example.org/proof-of-the-step"


def evidence_file(world):
    upload = SimpleUploadedFile("agenda.pdf", b"%PDF-1.4 agenda", "application/pdf")
    services.evidence_file_attach(update=world.public, upload=upload, title="Fresh agenda")
    return commitment_url(world), "Fresh agenda"


def document_edit(world):
    document = world.document
    services.document_update(
        document=document, expected_version=document.version, title="Renamed final document"
    )
    return document_url(world), "Renamed final document"


def document_title_on_the_commitment(world):
    url, title = document_edit(world)
    return commitment_url(world), title


def document_link(world):
    services.document_link_create(
        from_document=Document.objects.get(short_name="follow-up"),
        to_document=world.document,
        kind=DocumentLink.Kind.FOLLOWS_UP,
        author=world.secretariat,
    )
    return document_url(world), "A follow-up declaration"


def paragraph_edit(world):
    world.paragraph.text = "A paragraph as amended."
    world.paragraph.save()
    return document_url(world), "A paragraph as amended."


def new_paragraph(world):
    ParagraphFactory(document=world.document, number=6, text="A sixth paragraph.")
    return document_url(world), "A sixth paragraph."


def actor_rename(world):
    actor = world.actor
    services.actor_update(
        actor=actor,
        name="Renamed State",
        kind=actor.kind,
        iso_code=actor.iso_code,
        expected_version=actor.version,
    )
    return commitment_url(world), "Renamed State"


def owner_rename(world):
    world.secretariat.first_name = "Bahar"
    world.secretariat.save()
    return commitment_url(world), "Bahar"


def retired(world):
    services.commitment_retire(
        commitment=world.commitment,
        expected_version=world.version(),
        reason="Done with.",
        retired_by=world.secretariat,
        retired_on=datetime.date(2022, 2, 2),
    )
    return commitment_url(world), "Done with."


def retired_on_the_document(world):
    retired(world)
    return document_url(world), 'Neutrality</a> <span class="badge badge-retired">'


WRITES = [
    public_update,
    correction,
    withdrawal,
    milestone_added,
    milestone_done,
    evidence_file,
    document_edit,
    document_title_on_the_commitment,
    document_link,
    paragraph_edit,
    new_paragraph,
    actor_rename,
    owner_rename,
    retired,
    retired_on_the_document,
]


@pytest.mark.parametrize("write", WRITES, ids=lambda write: write.__name__)
def test_a_write_shows_on_the_next_visitors_page(world, write):
    milestones.milestone_create(
        commitment=world.commitment, author=world.secretariat, title="Planned step", weight=1
    )
    DocumentFactory(title="A follow-up declaration", short_name="follow-up")
    pages = {url: visitor_page(url) for url in (commitment_url(world), document_url(world))}
    for url in pages:
        assert visitor_page(url) == pages[url]  # kept

    url, shown = write(world)

    assert shown not in pages[url]
    assert shown in visitor_page(url)


@pytest.mark.parametrize(
    "name", ["dashboard", "commitments:commitment_list", "commitments:actor_detail"]
)
def test_a_write_shows_on_the_next_visitors_list(world, name):
    url = world.actor.get_absolute_url() if "actor" in name else reverse(name)
    before = visitor_page(url)
    assert visitor_page(url) == before  # kept

    services.commitment_update(
        commitment=world.commitment,
        expected_version=world.version(),
        values={"title": "A group renamed"},
    )

    assert "A group renamed" not in before
    assert "A group renamed" in visitor_page(url)
