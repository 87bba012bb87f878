"""The table's target date order is the API's, on every database: the dates not yet set last
either way, ties by title (SQLite put them first going up, PostgreSQL first going down)."""

import datetime

import pytest
from django.urls import reverse

from tests.api.helpers import token_client
from tests.commitments.test_table_sort_keys import table_titles
from tests.factories import CommitmentFactory

DATES = [
    datetime.date(2027, 1, 1),
    None,
    datetime.date(2026, 5, 1),
    None,
    datetime.date(2027, 1, 1),
    datetime.date(2025, 3, 9),
]


@pytest.mark.parametrize("sort", ["target_date", "-target_date"])
def test_the_table_and_the_api_put_dates_not_yet_set_last(secretariat_client, secretariat, sort):
    # Titles against the dates' order, so that a sort by title alone is caught.
    rows = [
        CommitmentFactory(title=f"Commitment {9 - n}", target_date=date)
        for n, date in enumerate(DATES)
    ]
    descending = sort.startswith("-")
    dated = sorted((row for row in rows if row.target_date), key=lambda row: row.title)
    dated.sort(key=lambda row: row.target_date, reverse=descending)  # stable: ties by title
    unset = sorted((row for row in rows if not row.target_date), key=lambda row: row.title)
    expected = [row.title for row in [*dated, *unset]]

    table = table_titles(
        secretariat_client.get(reverse("commitments:commitment_list"), {"sort": sort})
    )
    api = token_client(secretariat).get(reverse("api:commitment_list"), {"sort": sort}).json()

    assert table == expected
    assert [row["title"] for row in api["results"]] == expected
