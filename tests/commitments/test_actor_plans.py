"""A state's page reads only that state's commitments (commitments.selectors): the list and
the ids its latest updates are read by come from the two link tables' rows of the actor, through
their actor index, and each commitment by its primary key. With sequential scans turned off, a
plan that still reads commitments other than by id walks the whole table (as two EXISTS joined
by OR did: every commitment tested, 20,000 for a state's 170)."""

import pytest
from django.db import connection

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
