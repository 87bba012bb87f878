"""Writes to a commitment's milestones. Each function is one transaction and leaves the
commitment's progress as the rule computes it (commitments.progress), its pages uncached."""

import datetime
from typing import Literal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Min
from django.utils.translation import gettext

from core import caching
from core.editing import version_claim

from .changes import public_change_announce
from .models import Commitment, Document, Milestone, StatusUpdate
from .services import (
    AUDITED_STATE_FIELDS,
    CommitmentRetired,
    _state_change_audit,
    commitment_current_state_refresh,
    planned_days_checked,
)


def commitment_adopted_on(*, commitment: Commitment) -> datetime.date | None:
    """When the commitment's document was adopted: the earliest of its paragraphs' documents."""
    documents = Document.objects.filter(paragraphs__commitments=commitment)
    return documents.aggregate(first=Min("adopted_on"))["first"]


def _dates_checked(*, commitment: Commitment, **days: datetime.date | None) -> None:
    """Refuse a due or done day before the document asked for the commitment, or one too far
    ahead to be a plan (services.planned_days_checked)."""
    planned_days_checked(adopted_on=commitment_adopted_on(commitment=commitment), **days)


def _open_checked(commitment: Commitment) -> None:
    """A retired commitment takes no edits, its milestones included (CommitmentRetired)."""
    if commitment.is_retired:
        raise CommitmentRetired(commitment)


def _weight_checked(weight: int) -> None:
    if weight < 1:
        raise ValidationError(
            {
                "weight": gettext(
                    "A weight is a whole number of 1 or more: enter 1 for a step of ordinary size."
                )
            }
        )


def _progress_refresh(*, commitment: Commitment, author) -> None:
    """Recompute the commitment's copied state (its figure, by the rule), record a change of
    figure in its audit trail and forget the cached pages."""
    before = {field: getattr(commitment, field) for field in AUDITED_STATE_FIELDS}
    commitment_current_state_refresh(commitment=commitment)
    _state_change_audit(commitment=commitment, before=before, author=author)
    # Milestones are written with UPDATEs too (positions, versions): no signal reports them all.
    caching.invalidate(caching.DASHBOARD, caching.RECORD)


def milestone_create(
    *,
    commitment: Commitment,
    author,
    title: str,
    weight: int,
    due_on: datetime.date | None = None,
) -> Milestone:
    """Add a milestone after the commitment's last one."""
    _open_checked(commitment)
    _weight_checked(weight)
    _dates_checked(commitment=commitment, due_on=due_on)
    with transaction.atomic():
        last = commitment.milestones.aggregate(last=Max("position"))["last"] or 0
        milestone = Milestone.objects.create(
            commitment=commitment, position=last + 1, title=title, due_on=due_on, weight=weight
        )
        _progress_refresh(commitment=commitment, author=author)
    return milestone


def milestone_update(
    *,
    milestone: Milestone,
    author,
    title: str,
    weight: int,
    due_on: datetime.date | None,
    expected_version: int,
) -> Milestone:
    """Change a milestone's title, due date and weight; StaleVersion if it changed meanwhile."""
    _open_checked(milestone.commitment)
    _weight_checked(weight)
    _dates_checked(commitment=milestone.commitment, due_on=due_on)
    with transaction.atomic():
        version_claim(instance=milestone, expected_version=expected_version)
        milestone.title, milestone.weight, milestone.due_on = title, weight, due_on
        # Saved through the model, so the commitment's change history records it.
        milestone.save(update_fields=["title", "weight", "due_on"])
        _progress_refresh(commitment=milestone.commitment, author=author)
    return milestone


