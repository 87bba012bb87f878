"""Announcing a change of a commitment's public state, for whoever follows it.

The record's services call public_change_announce after a write that changes what every reader
sees (a public status update, its correction or withdrawal, a milestone done); the signal goes
out once the write is committed, so a rolled-back write announces nothing. The tracker, a layer
above, listens (tracker.notifications.change_record) and tells the followers.
"""

from django.db import transaction
from django.dispatch import Signal

from .models import Milestone, StatusUpdate

# Sent with commitment, kind ("update", "correction", "withdrawal", "milestone"), update,
# milestone.
public_change = Signal()


def public_change_announce(
    *,
    commitment,
    kind: str,
    update: StatusUpdate | None = None,
    milestone: Milestone | None = None,
) -> None:
    """Announce the change once the current transaction commits. An internal update changes
    nothing a follower may see: it is never announced."""
    if update is not None and update.visibility != StatusUpdate.Visibility.PUBLIC:
        return
    transaction.on_commit(
        lambda: public_change.send(
            sender=StatusUpdate if update is not None else Milestone,
            commitment=commitment,
            kind=kind,
            update=update,
            milestone=milestone,
        )
    )
