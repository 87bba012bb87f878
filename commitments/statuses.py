"""The small fixed vocabulary of commitment statuses, each with the definition shown to readers."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    NOT_STARTED = "not_started", _("Not started")
    IN_PROGRESS = "in_progress", _("In progress")
    ACHIEVED = "achieved", _("Achieved")
    RECURRING_ON_TRACK = "recurring_on_track", _("Recurring, on track")
    STALLED = "stalled", _("Stalled")
    NO_LONGER_PURSUED = "no_longer_pursued", _("No longer pursued")


DEFINITIONS = {
    Status.NOT_STARTED: _("Nothing has been done yet that we know of."),
    Status.IN_PROGRESS: _("Work has begun and is documented, but the result is not there yet."),
    Status.ACHIEVED: _("What was asked for exists or took place, with evidence."),
    Status.RECURRING_ON_TRACK: _("A recurring commitment whose latest occurrence took place."),
    Status.STALLED: _("Work began but nothing has moved for a long time, or the last step failed."),
    Status.NO_LONGER_PURSUED: _("Dropped or superseded; the record says why."),
}


def status_definition(status: str) -> str:
    return DEFINITIONS[Status(status)]
