"""The days each commitment stood achieved (AchievedSpan), per audience, kept with every write
of its history: each path that writes is checked against a replay of the history in Python.
The bulk import, the restore and the bench's data are checked in their own tests
(test_bulk_import, tests/test_backup.py, tests/bench/test_generator.py)."""

import datetime
import importlib
from types import SimpleNamespace

import pytest
from django.db import connection

from commitments import services
from commitments.achieved_spans import achieved_spans_refresh
from commitments.models import AchievedSpan, StatusUpdate
from commitments.statuses import Status
from tests.factories import CommitmentFactory
from tests.factories import post_status_update as post

pytestmark = pytest.mark.django_db

D = datetime.date
PUBLIC, INTERNAL = StatusUpdate.Visibility.PUBLIC, StatusUpdate.Visibility.INTERNAL
SECRETARIAT, PUBLIC_AUDIENCE = AchievedSpan.Audience.SECRETARIAT, AchievedSpan.Audience.PUBLIC


def replayed_spans(audience: str) -> set[tuple]:
    """(commitment id, started_on, ended_on) replayed from the updates in effect the audience
    reads, one by one in the timeline's order: what the table must hold."""
    updates = StatusUpdate.objects.in_effect().order_by("happened_on", "recorded_at", "pk")
    if audience == PUBLIC_AUDIENCE:
        updates = updates.filter(visibility=PUBLIC)
    spans, open_since = [], {}
    for update in updates:
        achieved = update.status == Status.ACHIEVED
        started = open_since.get(update.commitment_id)
        if achieved and started is None:
            open_since[update.commitment_id] = update.happened_on
        elif not achieved and started is not None:
            spans.append((update.commitment_id, started, update.happened_on))
            del open_since[update.commitment_id]
    spans += [(pk, started, None) for pk, started in open_since.items()]
    return {span for span in spans if span[1] != span[2]}  # achieved and undone the same day


def stored_spans(audience: str) -> set[tuple]:
    rows = AchievedSpan.objects.filter(audience=audience)
    return set(rows.values_list("commitment_id", "started_on", "ended_on"))


def assert_kept() -> None:
    for audience in AchievedSpan.Audience.values:
        assert stored_spans(audience) == replayed_spans(audience), audience


def achieve(commitment, author, day, visibility=PUBLIC, status=Status.ACHIEVED):
    return post(
        commitment, author, status=status, progress=100, happened_on=day, visibility=visibility
    )


@pytest.fixture
def commitment(db):
    return CommitmentFactory()


def test_a_status_update_keeps_each_audiences_spans(commitment, secretariat):
    achieve(commitment, secretariat, D(2021, 1, 1), INTERNAL)
    achieve(commitment, secretariat, D(2021, 6, 1), PUBLIC, Status.STALLED)
    achieve(commitment, secretariat, D(2022, 1, 1), PUBLIC)
    achieve(commitment, secretariat, D(2022, 1, 1), INTERNAL)  # still achieved: one span

    pk = commitment.pk
    assert stored_spans(SECRETARIAT) == {
        (pk, D(2021, 1, 1), D(2021, 6, 1)),
        (pk, D(2022, 1, 1), None),
    }
    assert stored_spans(PUBLIC_AUDIENCE) == {(pk, D(2022, 1, 1), None)}  # never the internal one
    assert_kept()


def test_an_update_entered_late_reopens_the_span_it_falls_into(commitment, secretariat):
    achieve(commitment, secretariat, D(2021, 1, 1))
    achieve(commitment, secretariat, D(2023, 1, 1), status=Status.IN_PROGRESS)

    achieve(commitment, secretariat, D(2022, 1, 1), status=Status.STALLED)

    assert stored_spans(PUBLIC_AUDIENCE) == {(commitment.pk, D(2021, 1, 1), D(2022, 1, 1))}
    assert_kept()


def test_achieved_and_undone_on_one_day_makes_no_span(commitment, secretariat):
    achieve(commitment, secretariat, D(2021, 1, 1))
    achieve(commitment, secretariat, D(2021, 1, 1), status=Status.IN_PROGRESS)

    assert stored_spans(SECRETARIAT) == set() == stored_spans(PUBLIC_AUDIENCE)
    assert_kept()


