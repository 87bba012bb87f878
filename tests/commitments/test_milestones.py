"""Milestones and the progress rule: progress = floor(100 x done weight / total weight)."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from commitments import milestones, selectors, services
from commitments.models import Milestone
from commitments.progress import progress_from_weights
from core.editing import StaleVersion
from tests.factories import CommitmentFactory, DocumentFactory, ParagraphFactory, post_status_update

ADOPTED = datetime.date(2020, 12, 12)  # DocumentFactory's adoption day


@pytest.fixture
def commitment(db):
    paragraph = ParagraphFactory(document=DocumentFactory(adopted_on=ADOPTED))
    return CommitmentFactory(title="OCHA office", paragraphs=[paragraph])


def add(commitment, author, title="Step", weight=1, due_on=None):
    return milestones.milestone_create(
        commitment=commitment, author=author, title=title, weight=weight, due_on=due_on
    )


def done(milestone, author, day=datetime.date(2022, 5, 1), **proof):
    proof = proof or {"evidence_url": "https://example.org/done"}
    milestone.refresh_from_db()
    return milestones.milestone_done(
        milestone=milestone,
        author=author,
        done_on=day,
        expected_version=milestone.version,
        **proof,
    )


@pytest.fixture
def three(commitment, secretariat):
    """2 of 3 milestones done, weights 1+2 of 4: 75 %."""
    rows = [add(commitment, secretariat, f"Step {w}", weight=w) for w in (1, 2, 1)]
    done(rows[0], secretariat)
    done(rows[1], secretariat)
    commitment.refresh_from_db()
    return rows


# -- the rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("done_weight", "total", "figure"), [(3, 4, 75), (1, 3, 33), (2, 3, 66), (0, 5, 0), (7, 7, 100)]
)
def test_the_rule_rounds_down_to_a_whole_per_cent(done_weight, total, figure):
    assert progress_from_weights(done=done_weight, total=total) == figure


def test_milestones_done_set_the_commitments_progress_for_both_audiences(three, commitment):
    assert (commitment.progress, commitment.public_progress) == (75, 75)


def test_the_database_rounds_down_as_the_rule_does(commitment, secretariat):
    rows = [add(commitment, secretariat, f"Step {i}") for i in range(3)]
    done(rows[0], secretariat)
    commitment.refresh_from_db()
    assert commitment.progress == 33  # 33.3 %, not 34


def test_a_restore_recomputes_the_figure_from_milestones(three, commitment):
    type(commitment).objects.filter(pk=commitment.pk).update(progress=0, public_progress=0)

    services.commitments_copies_refresh()

    commitment.refresh_from_db()
    assert (commitment.progress, commitment.public_progress) == (75, 75)


def test_deleting_and_editing_milestones_recompute_the_figure(three, commitment, secretariat):
    milestones.milestone_delete(milestone=three[2], author=secretariat, expected_version=1)
    commitment.refresh_from_db()
    assert commitment.progress == 100

    first = Milestone.objects.get(pk=three[0].pk)
    milestones.milestone_update(
        milestone=first,
        author=secretariat,
        title=first.title,
        weight=1,
        due_on=None,
        expected_version=first.version,
    )
    add(commitment, secretariat, "New step", weight=3)
    commitment.refresh_from_db()
    assert commitment.progress == 50  # 1+2 of 6


# -- status updates on a commitment with milestones ------------------------------------------


def test_a_typed_figure_is_refused_where_milestones_exist(three, commitment, secretariat):
    with pytest.raises(services.ProgressRefused, match="computed from them"):
        post_status_update(commitment, secretariat, progress=30)

    assert not commitment.updates.exists()
    commitment.refresh_from_db()
    assert commitment.progress == 75


def test_an_update_records_the_computed_figure_at_posting(three, commitment, secretariat):
    update = post_status_update(commitment, secretariat, progress=None)

    assert (update.progress, update.progress_reason) == (75, "")
    done(three[2], secretariat)
    update.refresh_from_db()
    commitment.refresh_from_db()
    assert (update.progress, commitment.progress) == (75, 100)  # history keeps its figure


def test_without_milestones_a_figure_is_required(commitment, secretariat):
    with pytest.raises(services.ProgressRefused, match="type its progress"):
        post_status_update(commitment, secretariat, progress=None)
    assert not commitment.updates.exists()


def test_without_milestones_the_typed_figure_and_its_reason_are_kept(commitment, secretariat):
    update = post_status_update(commitment, secretariat, progress=30, progress_reason="3 of 10")

    commitment.refresh_from_db()
    assert (commitment.progress, update.progress_reason) == (30, "3 of 10")


# -- refusals -----------------------------------------------------------------------------------


def test_a_due_date_before_the_document_was_adopted_is_refused(commitment, secretariat):
    with pytest.raises(ValidationError) as refused:
        add(commitment, secretariat, due_on=ADOPTED - datetime.timedelta(days=1))

    assert "before 12 December 2020" in str(refused.value.message_dict["due_on"])
    assert not commitment.milestones.exists()
    add(commitment, secretariat, due_on=ADOPTED)  # the day itself is fine


def test_the_earliest_document_decides(commitment, secretariat):
    older = ParagraphFactory(document=DocumentFactory(adopted_on=datetime.date(2015, 12, 12)))
    commitment.paragraphs.add(older)

    add(commitment, secretariat, due_on=datetime.date(2016, 1, 1))

    assert commitment.milestones.count() == 1


@pytest.mark.parametrize("weight", [0, -2])
def test_a_weight_that_is_not_positive_is_refused(commitment, secretariat, weight):
    with pytest.raises(ValidationError, match="1 or more"):
        add(commitment, secretariat, weight=weight)
    assert not commitment.milestones.exists()


def test_a_done_milestone_cannot_be_deleted(three, secretariat):
    with pytest.raises(ValidationError, match="cannot be deleted"):
        milestones.milestone_delete(milestone=three[0], author=secretariat, expected_version=2)
    assert Milestone.objects.filter(pk=three[0].pk).exists()


def test_a_stale_edit_writes_nothing(commitment, secretariat):
    milestone = add(commitment, secretariat, "First title")
    milestones.milestone_update(
        milestone=milestone,
        author=secretariat,
        title="Second title",
        weight=1,
        due_on=None,
        expected_version=1,
    )
    stale = Milestone.objects.get(pk=milestone.pk)
    with pytest.raises(StaleVersion):
        milestones.milestone_update(
            milestone=stale,
            author=secretariat,
            title="Third title",
            weight=5,
            due_on=None,
            expected_version=1,
        )
    stale.refresh_from_db()
    assert (stale.title, stale.weight) == ("Second title", 1)


def test_a_proof_from_another_commitment_is_refused(commitment, secretariat):
    milestone = add(commitment, secretariat)
    other = post_status_update(CommitmentFactory(), secretariat)
    with pytest.raises(ValidationError, match="this commitment"):
        done(milestone, secretariat, evidence_url="", proved_by=other)
    milestone.refresh_from_db()
    assert milestone.done_on is None


# -- order ------------------------------------------------------------------------------------


def titles(commitment):
    return [
        m.title
        for m in selectors.commitment_milestones(user=commitment.owner, commitment=commitment)
    ]


def test_moving_swaps_with_the_neighbour_and_stops_at_the_ends(commitment, secretariat):
    a, b, c = (add(commitment, secretariat, title) for title in "ABC")
    milestones.milestone_move(milestone=c, author=secretariat, direction="up")
    assert titles(commitment) == ["A", "C", "B"]
    milestones.milestone_move(milestone=a, author=secretariat, direction="up")
    assert titles(commitment) == ["A", "C", "B"]
    milestones.milestone_move(milestone=a, author=secretariat, direction="down")
    assert titles(commitment) == ["C", "A", "B"]
    milestones.milestone_move(milestone=b, author=secretariat, direction="down")
    assert titles(commitment) == ["C", "A", "B"]
