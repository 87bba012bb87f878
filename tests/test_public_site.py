"""The public site (core.public_site, docs/public-site.md): what anonymous visitors read with
TRACKER_PUBLIC_SITE on, that it is exactly what a liaison reads of the public record, that
every other page still asks them to log in, citable addresses, shared caching, robots and the
sitemap."""

import datetime
import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import resolve, reverse

from commitments.models import StatusUpdate
from core.local_time import format_day
from core.public_site import is_public_record
from tests.factories import (
    DocumentFactory,
    ParagraphFactory,
)
from tests.leak_world import MarkedWorld
from tests.site_urls import World, url_for
from tests.test_roles import EXPECTED, ROLES, client_for, give_csrf_token

SITE_URL = "https://tracker.example.org"

# The public record's pages: what an anonymous visitor gets with the site on (GET, POST with
# a CSRF token). POSTs are refused as a liaison's are (403 on the record's pages, 405 where
# only reading is allowed) and write nothing. tests/test_roles.py has them with the site off.
# fmt: off
PUBLIC_EXPECTED = {
    "dashboard":                          (200, 403),
    "commitments:commitment_list":        (200, 403),
    "commitments:filter_choices":         (200, 403),
    "commitments:commitment_detail":      (200, 403),
    "commitments:document_list":          (200, 403),
    "commitments:document_detail":        (200, 403),
    "commitments:document_report":        (200, 403),
    "commitments:document_report_pdf":    (200, 403),
    "commitments:actor_list":             (200, 403),
    "commitments:actor_detail":           (200, 403),
    "commitments:evidence_file":          (200, 403),
    "commitments:evidence_file#internal": (404, 403),
    "event_list":                         (200, 405),
    "event_month":                        (200, 405),
    "event_detail":                       (200, 405),
    "event_detail#private":               (404, 405),
    # Atom feeds of published changes (commitments.feeds, docs/feeds.md).
    "commitments:changes_feed":           (200, 403),
    "commitments:commitment_changes_feed": (200, 403),
    "commitments:actor_changes_feed":     (200, 403),
    # The open-data bundle's page and its published zips (tracker.open_data, docs/open-data.md).
    "open_data":                          (200, 405),
    "open_data_download":                 (200, 405),
    "open_data_download#unknown":         (404, 405),
}
# fmt: on
# Open to everyone whatever the setting, answering differently with it (tests below).
SITE_FILES = {"robots_txt", "sitemap", "favicon"}
# The API decides anonymous reads itself, with the same setting (tests/api).
API_PREFIX = "api:"


def anonymous_status(key: str) -> tuple[int, int]:
    return EXPECTED[key][ROLES.index("anonymous")]


def view_of(key: str, world: World):
    return resolve(url_for(key, world)).func