def test_a_correction_keeps_the_spans(commitment, secretariat):
    achieve(commitment, secretariat, D(2021, 1, 1), status=Status.IN_PROGRESS)
    wrong = achieve(commitment, secretariat, D(2022, 1, 1))
    assert stored_spans(PUBLIC_AUDIENCE) == {(commitment.pk, D(2022, 1, 1), None)}

    services.status_update_correct(
        update=wrong,
        author=secretariat,
        status=Status.STALLED,
        progress=60,
        narrative="Not achieved after all.",
        reason="Misread.",
        expected_version=commitment.version,
    )

    assert stored_spans(SECRETARIAT) == set() == stored_spans(PUBLIC_AUDIENCE)
    assert_kept()


def test_a_withdrawal_keeps_the_spans(commitment, secretariat):
    achieve(commitment, secretariat, D(2021, 1, 1))
    stalled = achieve(commitment, secretariat, D(2022, 1, 1), status=Status.STALLED)
    services.status_update_withdraw(
        update=stalled,
        author=secretariat,
        reason="Wrong commitment.",
        expected_version=commitment.version,
    )

    assert stored_spans(PUBLIC_AUDIENCE) == {(commitment.pk, D(2021, 1, 1), None)}
    assert_kept()


def test_deleting_a_commitment_drops_its_spans(commitment, secretariat):
    other = CommitmentFactory()
    achieve(commitment, secretariat, D(2021, 1, 1))
    achieve(other, secretariat, D(2022, 1, 1))

    commitment.delete()

    assert stored_spans(PUBLIC_AUDIENCE) == {(other.pk, D(2022, 1, 1), None)}
    assert_kept()


def test_a_refresh_costs_three_queries_whatever_the_history(
    commitment, secretariat, django_assert_num_queries
):
    for year in range(2000, 2030):
        status = Status.ACHIEVED if year % 3 else Status.STALLED
        achieve(commitment, secretariat, D(year, 1, 1), status=status)

    with django_assert_num_queries(3):  # a DELETE, then an INSERT ... SELECT per audience
        achieved_spans_refresh(commitment_ids=[commitment.pk])
    assert len(stored_spans(SECRETARIAT)) == 11  # the last one still open
    assert_kept()


def test_the_migration_fills_the_spans_as_the_writes_keep_them(secretariat):
    """Migration 0017's frozen SQL against the service's, on a history of every kind."""
    first, second = CommitmentFactory(), CommitmentFactory()
    achieve(first, secretariat, D(2021, 1, 1), INTERNAL)
    achieve(first, secretariat, D(2021, 1, 1), PUBLIC, Status.IN_PROGRESS)
    wrong = achieve(second, secretariat, D(2021, 3, 1))
    achieve(second, secretariat, D(2024, 3, 1), INTERNAL, Status.STALLED)
    services.status_update_correct(
        update=wrong, author=secretariat, status=Status.ACHIEVED, progress=100, narrative="x",
        reason="y", expected_version=second.version,
    )  # fmt: skip
    kept = {audience: stored_spans(audience) for audience in AchievedSpan.Audience.values}
    AchievedSpan.objects.all().delete()

    migration = importlib.import_module("commitments.migrations.0017_achieved_spans")
    migration.achieved_spans_fill(None, SimpleNamespace(connection=connection))

    assert {audience: stored_spans(audience) for audience in kept} == kept
    assert kept[SECRETARIAT] and kept[PUBLIC_AUDIENCE] != kept[SECRETARIAT]
    assert_kept()


def test_one_commitments_refresh_runs_its_compiled_statement_with_that_id_alone(secretariat):
    """A status update refreshes one commitment with a statement the ORM wrote once
    (core.compiled); it rewrites that commitment's spans and no other's."""
    first, second = CommitmentFactory(), CommitmentFactory()
    for commitment in (first, second):
        post(
            commitment, secretariat, status=Status.ACHIEVED, progress=100, happened_on=D(2021, 3, 1)
        )
        post(commitment, secretariat, status=Status.STALLED, progress=60, happened_on=D(2021, 5, 1))
    AchievedSpan.objects.all().delete()
    for _ in range(2):  # the second call reuses the statement
        achieved_spans_refresh(commitment_ids=[second.pk])
    for audience in (SECRETARIAT, PUBLIC_AUDIENCE):
        assert stored_spans(audience) == {(second.pk, D(2021, 3, 1), D(2021, 5, 1))}
    achieved_spans_refresh(commitment_ids=[first.pk, second.pk])  # the ORM's path, both
    for audience in (SECRETARIAT, PUBLIC_AUDIENCE):
        assert stored_spans(audience) == replayed_spans(audience)
