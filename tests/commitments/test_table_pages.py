"""The commitments table's pages past the middle are read from the end (core.pagination.
NearerEndPaginator): the same rows in the same order as read from the start, counted once."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from commitments import selectors
from core.local_time import reader_today
from tests.factories import CommitmentFactory, DocumentFactory, ParagraphFactory

LIST_URL = reverse("commitments:commitment_list")
ROWS = 60  # three pages of 25: the second and third are past the middle


@pytest.fixture
def rows(secretariat):
    """Sixty commitments, each with its own title; a third without a paragraph (no paragraph
    number: nulls in the default order) or a target date (nulls in the due order)."""
    document = DocumentFactory()
    paragraph = [ParagraphFactory(document=document, number=n + 1) for n in range(7)]
    for n in range(ROWS):
        paragraphs = [] if n % 3 == 0 else [paragraph[n % 7]]
        target = None if n % 3 == 1 else datetime.date(2020, 1, 1) + datetime.timedelta(n % 5)
        CommitmentFactory(
            title=f"Row {n:02d}", paragraphs=paragraphs, target_date=target, owner=secretariat
        )


def titles(response) -> list[str]:
    page = response.content.decode()
    return re.findall(r">(Row \d\d)<", page[page.index("<tbody") : page.index("</tbody>")])


@pytest.mark.parametrize(
    "sort",
    [None, "title", "-title", "due", "-due", "paragraphs", "freshness", "-freshness"]
    + ["progress", "-progress", "status", "-status", "owner", "-owner"]
    + ["target_date", "-target_date", "last_activity", "-last_activity"],
)
def test_every_page_shows_the_rows_a_single_page_shows(secretariat_client, rows, sort):
    query = {"sort": sort} if sort else {}
    whole = titles(secretariat_client.get(LIST_URL, {**query, "per_page": 100}))

    paged = [titles(secretariat_client.get(LIST_URL, {**query, "page": n})) for n in (1, 2, 3)]

    assert len(whole) == ROWS
    assert [len(page) for page in paged] == [25, 25, 10]
    assert sum(paged, []) == whole


def test_a_page_number_is_counted_once(secretariat_client, rows):
    with CaptureQueriesContext(connection) as queries:
        response = secretariat_client.get(LIST_URL, {"page": 3})

    assert "Page 3 of 3 (60 rows)" in response.content.decode()
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(*)" in q["sql"]]
    assert len(counts) == 1


@pytest.mark.parametrize("due", ["overdue", "due_soon"])
def test_the_due_filter_lists_the_rows_the_deadline_marks_in_due_order(
    secretariat_client, secretariat, rows, due
):
    """The filter and its sort read the earliest date (deadlines.overdue and due_soon, the
    partial indexes), for the very rows and order of each row's deadline and due date."""
    CommitmentFactory(title="Row 60", target_date=reader_today(secretariat), owner=secretariat)
    marked = selectors.commitment_dated_list(user=secretariat).filter(
        deadline=due, retired_on__isnull=True
    )
    expected = list(marked.order_by("due_date", "title").values_list("title", flat=True))

    listed = titles(secretariat_client.get(LIST_URL, {"due": due, "sort": "due", "per_page": 100}))

    assert listed == expected and len(expected) > (30 if due == "overdue" else 0)
