"""The open record never shows what is internal: a marker planted in every internal field
(tests/leak_world.py: an internal update and its evidence, the internal reasons of a withdrawal and
a correction, an internal event, a draft report, a returned report's comment and its conversation,
every user's email, the login names) is searched for in everything a visitor or a liaison can fetch:
every page marked as the public record (walked from the URL patterns, so a new public page is
covered or this test fails), the table's exports, the Atom feeds, the sitemap, every API list and
detail (walked from the API's own schema), and the open-data bundle.

Each search first checks that the same fetch by the secretariat does show the marker wherever
the secretariat reads internal content, so the search is known to look where the marker would be.
"A liaison" here is one of a state the record does not concern: a liaison also reads their own
state's internal events and their own draft reports, as tests/test_roles.py and the pages'
tests check.
"""

import io
import zipfile

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from openpyxl import load_workbook
from pypdf import PdfReader

from core.public_site import is_public_record
from tests.api.helpers import token_client
from tests.leak_world import MARKER, MarkedWorld
from tests.site_urls import walk
from tracker import open_data

# How each public page's arguments come from the marked world; a public page with arguments and
# no entry here fails test_every_public_page_is_searched.
KWARGS = {
    "commitments:commitment_detail": lambda w: {"slug": w.commitment.slug},
    "commitments:filter_choices": lambda w: {"name": "owner"},
    "commitments:document_detail": lambda w: {"short_name": w.document.short_name},
    "commitments:document_report": lambda w: {"short_name": w.document.short_name},
    "commitments:document_report_pdf": lambda w: {"short_name": w.document.short_name},
    "commitments:actor_detail": lambda w: {"slug": w.actor.slug},
    "commitments:evidence_file": lambda w: {"pk": w.public_file.pk},
    "commitments:commitment_changes_feed": lambda w: {"slug": w.commitment.slug},
    "commitments:actor_changes_feed": lambda w: {"slug": w.actor.slug},
    "event_detail": lambda w: {"slug": w.public_event.slug},
    "event_month": lambda w: {"year": 2026, "month": 12},
    "open_data_download": lambda w: {"name": w.bundle["name"]},
}
# Variants of a page worth searching too (query strings of the table and the dashboard).
QUERIES = {
    "commitments:commitment_list": ["", "?_export=csv", "?_export=xlsx", "?status=in_progress"],
    "dashboard": [""],
    "commitments:filter_choices": ["", "?q=e"],
    "event_list": ["", "?show=all"],
}
# Pages open to everyone whatever the setting (login_not_required rather than public_record).
OPEN_PAGES = ["sitemap", "robots_txt", "calendar_public_feed"]


def text_of(response) -> str:
    """Everything the response says, as text: pages, feeds and CSV as they are; the Excel
    file's cells; the PDF's text."""
    body = b"".join(response.streaming_content) if response.streaming else response.content
    kind = response.get("Content-Type", "")
    if "spreadsheetml" in kind:
        book = load_workbook(io.BytesIO(body), read_only=True)
        return "\n".join(
            str(cell) for sheet in book for row in sheet.iter_rows(values_only=True) for cell in row
        )
    if kind.startswith("application/pdf") and body.rstrip().endswith(b"%%EOF"):
        # The document report's PDF (an uploaded evidence file is searched as it is).
        return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
    if kind.startswith("application/zip"):
        with zipfile.ZipFile(io.BytesIO(body)) as bundle:
            return "\n".join(
                bundle.read(member).decode("utf-8", "replace") for member in bundle.namelist()
            )
    return body.decode("utf-8", "replace")


