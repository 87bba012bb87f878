"""A commitment's page and a document's page kept whole per reader (core.page_cache): each
reader gets only their own page, a kept page is served from the session, the user and the loss
record alone, and every write that changes what the page shows, the version its forms carry
included, shows on the next request."""

import datetime
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from commitments import milestones, services, submissions
from commitments.importers import document_import
from commitments.models import Commitment, CommitmentRelation, Document, Milestone
from tests.factories import (
    ActorFactory,
    CommitmentFactory,
    ContributorFactory,
    DocumentFactory,
    LiaisonFactory,
    ParagraphFactory,
    SecretariatFactory,
    ThemeFactory,
    post_status_update,
)

# Session, user and the loss record (core.caching._cache_trusted): nothing else on a kept page.
KEPT_PAGE_QUERIES = 3
DAY = datetime.date(2021, 4, 16)
VERSION = re.compile(r'name="version" value="(\d+)"')


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def world(db, secretariat, liaison):
    """A commitment of the liaison's state (Turkmenistan) from ¶1 of a document, with one
    public and one internal update; the secretariat and the liaison logged in each on a client."""
    document = DocumentFactory(title="Ashgabat final document", short_name="ashgabat-final")
    paragraph = ParagraphFactory(document=document, number=1, text="Encourages a forum.")
    commitment = CommitmentFactory(
        title="A UN office", paragraphs=[paragraph], lead_actors=[liaison.actor]
    )
    theme = ThemeFactory(name="Peace")
    commitment.themes.add(theme)
    commitment.supporting_actors.add(ActorFactory(name="Neutral State"))
    DocumentFactory(title="Tashkent declaration", short_name="tashkent")
    update = post_status_update(commitment, secretariat, narrative="Talks began.", happened_on=DAY)
    post_status_update(commitment, secretariat, narrative="Secret step.", visibility="internal")
    commitment.refresh_from_db()
    clients = {"secretariat": Client(), "liaison": Client()}
    clients["secretariat"].force_login(secretariat)
    clients["liaison"].force_login(liaison)
    return {
        "document": document,
        "paragraph": paragraph,
        "commitment": commitment,
        "theme": theme,
        "update": update,
        "secretariat": secretariat,
        "liaison": liaison,
        "clients": clients,
    }


