"""Commitment.undone_milestone_due_on, the copy the deadline annotations read instead of a
milestone subquery per commitment: kept on every write path, and the lists' SQL writes the
one milestone subquery left at most twice (in the two branches of a CASE, run once a row)."""

import datetime
import importlib

import pytest
from django.apps import apps
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from commitments import deadlines, milestones, selectors, services
from commitments.export_rows import FIELDS
from commitments.models import Commitment, Milestone
from tests.factories import CommitmentFactory, DocumentFactory, ParagraphFactory

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 12, 12)
DAY = datetime.timedelta(days=1)
PROOF = {"evidence_url": "https://example.org/done"}


@pytest.fixture
def commitment(db):
    paragraph = ParagraphFactory(document=DocumentFactory(adopted_on=datetime.date(2020, 1, 1)))
    return CommitmentFactory(paragraphs=[paragraph])


def copy_of(commitment) -> datetime.date | None:
    return Commitment.objects.values_list("undone_milestone_due_on", flat=True).get(
        pk=commitment.pk
    )


def add(commitment, author, due_on):
    return milestones.milestone_create(
        commitment=commitment, author=author, title=f"Due {due_on}", weight=1, due_on=due_on
    )


def fresh(milestone):
    return Milestone.objects.select_related("commitment").get(pk=milestone.pk)


def test_the_milestone_services_keep_the_copy(commitment, secretariat):
    later = add(commitment, secretariat, TODAY + 9 * DAY)
    assert copy_of(commitment) == TODAY + 9 * DAY
    first = add(commitment, secretariat, TODAY - 3 * DAY)
    assert copy_of(commitment) == TODAY - 3 * DAY

    first = fresh(first)
    milestones.milestone_update(
        milestone=first,
        author=secretariat,
        title=first.title,
        weight=1,
        due_on=TODAY - 5 * DAY,
        expected_version=first.version,
    )
    assert copy_of(commitment) == TODAY - 5 * DAY

    first = fresh(first)
    milestones.milestone_done(
        milestone=first, author=secretariat, done_on=TODAY, expected_version=first.version, **PROOF
    )
    assert copy_of(commitment) == TODAY + 9 * DAY

    first = fresh(first)
    milestones.milestone_undone(milestone=first, author=secretariat, expected_version=first.version)
    assert copy_of(commitment) == TODAY - 5 * DAY

    first = fresh(first)
    milestones.milestone_delete(milestone=first, author=secretariat, expected_version=first.version)
    assert copy_of(commitment) == TODAY + 9 * DAY

    later = fresh(later)
    milestones.milestone_delete(milestone=later, author=secretariat, expected_version=later.version)
    assert copy_of(commitment) is None


def test_a_milestone_saved_or_deleted_outside_the_services_keeps_it(commitment):
    """The demo loader, the shell, the factories: the receivers see each save and delete."""
    undated = Milestone.objects.create(commitment=commitment, title="Undated")
    assert copy_of(commitment) is None
    dated = Milestone.objects.create(commitment=commitment, title="Dated", due_on=TODAY)
    assert copy_of(commitment) == TODAY
    dated.delete()
    assert copy_of(commitment) is None
    undated.delete()


def test_deleting_a_commitment_with_milestones_deletes_both(commitment):
    Milestone.objects.create(commitment=commitment, title="Dated", due_on=TODAY)
    commitment.delete()
    assert not Milestone.objects.exists() and not Commitment.objects.exists()


def test_bulk_rows_and_a_restore_get_it_from_commitments_copies_refresh(commitment):
    """bench.generator and tracker.backup write milestones past the receivers, then refresh."""
    Milestone.objects.bulk_create(
        [
            Milestone(commitment=commitment, title="Done", due_on=TODAY - 9 * DAY, done_on=TODAY),
            Milestone(commitment=commitment, title="Open", due_on=TODAY + DAY),
        ]
    )
    assert copy_of(commitment) is None

    services.commitments_copies_refresh()

    assert copy_of(commitment) == TODAY + DAY


def test_the_migration_fills_it_for_the_milestones_already_there(commitment):
    other = CommitmentFactory()
    Milestone.objects.bulk_create(
        [
            Milestone(commitment=commitment, title="Later", due_on=TODAY + DAY),
            Milestone(commitment=commitment, title="Earlier", due_on=TODAY - DAY),
        ]
    )
    migration = importlib.import_module(
        "commitments.migrations.0019_commitment_undone_milestone_due_on"
    )

    migration.undone_milestone_due_fill(apps, None)

    assert (copy_of(commitment), copy_of(other)) == (TODAY - DAY, None)


def test_next_due_past_a_missed_milestone_is_the_next_undone_one(commitment):
    """The one date the copy cannot give: overdue by a milestone, the next one still ahead."""
    commitment.target_date = TODAY + 40 * DAY
    commitment.save(update_fields=["target_date"])
    for due_on, done_on in (
        (TODAY - 2 * DAY, None),
        (TODAY + 3 * DAY, TODAY - DAY),
        (TODAY + 5 * DAY, None),
    ):
        Milestone.objects.create(commitment=commitment, title="S", due_on=due_on, done_on=done_on)
    visible = Commitment.objects.annotate(
        shown_status=F("status"), shown_last_activity=F("last_activity_on")
    )
    row = deadlines.annotate(visible, today=TODAY).get(pk=commitment.pk)
    assert (row.deadline, row.overdue_since, row.next_due, row.due_date) == (
        deadlines.OVERDUE,
        TODAY - 2 * DAY,
        TODAY + 5 * DAY,
        TODAY - 2 * DAY,
    )


def milestone_subqueries(sql: str) -> int:
    return sql.count('FROM "commitments_milestone"')


def test_the_export_and_the_table_write_the_milestone_subquery_at_most_twice(
    commitment, secretariat
):
    """Django writes an annotation's whole expression again wherever a later one refers to
    it: due_date and deadline used to repeat overdue_since's and next_due's subqueries (4 in
    the export's rows, 6 in the table sorted by due date), each run for every commitment."""
    Milestone.objects.create(commitment=commitment, title="Dated", due_on=TODAY - DAY)
    listed = selectors.commitment_dated_list(user=secretariat, today=TODAY)
    rows = listed.values_list("pk", *FIELDS)  # the export's, and every annotation the table has
    readings = {
        "export": rows,
        "by due date": rows.order_by("due_date", "title"),
        "overdue": rows.filter(deadline=deadlines.OVERDUE),
    }
    for name, queryset in readings.items():
        with CaptureQueriesContext(connection) as read:
            assert len(list(queryset)) == 1, name
        [query] = read.captured_queries
        assert milestone_subqueries(query["sql"]) <= 2, name