@pytest.fixture
def world(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.OPEN_DATA_DIR = tmp_path / "open-data"
    settings.TRACKER_PUBLIC_SITE = True
    world = MarkedWorld()
    world.bundle = open_data.open_data_publish()
    return world


def marked_public_pages() -> list[str]:
    resolver = get_resolver()
    names = []
    for name, _route in walk(resolver.url_patterns):
        pattern_view = _view_of_route(resolver, name)
        if pattern_view is not None and is_public_record(pattern_view):
            names.append(name)
    return sorted(names)


def _view_of_route(resolver, name):
    for pattern_name, callback in _callbacks(resolver.url_patterns):
        if pattern_name == name:
            return callback
    return None


def _callbacks(patterns, namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(filter(None, [namespace, pattern.namespace]))
            yield from _callbacks(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield ":".join(filter(None, [namespace, pattern.name])), pattern.callback


PUBLIC_PAGES = marked_public_pages()


def page_urls(world) -> list[str]:
    urls = []
    for name in PUBLIC_PAGES + OPEN_PAGES:
        url = reverse(name, kwargs=KWARGS[name](world) if name in KWARGS else None)
        urls += [url + query for query in QUERIES.get(name, [""])]
    return urls


def test_the_walk_finds_the_public_record_pages():
    """The walk sees the pages it must (a broken walk would search nothing)."""
    assert {"commitments:commitment_detail", "commitments:changes_feed", "open_data"} <= set(
        PUBLIC_PAGES
    )


def test_every_public_page_is_searched(world):
    """A public page with arguments needs an entry in KWARGS; each one answers 200 here."""
    for name in PUBLIC_PAGES:
        url = reverse(name, kwargs=KWARGS[name](world) if name in KWARGS else None)
        assert resolve(url).url_name == name.split(":")[-1]
        assert Client().get(url).status_code == 200, url


def test_the_secretariat_does_read_the_marker_on_the_pages_that_show_internal_content(world):
    """The marker is where the search looks: the secretariat's commitment page and the
    internal event's page show it, so its absence for others is the pages' doing. (The feeds
    and the bundle are the public record for every reader, the secretariat included.)"""
    client = Client()
    client.force_login(world.secretariat)
    for url in [
        world.commitment.get_absolute_url(),
        reverse("event_detail", kwargs={"slug": world.internal_event.slug}),
        reverse("commitments:report_detail", args=[world.returned_report.pk]),
    ]:
        assert MARKER in text_of(client.get(url)), url


@pytest.mark.parametrize("reader", ["anonymous", "liaison"])
def test_no_public_page_shows_an_internal_field(world, reader):
    client = Client()
    if reader == "liaison":
        client.force_login(world.outside_liaison)
    for url in page_urls(world):
        response = client.get(url)
        assert response.status_code == 200, url
        assert MARKER not in text_of(response), f"{reader} read the marker at {url}"
    # The same pages do show the public record: the public update and the correction.
    page = client.get(world.commitment.get_absolute_url()).content.decode()
    assert "The group met in New York." in page and "The group had 41 members." in page


def api_get_paths(client) -> list[str]:
    """Every GET operation of the API's own schema, its path arguments from the marked world."""
    schema = client.get(reverse("api:schema") + "?format=json").json()
    return [path for path, operations in schema["paths"].items() if "get" in operations]


def api_url(path: str, world) -> str:
    values = {
        "{short_name}": world.document.short_name,
        "{slug}": world.commitment.slug,
    }
    if path.startswith("/api/v1/actors/"):
        values["{slug}"] = world.actor.slug
    if path.startswith("/api/v1/events/"):
        values["{slug}"] = world.internal_event.slug
    for placeholder, value in values.items():
        path = path.replace(placeholder, value)
    return path


@pytest.mark.parametrize("reader", ["anonymous", "liaison"])
def test_no_api_read_shows_an_internal_field(world, reader):
    from rest_framework.test import APIClient

    client = APIClient() if reader == "anonymous" else token_client(world.outside_liaison)
    paths = [api_url(path, world) for path in api_get_paths(client)]
    assert any(path.endswith("/commitments/") for path in paths)
    read = 0
    for path in paths:
        if "{" in path or path.endswith(("/schema/", "/docs/")):
            continue
        response = client.get(path)
        # The internal event's page is a 404 for these readers; every other read answers.
        assert response.status_code in (200, 404), path
        assert MARKER not in response.content.decode(), f"{reader} read the marker at {path}"
        read += 1
    assert read >= 10


def test_the_secretariat_reads_the_marker_through_the_api(world):
    client = token_client(world.secretariat)
    body = client.get(f"/api/v1/commitments/{world.commitment.slug}/updates/").content.decode()
    assert MARKER in body


def test_the_open_data_bundle_shows_no_internal_field(world, tmp_path):
    folder = tmp_path / "bundle"
    open_data.open_data_export(target=folder)
    files = [path for path in folder.rglob("*") if path.is_file()]
    assert any(path.name == "datapackage.json" for path in files)
    for path in files:
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as bundle:
                members = bundle.namelist()
                text = "\n".join(bundle.read(m).decode("utf-8", "replace") for m in members)
        else:
            text = path.read_text(encoding="utf-8", errors="replace")
        assert MARKER not in text, path.name
