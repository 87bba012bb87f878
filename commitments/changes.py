"""Announcing a change of a commitment's public state, for whoever follows it.

The record's services call public_change_announce after a write that changes what every reader
sees (a public status update, its correction or withdrawal, a milestone done); the signal goes
out once the write is committed, so a rolled-back write announces nothing. The tracker, a layer
above, listens (tracker.notifications.change_record) and tells the followers.
"""

from django.db import transaction
from django.dispatch import Signal
from django.utils.text import Truncator
from django.utils.translation import gettext

from .models import Milestone, Source, StatusUpdate

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


def public_change_text(update: StatusUpdate) -> str:
    """What a public update, its correction or its withdrawal changed, in a line, in the active
    language (the notices and their emails, the Atom feeds' entry titles)."""
    if update.amendment == StatusUpdate.Amendment.WITHDRAWAL:
        return gettext("A public update was withdrawn")
    corrected = update.amendment == StatusUpdate.Amendment.CORRECTION
    if update.source == Source.CONTRIBUTOR:
        return _other_source_text(update, corrected=corrected)
    figures = {"status": update.get_status_display(), "progress": update.progress}
    if corrected:
        return gettext("A public update was corrected: now %(status)s, %(progress)s%%") % figures
    return gettext("New public update: %(status)s, %(progress)s%%") % figures


def _other_source_text(update: StatusUpdate, *, corrected: bool) -> str:
    """A contributor's published report: an other source, never the commitment's official
    state, so no status or figure; who reported it and the opening of what they said."""
    what = {
        "reporter": update.reported_by.name if update.reported_by else gettext("an organisation"),
        "said": Truncator(" ".join(update.narrative.split())).chars(OTHER_SOURCE_CHARS),
    }
    if corrected:
        return gettext("Other source, corrected: reported by %(reporter)s: %(said)s") % what
    return gettext("Other source: reported by %(reporter)s: %(said)s") % what


# How much of an other source's report its line quotes.
OTHER_SOURCE_CHARS = 120
