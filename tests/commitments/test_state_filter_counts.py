"""The commitments table filtered by a due or freshness state alone counts its rows as the
dashboard counts that state (deadlines.state_counts, from indexes on PostgreSQL) instead of
computing every commitment's state: the same number as the rows it lists, for both audiences,
with or without the retired ones shown."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from commitments import deadlines
from core.local_time import reader_today
from tests.commitments.test_deadline_counts import varied_record
from tests.commitments.test_table_sort_keys import shown, table_titles

pytestmark = pytest.mark.django_db

LIST_URL = reverse("commitments:commitment_list")
STATES = [
    ("due", deadlines.OVERDUE),
    ("due", deadlines.DUE_SOON),
    ("freshness", deadlines.ON_TIME),
    ("freshness", deadlines.LATE),
    ("freshness", deadlines.VERY_LATE),
]


def counted(response) -> int:
    return int(re.search(r"Page \d+ of \d+ \((\d+) rows\)", response.content.decode())[1])


@pytest.mark.parametrize("retired", [False, True])
@pytest.mark.parametrize("name,state", STATES)
@pytest.mark.parametrize("role", ["secretariat", "liaison"])
def test_the_count_is_the_rows_in_that_state(
    client, secretariat, liaison, role, name, state, retired
):
    user = secretariat if role == "secretariat" else liaison
    today = reader_today(user)
    varied_record(today, count=90)
    client.force_login(user)
    columns = (
        ("status", "last_activity_on")
        if role == "secretariat"
        else ("public_status", "public_last_activity_on")
    )
    field = "deadline" if name == "due" else "freshness"
    expected = shown(*columns, today).filter(**{field: state}).count()
    params = {name: state, **({"retired": "on"} if retired else {})}

    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST_URL, params)  # 25 a page: the count decides the pages

    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"]]
    listed = table_titles(response)
    if expected > 25:
        assert (counted(response), len(listed)) == (expected, 25)
        last = -(-expected // 25)  # its rows are what is left (read from the end)
        left = table_titles(client.get(LIST_URL, {**params, "page": last}))
        assert len(left) == expected - 25 * (last - 1)
    else:  # one page, which says no count
        assert "rows)" not in response.content.decode()
        assert len(listed) == expected > 0
    if connection.vendor == "postgresql":  # the dashboard's statement, not a count of rows
        assert counts and all("WITH ORDINALITY" in sql for sql in counts), counts


@pytest.mark.parametrize(
    "params",
    [{"freshness": "late", "status": "in_progress"}, {"due": "overdue", "kind": "deliverable"}],
)
def test_a_state_with_another_filter_is_counted_from_the_rows(
    secretariat_client, secretariat, params
):
    """Only a state alone is the dashboard's count: with another filter the rows are counted."""
    varied_record(reader_today(secretariat), count=30)

    with CaptureQueriesContext(connection) as queries:
        response = secretariat_client.get(LIST_URL, params)

    assert response.status_code == 200
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"]]
    assert counts and not any("WITH ORDINALITY" in sql for sql in counts), counts
