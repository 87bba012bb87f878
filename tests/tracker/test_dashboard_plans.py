"""The dashboard's deadline lists can be read from their indexes (Commitment.Meta): each
list's filter and order are the indexed expression and condition, for both audiences. With
sequential scans turned off, a plan that still scans the table means the query and the index
no longer match (the index would be dead weight, and the list would sort every commitment)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from commitments import deadlines
from commitments import selectors as commitment_selectors
from tests.factories import CommitmentFactory, LiaisonFactory, SecretariatFactory
from tests.query_plans import plan_of
from tracker import selectors

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans"),
]

TODAY = datetime.date(2026, 12, 1)


@pytest.mark.parametrize(
    ("reader", "index"),
    [(SecretariatFactory, "commitment_open_due"), (LiaisonFactory, "commitment_public_open_due")],
)
def test_the_overdue_and_due_soon_lists_read_their_index(reader, index):
    # Statistics of a few hundred dates, as for the upcoming list below: on a table of one row
    # (statistics an earlier test left), PostgreSQL rightly reads any partial index of the
    # commitments not retired (Commitment.Meta has a dozen) and sorts the row it finds.
    for days in range(300):
        CommitmentFactory(target_date=TODAY + datetime.timedelta(days=days - 150))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE commitments_commitment")
    user = reader()
    for listed in (
        selectors.dashboard_overdue_commitments(user=user, today=TODAY),
        selectors.dashboard_due_soon_commitments(user=user, today=TODAY),
    ):
        plan = plan_of(listed)
        assert index in plan, plan
        assert "Sort" not in plan.split(index)[0], plan  # read in order, not sorted


def test_the_upcoming_list_reads_its_index():
    # Statistics of a few hundred dates, not an empty table's guesses: with none, PostgreSQL
    # may as well read any index whose condition is the open commitments (Commitment.Meta has
    # several) and sort what it finds.
    for days in range(300):
        CommitmentFactory(target_date=TODAY + datetime.timedelta(days=days - 100))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE commitments_commitment")
    upcoming = selectors.dashboard_upcoming_commitments(user=SecretariatFactory(), today=TODAY)
    plan = plan_of(upcoming)
    assert "commitment_target_title" in plan, plan


def plan_of_sql(sql: str, params) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.parametrize(
    ("columns", "indexes"),
    [
        (("status", "last_activity_on"), ("commitment_open_due", "commitment_open_news")),
        (
            ("public_status", "public_last_activity_on"),
            ("commitment_public_open_due", "commitment_public_open_news"),
        ),
    ],
)
@pytest.mark.parametrize("open_total", [None, 1])
def test_the_deadline_and_freshness_counts_read_their_indexes_alone(columns, indexes, open_total):
    """Each count of deadlines.state_counts is an index-only scan: no row of the table read.
    Given how many are open (the dashboard's status counts say it), they are not counted again."""
    CommitmentFactory(target_date=TODAY)
    status_field, last_field = columns
    sql, params = deadlines.state_counts_sql(
        today=TODAY, status_field=status_field, last_field=last_field, open_total=open_total
    )
    plan = plan_of_sql(sql, params)
    scans = [line for line in plan.splitlines() if " on commitments_commitment" in line]
    assert len(scans) == (7 if open_total is None else 6), plan
    assert all("Index Only Scan using" in line for line in scans), plan
    assert all(index in plan for index in indexes), plan


@pytest.mark.parametrize("reader", [SecretariatFactory, LiaisonFactory])
def test_the_status_counts_read_the_status_index_alone(reader):
    """Every commitment's status from the status column's index alone, the retired ones' (left
    out of the counts) through their own small index (few rows: PostgreSQL may read them from
    the table), not every commitment's row for a filter on retired_on."""
    CommitmentFactory()
    user = reader()
    status_field, _ = commitment_selectors.state_columns(user=user)
    with CaptureQueriesContext(connection) as queries:
        selectors.dashboard_status_counts(user=user)
    (query,) = queries.captured_queries
    plan = plan_of_sql(query["sql"], ())
    every, retired = plan.split("commitment_retired_status")[0].split("Group Key", 2)[1:]
    assert "Seq Scan" not in plan, plan
    assert f"Index Only Scan using commitments_{status_field[:7]}" in every, plan
    assert "retired_on IS NOT NULL" in retired, plan