def milestone_done(
    *,
    milestone: Milestone,
    author,
    done_on: datetime.date,
    expected_version: int,
    evidence_url: str = "",
    proved_by: StatusUpdate | None = None,
) -> Milestone:
    """Mark a milestone done on a day, with a link or one of its commitment's updates proving
    it; the commitment's progress follows."""
    commitment = milestone.commitment
    _open_checked(commitment)
    if not evidence_url and proved_by is None:
        raise ValidationError(
            gettext("Give the evidence: a link, or the status update that reports it done.")
        )
    if proved_by is not None:
        _proof_checked(commitment=commitment, proved_by=proved_by)
    _dates_checked(commitment=commitment, done_on=done_on)
    with transaction.atomic():
        version_claim(instance=milestone, expected_version=expected_version)
        milestone.done_on, milestone.evidence_url = done_on, evidence_url
        milestone.proved_by = proved_by
        milestone.save(update_fields=["done_on", "evidence_url", "proved_by"])
        _progress_refresh(commitment=commitment, author=author)
        public_change_announce(commitment=commitment, kind="milestone", milestone=milestone)
    return milestone


def milestone_undone(*, milestone: Milestone, author, expected_version: int) -> Milestone:
    """Mark a milestone not done after all (a wrong click): its day and proof are cleared,
    the change is in the commitment's history and its progress follows."""
    _open_checked(milestone.commitment)
    with transaction.atomic():
        version_claim(instance=milestone, expected_version=expected_version)
        milestone.done_on, milestone.evidence_url, milestone.proved_by = None, "", None
        milestone.save(update_fields=["done_on", "evidence_url", "proved_by"])
        _progress_refresh(commitment=milestone.commitment, author=author)
    return milestone


def _proof_checked(*, commitment: Commitment, proved_by: StatusUpdate) -> None:
    """Liaisons read milestones: a milestone may be proved only by what they may read too,
    an update of this commitment that is public and still in effect."""
    if proved_by.commitment_id != commitment.pk:
        raise ValidationError({"proved_by": gettext("Choose an update of this commitment.")})
    if proved_by.is_internal:
        raise ValidationError(
            {
                "proved_by": gettext(
                    "This update is internal: choose a public update or give a link, "
                    "because liaisons see milestones."
                )
            }
        )
    if not StatusUpdate.objects.in_effect().filter(pk=proved_by.pk).exists():
        raise ValidationError(
            {
                "proved_by": gettext(
                    "This update was corrected or withdrawn: choose an update in effect, "
                    "or give a link."
                )
            }
        )


def milestone_move(*, milestone: Milestone, author, direction: Literal["up", "down"]) -> None:
    """Swap a milestone with its neighbour above or below; at either end nothing moves.

    Positions are renumbered 1, 2, 3... in the order shown, so gaps or ties left by earlier
    writes cannot make a move skip a milestone."""
    _open_checked(milestone.commitment)
    with transaction.atomic():
        # Locks the commitment's row: two moves at once renumber one after the other.
        commitment = Commitment.objects.select_for_update().get(pk=milestone.commitment_id)
        order = list(commitment.milestones.order_by("position", "pk"))
        index = next(i for i, row in enumerate(order) if row.pk == milestone.pk)
        other = index - 1 if direction == "up" else index + 1
        if not 0 <= other < len(order):
            return
        order[index], order[other] = order[other], order[index]
        for position, row in enumerate(order, start=1):
            row.position = position
        Milestone.objects.bulk_update(order, ["position"])
        caching.invalidate(caching.DASHBOARD, caching.RECORD)


def milestone_delete(*, milestone: Milestone, author, expected_version: int) -> None:
    """Delete a milestone not done yet; a done one is part of the record and stays."""
    _open_checked(milestone.commitment)
    if milestone.done_on is not None:
        raise ValidationError(
            gettext(
                "“%(title)s” is done, so it stays in the record and cannot be deleted. "
                "Edit its title or weight instead if it was entered wrongly."
            )
            % {"title": milestone.title}
        )
    with transaction.atomic():
        version_claim(instance=milestone, expected_version=expected_version)
        commitment = milestone.commitment
        milestone.delete()
        _progress_refresh(commitment=commitment, author=author)
