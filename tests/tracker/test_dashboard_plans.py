"""The dashboard's deadline lists can be read from their indexes (Commitment.Meta): each
list's filter and order are the indexed expression and condition, for both audiences. With
sequential scans turned off, a plan that still scans the table means the query and the index
no longer match (the index would be dead weight, and the list would sort every commitment)."""

import datetime

import pytest
from django.db import connection

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
    CommitmentFactory(target_date=TODAY)
    user = reader()
    for listed in (
        selectors.dashboard_overdue_commitments(user=user, today=TODAY),
        selectors.dashboard_due_soon_commitments(user=user, today=TODAY),
    ):
        plan = plan_of(listed)
        assert index in plan, plan
        assert "Sort" not in plan.split(index)[0], plan  # read in order, not sorted


def test_the_upcoming_list_reads_its_index():
    CommitmentFactory(target_date=TODAY)
    upcoming = selectors.dashboard_upcoming_commitments(user=SecretariatFactory(), today=TODAY)
    plan = plan_of(upcoming)
    assert "commitment_target_title" in plan, plan
