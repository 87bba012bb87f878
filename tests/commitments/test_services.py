import datetime

import pytest

from commitments import services
from commitments.models import Commitment, Milestone
from commitments.services import EditConflict, commitments_copies_refresh
from commitments.statuses import Status
from tests.factories import CommitmentFactory
from tests.factories import post_status_update as post


@pytest.fixture
def commitment(db):
    return CommitmentFactory()


def test_an_update_becomes_the_commitments_current_state(commitment, secretariat):
    post(commitment, secretariat, links=[("Press release", "https://example.org/a")])

    assert (commitment.status, commitment.progress) == (Status.IN_PROGRESS, 40)
    assert commitment.last_activity_on == datetime.date(2021, 3, 1)
    assert commitment.version == 2
    assert commitment.updates.get().links.get().title == "Press release"


def test_history_entered_after_the_fact_does_not_hide_a_newer_update(commitment, secretariat):
    post(
        commitment,
        secretariat,
        status=Status.ACHIEVED,
        progress=100,
        happened_on=datetime.date(2021, 4, 16),
    )
    post(
        commitment,
        secretariat,
        status=Status.IN_PROGRESS,
        progress=30,
        happened_on=datetime.date(2021, 1, 5),
    )

    assert (commitment.status, commitment.progress) == (Status.ACHIEVED, 100)
    assert commitment.updates.count() == 2


def test_a_post_against_an_old_version_is_refused_and_writes_nothing(commitment, secretariat):
    post(commitment, secretariat, expected_version=1)

    with pytest.raises(EditConflict) as conflict:
        post(commitment, secretariat, status=Status.STALLED, expected_version=1)

    assert conflict.value.commitment.status == Status.IN_PROGRESS
    assert commitment.updates.count() == 1
    commitment.refresh_from_db()
    assert commitment.version == 2


def test_a_change_of_status_enters_the_commitments_audit_trail(commitment, secretariat):
    from tracker.audit import audit_entries_for

    post(commitment, secretariat, status=Status.ACHIEVED, progress=100)

    latest = audit_entries_for(commitment, viewer=secretariat)[0]
    assert latest.actor == secretariat.get_username()
    assert latest.sentences == [
        "Status changed from Not started to Achieved by officer",
        "Progress changed from 0 to 100 by officer",
    ]


def test_the_public_state_is_the_latest_public_update(commitment, secretariat):
    post(commitment, secretariat, status=Status.IN_PROGRESS, progress=30)
    post(
        commitment,
        secretariat,
        status=Status.STALLED,
        progress=30,
        happened_on=datetime.date(2021, 6, 1),
        visibility="internal",
    )

    assert (commitment.status, commitment.public_status) == (Status.STALLED, Status.IN_PROGRESS)
    assert commitment.public_progress == 30
    assert commitment.public_last_activity_on == datetime.date(2021, 3, 1)


def test_every_copy_can_be_rebuilt_from_the_history(commitment, secretariat):
    post(commitment, secretariat, status=Status.ACHIEVED, progress=100)
    Commitment.objects.update(
        status=Status.NOT_STARTED,
        progress=0,
        public_status=Status.NOT_STARTED,
        public_progress=0,
        last_activity_on=None,
        public_last_activity_on=None,
        first_paragraph_number=None,
    )

    assert commitments_copies_refresh() == 1

    commitment.refresh_from_db()
    assert (commitment.status, commitment.public_status) == (Status.ACHIEVED, Status.ACHIEVED)
    assert commitment.public_last_activity_on == datetime.date(2021, 3, 1)
    assert commitment.first_paragraph_number == commitment.paragraphs.get().number


COPIED = (
    "status",
    "progress",
    "last_activity_on",
    "public_status",
    "public_progress",
    "public_last_activity_on",
)


def _copies(commitment) -> tuple:
    commitment.refresh_from_db()
    return tuple(getattr(commitment, field) for field in COPIED)


def test_the_current_state_refresh_writes_what_the_orm_would_for_that_commitment_only(
    commitment, secretariat
):
    """commitment_current_state_refresh runs the ORM's UPDATE compiled once per process
    (services._current_state_statement) with each commitment's id in it."""
    other = CommitmentFactory()
    post(commitment, secretariat, status=Status.IN_PROGRESS, progress=30)
    post(commitment, secretariat, status=Status.STALLED, progress=30, visibility="internal",
         happened_on=datetime.date(2021, 6, 1))  # fmt: skip
    post(other, secretariat, status=Status.ACHIEVED, progress=100)
    Milestone.objects.create(commitment=other, title="Law passed", weight=1, done_on=None)
    Milestone.objects.create(commitment=other, title="Law drafted", weight=3,
                             done_on=datetime.date(2021, 2, 1))  # fmt: skip
    blank = dict.fromkeys(("last_activity_on", "public_last_activity_on"))
    blank |= {"status": Status.NOT_STARTED, "public_status": Status.NOT_STARTED}
    Commitment.objects.update(progress=0, public_progress=0, **blank)

    for one in (commitment, other, commitment):  # the second call reuses the statement
        services.commitment_current_state_refresh(commitment=one)
    refreshed = _copies(commitment), _copies(other)
    assert refreshed[0] == (Status.STALLED, 30, datetime.date(2021, 6, 1),
                            Status.IN_PROGRESS, 30, datetime.date(2021, 3, 1))  # fmt: skip
    assert refreshed[1][:2] == (Status.ACHIEVED, 75)  # its milestones' figure: 3 of 4
    commitments_copies_refresh()  # the ORM's own UPDATE, every commitment
    assert (_copies(commitment), _copies(other)) == refreshed


def test_the_current_state_refresh_leaves_other_commitments_alone(commitment, secretariat):
    other = CommitmentFactory()
    post(other, secretariat, status=Status.ACHIEVED, progress=100)
    Commitment.objects.filter(pk=other.pk).update(status=Status.NOT_STARTED)
    services.commitment_current_state_refresh(commitment=commitment)
    other.refresh_from_db()
    assert other.status == Status.NOT_STARTED


def test_one_commitments_first_paragraph_refresh_touches_that_commitment_alone(db):
    """A commitment's own links run the statement compiled once (core.compiled)."""
    first, second = CommitmentFactory(), CommitmentFactory()
    Commitment.objects.update(first_paragraph_number=None)
    for _ in range(2):  # the second call reuses the statement
        assert services.commitments_first_paragraph_refresh(commitment_ids=[second.pk]) == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.first_paragraph_number is None
    assert second.first_paragraph_number == second.paragraphs.get().number
    services.commitments_first_paragraph_refresh(commitment_ids=[first.pk, second.pk])
    first.refresh_from_db()
    assert first.first_paragraph_number == first.paragraphs.get().number
