import datetime

import pytest

from commitments.models import Commitment
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
