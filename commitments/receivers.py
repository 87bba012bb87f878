"""Keeps Commitment.first_paragraph_number (the table's default order) in step with the
paragraphs a commitment comes from, and Commitment.undone_milestone_due_on (the deadlines'
milestone date) with its milestones; connected in commitments.apps."""

from .models import Commitment, Milestone, Paragraph
from .services import commitments_first_paragraph_refresh, commitments_undone_milestone_due_refresh

LINK_CHANGES = ("post_add", "post_remove", "post_clear", "pre_clear")


def paragraph_links_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    """A commitment's paragraphs (or a paragraph's commitments) were linked or unlinked."""
    if action not in LINK_CHANGES:
        return
    if not reverse:  # commitment.paragraphs.add/remove/set/clear
        if action != "pre_clear":
            commitments_first_paragraph_refresh(commitment_ids=[instance.pk])
        return
    if action == "pre_clear":  # paragraph.commitments.clear(): note who loses the link
        instance._unlinked_commitment_ids = list(instance.commitments.values_list("pk", flat=True))
        return
    ids = pk_set if action != "post_clear" else getattr(instance, "_unlinked_commitment_ids", ())
    commitments_first_paragraph_refresh(commitment_ids=ids)


def paragraph_saved(sender, instance: Paragraph, created: bool, **kwargs) -> None:
    """A renumbered paragraph moves its commitments; a new one has none yet."""
    if not created and not kwargs.get("raw"):
        ids = Commitment.objects.filter(paragraphs=instance).values_list("pk", flat=True)
        commitments_first_paragraph_refresh(commitment_ids=ids)


def paragraph_deleting(sender, instance: Paragraph, **kwargs) -> None:
    instance._unlinked_commitment_ids = list(instance.commitments.values_list("pk", flat=True))


def paragraph_deleted(sender, instance: Paragraph, **kwargs) -> None:
    ids = getattr(instance, "_unlinked_commitment_ids", ())
    commitments_first_paragraph_refresh(commitment_ids=ids)


def milestone_saved(sender, instance: Milestone, **kwargs) -> None:
    """A milestone added, its due date moved, marked done or not done. A restore's raw rows
    are left to services.commitments_copies_refresh, which tracker.backup runs after them."""
    if not kwargs.get("raw"):
        commitments_undone_milestone_due_refresh(commitment_ids=[instance.commitment_id])


def milestone_deleted(sender, instance: Milestone, origin=None, **kwargs) -> None:
    """A milestone deleted, unless with its commitment (nothing left to keep)."""
    deleting = getattr(origin, "model", type(origin))
    if deleting is not Commitment:
        commitments_undone_milestone_due_refresh(commitment_ids=[instance.commitment_id])