def shown(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def queries_of(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        shown(client, url)
    return len(queries)


def kept(client, url) -> str:
    """The page, asked for until it is served as kept (a first request keeps it)."""
    shown(client, url)
    with CaptureQueriesContext(connection) as queries:
        page = shown(client, url)
    assert len(queries) == KEPT_PAGE_QUERIES, "the page was not kept"
    return page


def fresh(commitment) -> Commitment:
    return Commitment.objects.get(pk=commitment.pk)


# -- each reader gets their own page -----------------------------------------------------------


def test_a_liaison_never_gets_the_secretariats_kept_page(world):
    url = world["commitment"].get_absolute_url()
    secretariat_page = kept(world["clients"]["secretariat"], url)
    assert "Secret step." in secretariat_page
    assert "Post a status update" in secretariat_page
    assert "Change history" in secretariat_page

    for page in (shown(world["clients"]["liaison"], url), kept(world["clients"]["liaison"], url)):
        assert "Talks began." in page
        assert "Secret step." not in page
        assert "Post a status update" not in page and 'name="version"' not in page
        assert "Change history" not in page
        assert "Report progress" in page  # on what concerns their state
        assert ">diplomat</a>" in page and ">officer</a>" not in page


@pytest.mark.parametrize(
    "reader",
    [
        lambda: LiaisonFactory(username="other-diplomat", actor__name="Kazakhstan"),
        lambda: ContributorFactory(username="researcher", actor__name="Neutrality Institute"),
    ],
    ids=["liaison-of-another-state", "contributor"],
)
def test_another_reader_never_gets_a_kept_page_of_someone_else(world, reader):
    person = reader()  # first: a new user row is a write, after which no kept page is served
    url = world["commitment"].get_absolute_url()
    kept(world["clients"]["secretariat"], url)
    kept(world["clients"]["liaison"], url)
    client = Client()
    client.force_login(person)

    for page in (shown(client, url), kept(client, url)):
        assert person.username in page
        assert ">diplomat</a>" not in page and ">officer</a>" not in page
        assert "Secret step." not in page and "Change history" not in page
        # A contributor reports on any commitment, a liaison on their own state's only.
        assert ("Report progress" in page) == (person.role == "contributor")


def test_the_document_page_is_kept_per_reader(world):
    url = world["document"].get_absolute_url()
    secretariat_page = kept(world["clients"]["secretariat"], url)
    assert "Track ¶1" in secretariat_page and "Link to another document" in secretariat_page

    for page in (shown(world["clients"]["liaison"], url), kept(world["clients"]["liaison"], url)):
        assert "A UN office" in page
        assert "Track ¶1" not in page and "Link to another document" not in page


@pytest.mark.parametrize("role", ["secretariat", "liaison"])
def test_a_kept_commitment_or_document_page_reads_only_the_session_user_and_loss_record(
    world, role
):
    client = world["clients"][role]
    for url in (world["commitment"].get_absolute_url(), world["document"].get_absolute_url()):
        shown(client, url)
        assert queries_of(client, url) == KEPT_PAGE_QUERIES


def test_a_commitment_with_many_updates_keeps_each_page_of_its_history(world):
    from commitments import views

    commitment, secretariat = world["commitment"], world["secretariat"]
    for n in range(views.TIMELINE_PAGE_SIZE + 1):
        post_status_update(commitment, secretariat, narrative=f"Step {n}.", happened_on=DAY)
    client = world["clients"]["liaison"]
    url = commitment.get_absolute_url()

    first, second = kept(client, url), kept(client, f"{url}?page=2")

    assert "Step 50." in first and "Step 50." not in second
    assert "Talks began." in second and "Page 2 of 2" in second


def test_a_history_page_is_kept_only_under_the_address_its_links_write(world, kept_keys):
    commitment, secretariat = world["commitment"], world["secretariat"]
    for n in range(60):
        post_status_update(commitment, secretariat, narrative=f"Step {n}.", happened_on=DAY)
    client = world["clients"]["liaison"]
    url = commitment.get_absolute_url()
    # Each of these shows a page of the history, none as the pagination links write it.
    for query in ("page=02", "page=9", "page=x", "page=2&", "page=2&tab=x", "tab=1"):
        assert client.get(f"{url}?{query}").status_code == 200
    assert client.get(f"{world['document'].get_absolute_url()}?page=2").status_code == 200
    assert not kept_keys

    for query in ("page=2", "page=1"):
        shown(client, f"{url}?{query}")

    assert len(set(kept_keys)) == 2


def listed(page: str) -> str:
    """An actor page's list of commitments, without its recent updates."""
    return page[page.index('id="involved-heading"') : page.index('id="recent-heading"')]


def test_an_actor_page_keeps_each_of_its_pages_under_the_address_its_links_write(
    world, kept_keys, monkeypatch
):
    from commitments import views

    monkeypatch.setattr(views, "ACTOR_PAGE_SIZE", 1)
    state = world["liaison"].actor
    CommitmentFactory(title="A second office", lead_actors=[state])
    client = world["clients"]["liaison"]
    url = state.get_absolute_url()
    # Each of these shows a page of the state's two, none as the page links write it.
    for query in ("page=02", "page=9", "page=x", "page=", "page=2&", "page=2&page=2", "tab=1"):
        assert client.get(f"{url}?{query}").status_code == 200
    assert not kept_keys

    first, second = (listed(kept(client, url + query)) for query in ("", "?page=2"))

    assert "A UN office" in first and "A second office" not in first
    assert "A second office" in second and "A UN office" not in second
    assert "Page 2 of 2" in second
    assert len(set(kept_keys)) == 2


# -- a write shows on the next page, with the version the forms must carry ---------------------


def update_form(commitment, **fields) -> dict:
    return {
        "status": "in_progress",
        "progress": "60",
        "progress_reason": "Three of five workshops.",
        "happened_on": "2021-05-01",
        "narrative": "Workshops held in Ashgabat.",
        "visibility": "public",
        "version": str(fresh(commitment).version),
        "link_1_title": "Turkmenistan.ru",
        "link_1_url": "https://example.org/18856",
    } | fields


def status_update(world):
    client, commitment = world["clients"]["secretariat"], world["commitment"]
    response = client.post(commitment.get_absolute_url(), update_form(commitment))
    assert response.status_code == 302
    return "Workshops held in Ashgabat."


def evidence_added(world):
    status_update(world)
    return 'href="https://example.org/18856"'


def correction(world):
    services.status_update_correct(
        update=world["update"],
        author=world["secretariat"],
        status="in_progress",
        progress=45,
        progress_reason="Two of five.",
        narrative="Talks began in earnest.",
        reason="A typo.",
        reason_public=True,
        expected_version=fresh(world["commitment"]).version,
    )
    return "Talks began in earnest."


def withdrawal(world):
    services.status_update_withdraw(
        update=world["update"],
        author=world["secretariat"],
        reason="Posted twice.",
        reason_public=True,
        expected_version=fresh(world["commitment"]).version,
    )
    return "Posted twice."


def milestone_added(world):
    milestones.milestone_create(
        commitment=world["commitment"], author=world["secretariat"], title="Office rented", weight=1
    )
    return "Office rented"


def milestone_done(world):
    milestone_added(world)
    milestone = Milestone.objects.get(title="Office rented")
    milestones.milestone_done(
        milestone=milestone,
        author=world["secretariat"],
        done_on=DAY,
        evidence_url="https://example.org/lease",
        expected_version=milestone.version,
    )
    return 'href="https://example.org/lease"'


def milestone_saved_alone(world):
    """A milestone written without its services (the admin, a shell): its save tells the
    families (core.caching.SOURCES)."""
    Milestone.objects.create(commitment=world["commitment"], position=1, title="Staff hired")
    return "Staff hired"


def relation_added(world):
    other = CommitmentFactory(title="A regional centre")
    services.commitment_relation_add(
        from_commitment=world["commitment"],
        to_commitment=other,
        kind=CommitmentRelation.Kind.DEPENDS_ON,
    )
    return "A regional centre"


def report_published(world):
    values = {"status": "in_progress", "progress": 50, "happened_on": DAY, "narrative": "Ours."}
    report = submissions.report_create(
        commitment=world["commitment"], author=world["liaison"], values=values
    )
    report = submissions.report_submit(report=report, expected_version=report.version)
    submissions.report_publish(
        report=report, reviewer=world["secretariat"], expected_version=report.version
    )
    return "Reported by Turkmenistan"


def commitment_edited(world):
    commitment = world["commitment"]
    services.commitment_update(
        commitment=commitment,
        expected_version=fresh(commitment).version,
        values={"title": "A UN regional office"},
    )
    return "A UN regional office"


def commitment_retired(world):
    commitment = world["commitment"]
    services.commitment_retire(
        commitment=commitment,
        expected_version=fresh(commitment).version,
        reason="Merged into another.",
        retired_by=world["secretariat"],
        retired_on=DAY,
    )
    return "Merged into another."


def actor_renamed(world):
    actor = world["liaison"].actor
    services.actor_update(
        actor=actor, name="Türkmenistan", kind=actor.kind, iso_code="TM", expected_version=1
    )
    return "Türkmenistan"


def actor_merged(world):
    removed = world["commitment"].supporting_actors.get()
    keep = world["liaison"].actor
    keep.refresh_from_db()
    services.actor_merge(
        keep=keep,
        remove=removed,
        expected_versions={keep.pk: keep.version, removed.pk: removed.version},
    )
    # The state kept leads it already, so it does not support it too.
    return "<dt>Supporting actors</dt><dd>None named</dd>"


def theme_renamed(world):
    theme = world["theme"]
    services.theme_update(theme=theme, name="Peace and trust", expected_version=theme.version)
    return "Peace and trust"


def owner_renamed(world):
    owner = world["commitment"].owner
    owner.first_name, owner.last_name = "Aylar", "Orazova"
    owner.save(update_fields=["first_name", "last_name"])
    return "Aylar Orazova"


def document_edited(world):
    document = world["document"]
    services.document_update(
        document=document, expected_version=document.version, title="Ashgabat outcome document"
    )
    return "Ashgabat outcome document"


def document_linked(world):
    other = Document.objects.get(short_name="tashkent")
    services.document_link_create(
        from_document=world["document"], to_document=other, kind="follows_up", author=None
    )
    return f'follows up <a href="{other.get_absolute_url()}">Tashkent declaration</a>'


# (what is written, the page that shows it)
WRITES = [
    (status_update, "commitment"),
    (evidence_added, "commitment"),
    (correction, "commitment"),
    (withdrawal, "commitment"),
    (milestone_added, "commitment"),
    (milestone_done, "commitment"),
    (milestone_saved_alone, "commitment"),
    (relation_added, "commitment"),
    (report_published, "commitment"),
    (commitment_edited, "commitment"),
    (commitment_retired, "commitment"),
    (actor_renamed, "commitment"),
    (actor_merged, "commitment"),
    (theme_renamed, "commitment"),
    (owner_renamed, "commitment"),
    (document_edited, "commitment"),
    (document_edited, "document"),
    (document_linked, "document"),
]


@pytest.mark.parametrize(("write", "page"), WRITES, ids=[f"{w.__name__}-{p}" for w, p in WRITES])
def test_a_write_shows_on_the_next_kept_page(world, write, page):
    url = world[page].get_absolute_url()
    before = [kept(client, url) for client in world["clients"].values()]

    text = write(world)

    assert not any(text in kept_page for kept_page in before)

    for role, client in world["clients"].items():
        after = shown(client, url)
        assert text in after, role
        # The status update form carries the version a post is checked against.
        versions = VERSION.findall(after)
        if role == "secretariat" and page == "commitment" and "Retired on" not in after:
            assert versions == [str(fresh(world["commitment"]).version)]


def test_a_document_reimported_shows_its_new_text_on_both_pages(world, secretariat):
    text = "\n".join(
        [
            "Ashgabat final document",
            "",
            "1. Encourages a forum on neutrality.",
            "",
            "2. Welcomes the office.",
        ]
    )
    document = world["document"]
    pages = [document.get_absolute_url(), world["commitment"].get_absolute_url()]
    for url in pages:
        kept(world["clients"]["liaison"], url)

    document_import(text=text, short_name=document.short_name)

    for url in pages:
        assert "Encourages a forum on neutrality." in shown(world["clients"]["liaison"], url)


@pytest.mark.parametrize("page", ["commitment", "document"])
def test_following_and_unfollowing_show_on_the_next_kept_page(world, page):
    client, target = world["clients"]["liaison"], world[page]
    url = target.get_absolute_url()
    key = target.slug if page == "commitment" else target.short_name
    toggle = reverse("follow_toggle", kwargs={"kind": page, "key": key})
    assert "Follow: tell me when it changes" in kept(client, url)

    client.post(toggle, {"follow": "1", "next": url})
    shown(client, url)  # with its message, not kept
    assert "Following: stop" in kept(client, url)

    client.post(toggle, {"follow": "0", "next": url})
    shown(client, url)
    assert "Follow: tell me when it changes" in kept(client, url)


def test_a_new_secretariat_reader_gets_the_current_version(world):
    """Two officers: the second's first page is rendered anew, never the first's kept one."""
    officer = SecretariatFactory(username="second-officer")
    url = world["commitment"].get_absolute_url()
    kept(world["clients"]["secretariat"], url)
    status_update(world)
    shown(world["clients"]["secretariat"], url)  # with its message, not kept
    kept(world["clients"]["secretariat"], url)
    other = Client()
    other.force_login(officer)

    page = shown(other, url)

    assert VERSION.findall(page) == [str(fresh(world["commitment"]).version)]
    assert "second-officer" in page


TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([A-Za-z0-9]{64})"')


def test_a_kept_commitment_page_posts_with_its_new_token_and_current_version(world, secretariat):
    """Every form on a kept page (the update form, the follow and language buttons, the
    milestones' and relations' buttons) carries the token put in for this request."""
    relation_added(world)
    milestone_added(world)
    client = Client(enforce_csrf_checks=True)
    client.force_login(secretariat)
    url = world["commitment"].get_absolute_url()

    page = kept(client, url)

    tokens = TOKEN.findall(page)
    assert len(tokens) >= 5 and len(set(tokens)) == 1
    form = update_form(world["commitment"], csrfmiddlewaretoken=tokens[0])
    del form["progress"], form["progress_reason"]  # the milestones give the figure
    form["version"] = VERSION.findall(page)[0]
    assert client.post(url, form).status_code == 302
