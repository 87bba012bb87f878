"""The counts of a status filter, which a status update makes again, read indexes alone
(migration 0025_open_status_count_indexes): the open commitments of the status from the
audience's partial index, a theme's from its link rows' index on (theme, commitment), merged
in id order. Before, the count of `?status=in_progress&theme=1` read every commitment (a
parallel sequential scan of 200,000 at ten times the benchmark's data). With sequential scans
turned off, a plan that still reads the commitments table, or reads a theme's link rows from
the table, means no index serves the count as written."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.api.helpers import token_client
from tests.factories import CommitmentFactory, LiaisonFactory, SecretariatFactory, ThemeFactory
from tests.query_plans import plan_of_sql

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans"),
]

READERS = [
    (SecretariatFactory, "commitment_open_status"),
    (LiaisonFactory, "commitment_public_open_status"),
]
THEME_INDEX, THEME_TABLE = (
    "commitment_themes_theme_commitment",
    "commitments_commitment_themes",
)


@pytest.fixture
def theme():
    """A theme of some commitments in progress, among commitments of other states and themes."""
    theme, other = ThemeFactory(), ThemeFactory()
    for number in range(30):
        commitment = CommitmentFactory(status="in_progress", public_status="in_progress")
        commitment.themes.add(theme if number % 3 else other)
        CommitmentFactory(status="achieved", public_status="stalled").themes.add(theme)
    with connection.cursor() as cursor:
        # Indexes as a server's are after its own writes, not as the suite's earlier tests left
        # them: their deleted entries make the new indexes look larger to the planner than
        # another on the same column, and it picks by size among indexes this small.
        cursor.execute("REINDEX TABLE commitments_commitment")
        cursor.execute("REINDEX TABLE commitments_commitment_themes")
        cursor.execute("ANALYZE commitments_commitment, commitments_commitment_themes")
    return theme


def the_count(client, url: str) -> str:
    """The SQL of the one COUNT the request ran."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    counts = [query["sql"] for query in queries.captured_queries if "COUNT(" in query["sql"]]
    assert len(counts) == 1, counts
    return counts[0]


def assert_read_from_indexes(sql: str, status_index: str) -> None:
    """Each table read through its index. Which scan of the index (index only, or a bitmap
    and the rows) depends on how much of the table PostgreSQL knows to be all-visible, which
    only VACUUM tells it, and no test transaction can VACUUM."""
    plan = plan_of_sql(sql)
    for table, index in [("commitments_commitment", status_index), (THEME_TABLE, THEME_INDEX)]:
        lines = plan.splitlines()
        reads = [n for n, line in enumerate(lines) if f" on {table} " in f"{line} "]
        assert len(reads) == 1, plan
        read = lines[reads[0]]
        if "Bitmap Heap Scan" in read:  # the index is on the bitmap's line below
            read = next(line for line in lines[reads[0] :] if "Bitmap Index Scan on " in line)
        assert f" {index} " in f"{read} ", plan
    assert "Seq Scan" not in plan, plan


@pytest.mark.parametrize(("reader", "index"), READERS)
def test_the_tables_count_of_a_status_and_theme_reads_indexes_alone(theme, reader, index):
    client = Client()
    client.force_login(reader())
    url = f"{reverse('commitments:commitment_list')}?status=in_progress&theme={theme.pk}&page=2"

    assert_read_from_indexes(the_count(client, url), index)


@pytest.mark.parametrize(("reader", "index"), READERS)
def test_the_apis_count_of_a_status_and_theme_reads_indexes_alone(theme, reader, index):
    client = token_client(reader())
    url = f"{reverse('api:commitment_list')}?status=in_progress&theme={theme.slug}"

    assert_read_from_indexes(the_count(client, url), index)
