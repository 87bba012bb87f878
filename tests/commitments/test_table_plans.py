"""The commitments table's overdue list and last page read their 25 rows from an index in the
order shown, not every commitment sorted (PostgreSQL's plans, with sequential scans and sorts
turned off: a plan that still sorts the rows has no index that gives their order)."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.api.helpers import token_client
from tests.factories import CommitmentFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans"),
]

LIST_URL = reverse("commitments:commitment_list")


@pytest.fixture
def rows():
    for n in range(80):  # the third of four pages ends five rows before the last
        CommitmentFactory(title=f"Row {n:02d}", target_date=datetime.date(2020, 1, 1 + n % 28))


def rows_plan(client, params) -> str:
    """The plan of the page's read of its rows (the statement with the page's LIMIT)."""
    with CaptureQueriesContext(connection) as queries:
        assert client.get(LIST_URL, params).status_code == 200
    [read] = [q["sql"] for q in queries.captured_queries if "LIMIT 25" in q["sql"]]
    return read_plan(read)


def read_plan(read: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE commitments_commitment")  # its rows counted, as autovacuum does
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("SET enable_sort = off")  # sorts only if no index gives the order
        cursor.execute(f"EXPLAIN {read}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_seqscan")
        cursor.execute("RESET enable_sort")
    return plan


@pytest.mark.parametrize("role", ["secretariat", "liaison"])
def test_the_overdue_list_is_read_in_order_from_the_earliest_dates_index(
    client, secretariat, liaison, rows, role
):
    client.force_login(secretariat if role == "secretariat" else liaison)

    plan = rows_plan(client, {"due": "overdue", "sort": "due"})

    index = "commitment_open_due" if role == "secretariat" else "commitment_public_open_due"
    assert f"Index Scan using {index}" in plan, plan
    # Rows of one date and title are put in id order among themselves (an incremental sort),
    # never all sorted.
    assert not re.search(r"->\s+Sort\s+\(", plan), plan


def test_the_overdue_list_orders_rows_of_one_date_and_title_by_id(secretariat_client):
    """Ties on the date and the title are ordered by id, in the statement itself and so on
    every page whatever plan reads it; the index gives the rest of that order (the test
    above)."""
    tied = [
        CommitmentFactory(title="Same", slug=f"same-{n}", target_date=datetime.date(2020, 1, 1))
        for n in range(30)
    ]
    with CaptureQueriesContext(connection) as queries:
        first = secretariat_client.get(LIST_URL, {"due": "overdue", "sort": "due"})
    [read] = [q["sql"] for q in queries.captured_queries if "LIMIT 25" in q["sql"]]
    second = secretariat_client.get(LIST_URL, {"due": "overdue", "sort": "due", "page": 2})

    order = read[read.rindex("ORDER BY") : read.rindex("LIMIT")]
    assert order.rstrip().endswith('"commitments_commitment"."title" ASC, '
                                   '"commitments_commitment"."id" ASC'), order  # fmt: skip
    listed = [row.record.pk for page in (first, second)
              for row in page.context["table"].page.object_list]  # fmt: skip
    assert listed == [commitment.pk for commitment in tied]


def test_the_last_page_is_read_backwards_from_the_tables_order_index(secretariat_client, rows):
    plan = rows_plan(secretariat_client, {"page": 3})

    assert "Index Scan Backward using commitments_first_p" in plan, plan
    # The order ends on the id, which the index does not hold: rows equal on the paragraph and
    # title are put in id order among themselves (an incremental sort), never all sorted.
    assert not re.search(r"->\s+Sort\s+\(", plan), plan  # no node sorting every row
    assert "Presorted Key: commitments_commitment.first_paragraph_number" in plan, plan


# Each sort of the table and the index that gives its order (models._table_orders), per
# audience: the due sort descending has its own (without a date last both ways); the others
# read descending are their ascending index read backwards.
SORT_INDEXES = {
    "due": "due",
    "-due": "due_desc",
    "freshness": "news",
    "-freshness": "news",
    "progress": "progress",
    "-progress": "progress",
    "status": "status",
    "-status": "status",
}


@pytest.mark.parametrize("page", [1, 3])  # the third of four is read from the end
@pytest.mark.parametrize("sort", SORT_INDEXES)
@pytest.mark.parametrize("role", ["secretariat", "liaison"])
def test_each_sort_reads_its_page_in_order_from_its_index(
    client, secretariat, liaison, rows, role, sort, page
):
    client.force_login(secretariat if role == "secretariat" else liaison)

    plan = rows_plan(client, {"sort": sort, "page": page})

    prefix = "commitment_table" if role == "secretariat" else "commitment_pub_table"
    assert f"using {prefix}_{SORT_INDEXES[sort]} on" in plan, plan
    assert "Sort" not in plan, plan


@pytest.mark.parametrize(
    ("sort", "index"),
    [("target_date", "commitment_target_asc"), ("-target_date", "commitment_target_desc")],
)
def test_the_target_date_order_is_read_from_an_index_both_ways(
    secretariat_client, rows, sort, index
):
    """The dates not yet set last either way (selectors.commitments_ordered)."""
    CommitmentFactory(title="Not yet dated", target_date=None)

    plan = rows_plan(secretariat_client, {"sort": sort})

    assert f"Index Scan using {index}" in plan, plan
    assert "Sort" not in plan, plan


@pytest.mark.parametrize("sort", ["target_date", "-target_date"])
def test_the_apis_target_date_order_is_read_from_the_same_indexes(secretariat, rows, sort):
    CommitmentFactory(title="Not yet dated", target_date=None)
    client = token_client(secretariat)

    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("api:commitment_list"), {"sort": sort}).status_code == 200
    [read] = [
        q["sql"] for q in queries.captured_queries if "ORDER BY" in q["sql"] and "LIMIT" in q["sql"]
    ]

    index = "commitment_target_desc" if sort.startswith("-") else "commitment_target_asc"
    plan = read_plan(read)
    assert f"Index Scan using {index}" in plan, plan
    assert "Sort" not in plan, plan
