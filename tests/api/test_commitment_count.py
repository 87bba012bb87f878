"""The commitments list's count (api.views.CommitmentList.row_count): with only filters on what
the record holds it is kept with the catalogue, so the first read after a status update counts
nothing; it is still what each reader may read after any write that changes it, and a status
filter, whose rows a status update moves, is counted on every read, per audience."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from commitments import services
from commitments.models import StatusUpdate
from tests.api.helpers import token_client
from tests.factories import CommitmentFactory, ThemeFactory, post_status_update

URL = reverse("api:commitment_list")
# The token's row, the cache's loss record (core.caching), the rows, their paragraphs and their
# lead actors: no count.
QUERIES_COUNT_KEPT = 5


def listed(client, query: str = "") -> tuple[int, list[str]]:
    """The list's count and the SQL of the queries it ran."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL + query)
    assert response.status_code == 200, response.content[:300]
    return response.json()["count"], [query["sql"] for query in queries.captured_queries]


def counts_run(sqls: list[str]) -> list[str]:
    return [sql for sql in sqls if "COUNT(" in sql.upper()]


@pytest.fixture
def readers(secretariat, liaison):
    """Each audience's client, each having read the list once (its token's first use)."""
    clients = {"secretariat": token_client(secretariat), "liaison": token_client(liaison)}
    for client in clients.values():
        client.get(URL)
    return clients


@pytest.mark.parametrize("query", ["", "?page=1&sort=-title", "?kind=deliverable&retired=true"])
def test_a_status_update_leaves_the_kept_count(db, readers, secretariat, query):
    commitments = [CommitmentFactory() for _ in range(3)]
    for client in readers.values():
        assert listed(client, query)[0] == 3
    post_status_update(commitments[0], secretariat, status="achieved", progress=100)

    for who, client in readers.items():
        count, sqls = listed(client, query)
        assert count == 3, who
        assert not counts_run(sqls), (who, sqls)
        assert len(sqls) == QUERIES_COUNT_KEPT, (who, sqls)


def test_the_kept_count_follows_the_catalogue(db, readers, secretariat):
    theme = ThemeFactory()
    first, second = CommitmentFactory(), CommitmentFactory()
    of_theme = f"?theme={theme.slug}"
    assert [listed(client)[0] for client in readers.values()] == [2, 2]
    assert [listed(client, of_theme)[0] for client in readers.values()] == [0, 0]

    third = CommitmentFactory()
    third.themes.add(theme)
    assert [listed(client)[0] for client in readers.values()] == [3, 3]
    assert [listed(client, of_theme)[0] for client in readers.values()] == [1, 1]

    services.commitment_retire(
        commitment=first,
        expected_version=first.version,
        reason="Merged into another.",
        retired_by=secretariat,
        retired_on=datetime.date(2026, 12, 1),
    )
    second.delete()
    assert [listed(client)[0] for client in readers.values()] == [1, 1]
    assert [listed(client, "?retired=true")[0] for client in readers.values()] == [2, 2]


def test_a_status_filter_is_counted_on_each_read_per_audience(db, readers, secretariat):
    commitment = CommitmentFactory()
    CommitmentFactory()
    in_progress = "?status=in_progress"
    assert [listed(client, in_progress)[0] for client in readers.values()] == [0, 0]

    internal = StatusUpdate.Visibility.INTERNAL
    post_status_update(commitment, secretariat, status="in_progress", visibility=internal)
    found = {who: listed(client, in_progress) for who, client in readers.items()}
    assert {who: count for who, (count, _sqls) in found.items()} == {
        "secretariat": 1,
        "liaison": 0,  # the liaison reads the public state, still not started
    }
    assert all(counts_run(sqls) for _count, sqls in found.values()), found
