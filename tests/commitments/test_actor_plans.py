"""A state's page reads only that state's commitments (commitments.selectors): the list and
the ids its latest updates are read by come from the two link tables' rows of the actor, through
their actor index, and each commitment by its primary key. With sequential scans turned off, a
plan that still reads commitments other than by id walks the whole table (as two EXISTS joined
by OR did: every commitment tested, 20,000 for a state's 170)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from commitments import selectors
from tests.factories import ActorFactory, CommitmentFactory, LiaisonFactory, SecretariatFactory
from tests.query_plans import plan_of

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans"),
]


def commitment_reads(plan: str) -> list[str]:
    """Each read of the commitments table with the line after it (its condition)."""
    lines = plan.splitlines()
    return [
        f"{line.strip()} / {following.strip()}"
        for line, following in zip(lines, [*lines[1:], ""], strict=True)
        if " on commitments_commitment " in f"{line} "
    ]


def plan_of_sql(sql: str) -> str:
    """The plan of a query as run (its parameters in place), sequential scans off as plan_of."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def assert_read_by_id(plan: str) -> None:
    reads = commitment_reads(plan)
    assert reads, plan
    for read in reads:
        assert "commitments_commitment_pkey" in read and "Index Cond: (id = " in read, plan


@pytest.fixture
def actor():
    actor = ActorFactory()
    supported = CommitmentFactory()
    supported.supporting_actors.add(actor)
    actor.involved = {CommitmentFactory(lead_actors=[actor]).pk, supported.pk}
    CommitmentFactory()  # another actor's
    return actor


@pytest.mark.parametrize("reader", [SecretariatFactory, LiaisonFactory])
def test_the_state_pages_list_reads_its_commitments_by_id(actor, reader):
    listed = selectors.actor_commitment_list(user=reader(), actor=actor)

    assert {commitment.pk for commitment in listed} == actor.involved
    assert_read_by_id(plan_of(listed))


def test_the_ids_of_the_latest_updates_come_from_the_actors_link_rows(actor):
    ids = selectors.actor_commitment_ids(actor=actor)
    plan = plan_of(ids)

    assert set(ids) == actor.involved
    assert not commitment_reads(plan), plan
    for link in ("lead_actors", "supporting_actors"):
        assert f"commitments_commitment_{link}_actor_id" in plan, plan


@pytest.mark.parametrize("reader", [SecretariatFactory, LiaisonFactory])
def test_a_page_of_the_state_reads_its_commitments_by_id(actor, reader):
    pages = [
        selectors.actor_commitment_page(user=reader(), actor=actor, number=n, size=1)
        for n in (1, 2, 3)
    ]

    assert [len(page) for page in pages] == [1, 1, 0]
    assert {commitment.pk for page in pages for commitment in page} == actor.involved
    assert_read_by_id(plan_of(pages[1]))


def test_the_states_commitments_are_counted_from_its_link_rows(actor):
    with CaptureQueriesContext(connection) as queries:
        assert selectors.actor_commitment_count(actor=actor) == len(actor.involved)
    plan = plan_of_sql(queries.captured_queries[0]["sql"])

    assert not commitment_reads(plan), plan
    for link in ("lead_actors", "supporting_actors"):
        assert f"commitments_commitment_{link}_actor_id" in plan, plan
