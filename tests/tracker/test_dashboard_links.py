"""Every figure the dashboard links to the commitments table is the number of rows the table
shows at that link, for each reader: the secretariat (its own state), a liaison and a visitor
of the public site (the public state). Retired commitments, which the table leaves out unless
"Show retired" is ticked, are in none of the figures."""

import datetime
import html
import itertools
import re

import pytest
import time_machine
from django.urls import reverse

from commitments.statuses import Status
from tests.factories import (
    CommitmentFactory,
    DocumentFactory,
    LiaisonFactory,
    ParagraphFactory,
    SecretariatFactory,
)
from tracker import selectors

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 12, 31, 12, 0, tzinfo=datetime.UTC)
TODAY = NOW.date()
LIST_URL = reverse("commitments:commitment_list")

# A link to the table and the figure it carries: <a href="/commitments/?..."><strong>N</strong>,
# "N commitments overdue", or a matrix cell's bare N.
FIGURE_LINK = re.compile(
    rf'<a href="({re.escape(LIST_URL)}\?[^"]*)"[^>]*>\s*(?:<strong>)?(\d+)[<\s]'
)
# The table's count above its rows: "N commitments."
TABLE_COUNT = re.compile(r'<p class="table-actions">\s*(\d+) commitments?\.')

DAYS = datetime.timedelta(days=1)
# Target dates and last news that put commitments overdue, due soon, or neither; and on time,
# late and very late (the default cadence of a deliverable is six months).
TARGETS = (TODAY - 40 * DAYS, TODAY + 10 * DAYS, TODAY + 400 * DAYS, None)
NEWS = (TODAY - 30 * DAYS, TODAY - 250 * DAYS, TODAY - 500 * DAYS)


def make_record() -> list:
    """Commitments of every status (each with another public one), target date and freshness,
    in two paragraphs of one document; of each, a retired twin. Returns the paragraphs."""
    document = DocumentFactory()
    paragraphs = [ParagraphFactory(document=document, number=n) for n in (1, 2)]
    statuses = list(Status)
    variants = itertools.product(range(len(statuses)), TARGETS, NEWS)
    for n, (index, target, news) in enumerate(variants):
        for retired_on in (None, TODAY - 5 * DAYS):
            CommitmentFactory(
                paragraphs=[paragraphs[n % 2]] if n % 3 else paragraphs,
                status=statuses[index],
                public_status=statuses[(index + 1) % len(statuses)],
                last_activity_on=news,
                public_last_activity_on=news - 60 * DAYS,
                target_date=target,
                retired_on=retired_on,
            )
    return paragraphs


def figure_links(client) -> list[tuple[str, int]]:
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    return [(html.unescape(url), int(n)) for url, n in FIGURE_LINK.findall(response.text)]


def rows_shown(client, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200, url
    (count,) = TABLE_COUNT.findall(response.text)
    return int(count)


@pytest.fixture
def reader_client(request, client, settings):
    """A client of each reader: the secretariat, a liaison, a visitor of the public site."""
    settings.TRACKER_PUBLIC_SITE = True
    if request.param != "visitor":
        user = {"secretariat": SecretariatFactory, "liaison": LiaisonFactory}[request.param]()
        client.force_login(user)
    return client


@pytest.mark.parametrize("reader_client", ["secretariat", "liaison", "visitor"], indirect=True)
def test_each_figure_is_the_number_of_rows_its_link_shows(reader_client):
    with time_machine.travel(NOW, tick=False):
        make_record()
        links = figure_links(reader_client)
        shown = {url: rows_shown(reader_client, url) for url, _ in links}

    urls = {url.split("?")[1].split("=")[0] for url, _ in links}
    assert urls == {"status", "paragraph", "due", "freshness"}  # every kind of figure found
    assert len(links) >= len(Status) + 2 + 3
    assert any(n for _, n in links)
    assert [(url, n) for url, n in links if shown[url] != n] == []


@pytest.mark.parametrize("reader", [SecretariatFactory, LiaisonFactory])
def test_a_retired_commitment_of_any_status_is_in_no_status_count(reader):
    paragraph = ParagraphFactory()
    for status in Status:
        CommitmentFactory(paragraphs=[paragraph], status=status, public_status=status)
        CommitmentFactory(
            paragraphs=[paragraph], status=status, public_status=status, retired_on=TODAY
        )
    user = reader()

    counts = selectors.dashboard_status_counts(user=user)
    matrix = selectors.dashboard_paragraph_matrix(user=user, document=paragraph.document)

    assert {item.status: item.count for item in counts} == {status: 1 for status in Status}
    assert {item.status: item.count for item in matrix.rows[0].counts} == {
        status: 1 for status in Status
    }
    assert matrix.rows[0].total == len(Status)