@pytest.fixture
def world(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return World()


@pytest.fixture
def site_on(settings):
    settings.TRACKER_PUBLIC_SITE = True
    settings.TRACKER_SITE_URL = SITE_URL
    return settings


# --- Which pages are public ------------------------------------------------------------------


def test_the_public_pages_are_exactly_those_marked_public_record(world):
    marked = {key.split("#")[0] for key in EXPECTED if is_public_record(view_of(key, world))}
    assert marked == {key.split("#")[0] for key in PUBLIC_EXPECTED}


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("key", sorted(PUBLIC_EXPECTED))
def test_a_visitor_reads_the_public_pages_with_the_site_on(world, site_on, key, method):
    client = client_for("anonymous", world)
    data = give_csrf_token(client) if method == "post" else {}

    response = getattr(client, method)(url_for(key, world), data)

    assert response.status_code == PUBLIC_EXPECTED[key][method == "post"], f"{method} {key}"


@pytest.mark.parametrize("key", sorted(PUBLIC_EXPECTED))
def test_with_the_site_off_every_public_page_sends_a_visitor_to_log_in(world, key):
    response = Client().get(url_for(key, world))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


# Read without an account: the public pages, the crawlers' files and the calendar feeds.
READ_OPENLY = sorted(
    [*PUBLIC_EXPECTED, *SITE_FILES, "calendar_public_feed", "calendar_personal_feed"]
)


@pytest.mark.parametrize("key", READ_OPENLY)
def test_a_head_request_is_answered_as_a_get(world, site_on, key):
    """Crawlers, link checkers and proxies ask with HEAD: the same status and caching as GET,
    without a body, never 405."""
    client = client_for("anonymous", world)
    url = url_for(key, world)

    read, head = client.get(url), client.head(url)

    assert head.status_code == read.status_code, key
    assert head.get("Cache-Control") == read.get("Cache-Control"), key
    assert streamed(head) == ""


UNMARKED = sorted(
    key
    for key in EXPECTED
    if key.split("#")[0] not in {k.split("#")[0] for k in PUBLIC_EXPECTED} | SITE_FILES
    and not key.startswith(API_PREFIX)
)


@pytest.mark.parametrize("key", UNMARKED)
def test_with_the_site_on_every_other_page_answers_a_visitor_as_with_it_off(world, site_on, key):
    """Login, account and secretariat pages: the setting changes nothing (302: to log in)."""
    for method, expected in zip(("get", "post"), anonymous_status(key), strict=True):
        client = client_for("anonymous", world)
        data = give_csrf_token(client) if method == "post" else {}
        response = getattr(client, method)(url_for(key, world), data)
        assert response.status_code == expected, f"{method} {key}"


def test_a_visitors_post_of_an_update_writes_nothing(world, site_on):
    client = client_for("anonymous", world)
    form = give_csrf_token(client) | {
        "status": "achieved",
        "progress": 100,
        "narrative": "Posted by a visitor.",
        "happened_on": "2021-01-01",
        "version": world.commitment.version,
    }

    response = client.post(url_for("commitments:commitment_detail", world), form)

    assert response.status_code == 403
    assert not StatusUpdate.objects.filter(narrative="Posted by a visitor.").exists()


# --- A visitor reads what a liaison reads ----------------------------------------------------


class PublicWorld(MarkedWorld):
    """The marked record (tests/leak_world.py: MARKER in every internal field and email) and
    the pages a visitor reads of it. The liaison compared with a visitor is the record's
    outside liaison: their state leads nothing, so they read the public record alone."""

    def pages(self) -> dict[str, str]:
        document = {"short_name": self.document.short_name}
        return {
            "dashboard": reverse("dashboard"),
            "table": reverse("commitments:commitment_list"),
            "table with retired": reverse("commitments:commitment_list") + "?retired=on",
            "table as CSV": reverse("commitments:commitment_list") + "?_export=csv",
            "commitment": self.commitment.get_absolute_url(),
            "retired commitment": self.retired.get_absolute_url(),
            "documents": reverse("commitments:document_list"),
            "document": self.document.get_absolute_url(),
            "report": reverse("commitments:document_report", kwargs=document),
            "actors": reverse("commitments:actor_list"),
            "actor": self.commitment.lead_actors.get().get_absolute_url(),
            "events": reverse("event_list"),
            "month": reverse("event_month", kwargs={"year": 2017, "month": 12}),
            "event": self.public_event.get_absolute_url(),
            "public evidence": reverse("commitments:evidence_file", args=[self.public_file.pk]),
        }


@pytest.fixture
def public_world(db, settings, tmp_path, site_on):
    settings.MEDIA_ROOT = tmp_path
    return PublicWorld()


def main_content(response) -> str:
    """What a page says, without what legitimately differs between a visitor and a liaison:
    the header (menu, user, language), CSRF tokens, the follow buttons, the dashboard's offer to
    log in and the events' calendar link (a visitor's is the public feed, a liaison's their own)."""
    content = streamed(response)
    if "<main>" not in content:
        return content  # a download: compared whole
    main = content[content.index("<main>") : content.index("</main>")]
    main = re.sub(r'<form class="follow".*?</form>', "", main, flags=re.S)
    main = re.sub(r'<p class="login-offer">.*?</p>', "", main, flags=re.S)
    main = re.sub(r'<span class="calendar-link">.*?</span>', "", main, flags=re.S)
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", main)


def test_a_visitor_reads_exactly_what_a_liaison_reads(public_world):
    liaison = Client()
    liaison.force_login(public_world.outside_liaison)
    different, seen = {}, 0
    for name, url in public_world.pages().items():
        as_visitor, as_liaison = Client().get(url), liaison.get(url)
        assert as_visitor.status_code == as_liaison.status_code == 200, name
        visitor_text = main_content(as_visitor)
        if visitor_text != main_content(as_liaison):
            different[name] = visitor_text
        seen += 1
    assert different == {}
    assert seen == len(public_world.pages())


def streamed(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def test_internal_things_are_not_found_by_a_visitor(public_world):
    client = Client()
    internal_file = reverse("commitments:evidence_file", args=[public_world.internal_file.pk])
    assert client.get(internal_file).status_code == 404
    assert client.get(public_world.internal_event.get_absolute_url()).status_code == 404


def test_a_visitor_sees_no_personal_link_and_is_offered_to_log_in(public_world):
    page = Client().get(public_world.commitment.get_absolute_url()).content.decode()

    assert f'href="{reverse("login")}?next=/commitments/group-of-friends-of-neutrality/"' in page
    for personal in ("notification_list", "profile", "reminder_settings", "logout"):
        assert f'"{reverse(personal)}' not in page, personal
    assert 'class="follow"' not in page
    assert "Report progress" not in page
    assert "csrfmiddlewaretoken" not in page


# --- Citing ----------------------------------------------------------------------------------


def test_a_paragraph_has_its_citable_anchor_and_a_link_to_itself(public_world):
    page = Client().get(public_world.document.get_absolute_url()).content.decode()

    assert 'id="para-5"' in page
    assert 'href="#para-5"' in page
    assert public_world.paragraph.get_absolute_url() == "/documents/ashgabat-2020/#para-5"
    assert f"{SITE_URL}/documents/ashgabat-2020/</a>" in page  # the document's cite line


def test_a_commitment_and_each_update_have_a_cite_line(public_world, time_machine):
    time_machine.move_to(datetime.datetime(2026, 3, 5, 10, tzinfo=datetime.UTC))
    page = Client().get(public_world.commitment.get_absolute_url()).content.decode()
    address = f"{SITE_URL}/commitments/group-of-friends-of-neutrality/"
    anchor = f"update-{public_world.public.pk}"

    assert f'id="{anchor}"' in page and f'href="#{anchor}"' in page
    cite_lines = re.findall(r'<p class="cite-this">(.*?)</p>', page, flags=re.S)
    assert any(f'href="{address}"' in line for line in cite_lines)
    assert any(f'href="{address}#{anchor}"' in line for line in cite_lines)
    assert all("retrieved 5 March 2026" in line for line in cite_lines)
    assert not any(f"update-{public_world.internal.pk}" in line for line in cite_lines)


def test_an_updates_cite_line_is_written_whole_and_escaped(public_world, time_machine):
    time_machine.move_to(datetime.datetime(2026, 3, 5, 10, tzinfo=datetime.UTC))
    commitment, update = public_world.commitment, public_world.public
    commitment.title = 'Water & "safe" <wells>'
    commitment.save()
    address = f"{SITE_URL}/commitments/group-of-friends-of-neutrality/#update-{update.pk}"

    page = Client().get(commitment.get_absolute_url()).content.decode()

    assert (
        '<p class="cite-this"><span class="cite-label">Cite this:</span> <span class="citation">'
        f"Water &amp; &quot;safe&quot; &lt;wells&gt;, {format_day(update.happened_on)}, status "
        f'update. Commitment tracker, <a href="{address}">{address}</a> (retrieved 5 March 2026).'
        "</span></p>\n"
    ) in page


def test_the_cite_line_is_in_russian(public_world):
    page = Client().get(public_world.document.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="ru")

    assert "Как цитировать:" in page.content.decode()
    assert "получено" in page.content.decode()


# --- Caching by shared proxies ---------------------------------------------------------------


def directives(response) -> set[str]:
    return {part.strip() for part in response.get("Cache-Control", "").split(",")}


def test_a_public_page_may_be_kept_by_a_shared_proxy(public_world, settings):
    settings.TRACKER_PUBLIC_MAX_AGE = 120
    url = public_world.commitment.get_absolute_url()

    first, second = Client().get(url), Client().get(url)

    assert directives(first) == {"public", "max-age=120"}
    assert {"Accept-Language", "Cookie"} <= {v.strip() for v in first["Vary"].split(",")}
    assert first.cookies == {} and "csrfmiddlewaretoken" not in first.content.decode()
    assert first["ETag"] == second["ETag"]
    again = Client().get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert directives(again) == {"public", "max-age=120"}


def test_every_public_page_is_public_for_visitors_and_private_for_liaisons(public_world):
    liaison = Client()
    liaison.force_login(public_world.outside_liaison)
    for name, url in public_world.pages().items():
        shared = "public" in directives(Client().get(url))
        # Downloads (the CSV, evidence files) are never stored, by anyone.
        assert shared == (name not in ("table as CSV", "public evidence")), name
        assert "public" not in directives(liaison.get(url)), name


def test_a_response_that_deletes_a_stale_session_cookie_is_not_public(public_world):
    """A visitor whose session has ended still sends its cookie: the answer deletes it, and a
    shared proxy that kept that answer would delete every later visitor's cookie too."""
    client = Client()
    client.cookies["sessionid"] = "abcdefghijklmnopqrstuvwxyz012345"

    response = client.get(public_world.commitment.get_absolute_url())

    assert response.status_code == 200
    assert response.cookies["sessionid"].value == ""  # deleted by the session middleware
    assert "public" not in directives(response)
    assert "private" in directives(response)


def test_with_the_site_off_nothing_is_public(world):
    response = Client().get(reverse("commitments:document_list"))
    assert "public" not in directives(response)


def test_a_not_found_page_is_not_kept(public_world):
    response = Client().get(reverse("event_detail", kwargs={"slug": "no-such-event"}))
    assert response.status_code == 404
    assert "public" not in directives(response)


# --- robots.txt and the sitemap --------------------------------------------------------------


def test_robots_asks_crawlers_to_keep_out_while_the_site_is_off(db):
    response = Client().get("/robots.txt")

    assert response.status_code == 200
    assert response.content.decode() == "User-agent: *\nDisallow: /\n"
    assert Client().get("/sitemap.xml").status_code == 404


def test_robots_opens_the_public_pages_and_names_the_sitemap(public_world):
    lines = Client().get("/robots.txt").content.decode().splitlines()

    for private in ("/admin/", "/accounts/", "/profile/", "/login/", "/reminders/"):
        assert f"Disallow: {private}" in lines
    assert "Disallow: /" not in lines
    assert f"Sitemap: {SITE_URL}/sitemap.xml" in lines


def robots_disallows(lines: list[str], path: str) -> bool:
    """Whether a Disallow line matches `path` as the big crawlers read it: from the start of
    the path and query, `*` for any run of characters, `$` for the end."""
    rules = [line.removeprefix("Disallow: ") for line in lines if line.startswith("Disallow: ")]
    patterns = [re.escape(rule).replace(r"\*", ".*").replace(r"\$", "$") for rule in rules]
    return any(re.match(pattern, path) for pattern in patterns)


def test_robots_keeps_crawlers_off_every_export_link(public_world):
    """The table's export links carry its filters first: `_export=` is anywhere in the query."""
    lines = Client().get("/robots.txt").content.decode().splitlines()
    table = reverse("commitments:commitment_list")

    for export in ("?_export=csv", "?status=in_progress&_export=csv", "?q=water&_export=xlsx"):
        assert robots_disallows(lines, table + export), export
    assert not robots_disallows(lines, table + "?status=in_progress")
    assert not robots_disallows(lines, public_world.document.get_absolute_url())


def test_the_sitemap_lists_the_public_record_at_the_sites_address(public_world):
    response = Client().get("/sitemap.xml", HTTP_HOST="testserver")
    locations = set(re.findall(r"<loc>(.*?)</loc>", response.content.decode()))

    assert response.status_code == 200
    wanted = {
        public_world.document.get_absolute_url(),
        public_world.commitment.get_absolute_url(),
        public_world.retired.get_absolute_url(),  # retired: still citable
        public_world.commitment.lead_actors.get().get_absolute_url(),
        public_world.public_event.get_absolute_url(),
        reverse("commitments:commitment_list"),
    }
    assert {f"{SITE_URL}{path}" for path in wanted} <= locations
    assert f"{SITE_URL}{public_world.internal_event.get_absolute_url()}" not in locations
    assert all(location.startswith(SITE_URL) for location in locations)


# --- Every link a visitor sees leads somewhere they may read ----------------------------------


def visible_links(page: str) -> set[str]:
    """The site's own links on a page, without the page's own anchors."""
    hrefs = re.findall(r'href="(/[^"#]*)', page)
    return {href.replace("&amp;", "&") for href in hrefs}


def test_every_link_a_visitor_sees_leads_somewhere_they_may_read(public_world):
    """A visitor following a link of the public record is never asked to log in, except by the
    "Log in" link itself."""
    client, login = Client(), reverse("login")
    links = set()
    for url in public_world.pages().values():
        response = client.get(url)
        if "<main>" in streamed(response):
            links |= visible_links(streamed(response))
    asked_to_log_in = {}
    for link in sorted(links - {login} - {x for x in links if x.startswith(login + "?")}):
        response = client.get(link)
        if response.status_code == 302 and response.url.startswith(login):
            asked_to_log_in[link] = response.url
    assert asked_to_log_in == {}
    assert reverse("calendar_public_feed") in links


# --- What the site is ------------------------------------------------------------------------


def test_the_dashboard_says_what_is_tracked_and_offers_a_visitor_to_log_in(public_world):
    other = DocumentFactory(short_name="un-resolution", title="A resolution on neutrality")
    ParagraphFactory(document=other, number=1)
    page = Client().get(reverse("dashboard")).content.decode()
    intro = re.search(r'<p class="site-intro">(.*?)</p>', page, flags=re.S).group(1)

    assert "The public record of what these documents promise" in intro
    for document in (public_world.document, other):  # from the record
        assert f'<a href="{document.get_absolute_url()}">{document.title}</a>' in intro
    offer = re.search(r'<p class="login-offer">(.*?)</p>', page, flags=re.S).group(1)
    assert f'href="{reverse("login")}?next=/"' in offer


def test_the_dashboards_intro_names_a_few_documents_and_counts_the_rest(db, secretariat_client):
    for number in range(5):
        ParagraphFactory(document=DocumentFactory(short_name=f"doc-{number}"), number=1)
    page = secretariat_client.get(reverse("dashboard")).content.decode()
    intro = re.search(r'<p class="site-intro">(.*?)</p>', page, flags=re.S).group(1)

    assert intro.startswith("The record of what")  # the secretariat reads internal updates too
    assert intro.count('<a href="/documents/doc-') == 3
    assert "and 2 more" in intro
    assert 'class="login-offer"' not in page


def test_the_dashboards_intro_is_in_russian(public_world):
    page = Client().get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="ru").content.decode()

    assert "Публичная запись" in page


def test_each_paragraph_has_its_own_cite_line(public_world, time_machine):
    time_machine.move_to(datetime.datetime(2026, 3, 5, 10, tzinfo=datetime.UTC))
    ParagraphFactory(document=public_world.document, number=6)
    page = Client().get(public_world.document.get_absolute_url()).content.decode()
    folded = re.findall(r'<details class="cite-paragraph">(.*?)</details>', page, flags=re.S)

    assert len(folded) == 2
    for number, cite in zip((5, 6), folded, strict=True):
        address = f"{SITE_URL}/documents/ashgabat-2020/#para-{number}"
        assert f'<a href="{address}">{address}</a>' in cite
        assert f"paragraph {number}." in cite and "retrieved 5 March 2026" in cite


# --- The icon ----------------------------------------------------------------------------------


def test_every_page_names_the_sites_icon_and_favicon_ico_is_found(public_world, settings):
    page = Client().get(reverse("dashboard")).content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page

    response = Client().get("/favicon.ico")
    assert response.status_code == 302 and response.url == "/static/favicon.ico"
    for icon in ("favicon.ico", "favicon.svg"):  # real files, which collectstatic serves
        assert finders.find(icon), icon
