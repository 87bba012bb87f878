"""The small fixed vocabulary of commitment statuses, each with the definition shown to readers."""

from django.db import models


class Status(models.TextChoices):
    NOT_STARTED = "not_started", "Not started"
    IN_PROGRESS = "in_progress", "In progress"
    ACHIEVED = "achieved", "Achieved"
    RECURRING_ON_TRACK = "recurring_on_track", "Recurring, on track"
    STALLED = "stalled", "Stalled"
    NO_LONGER_PURSUED = "no_longer_pursued", "No longer pursued"


DEFINITIONS = {
    Status.NOT_STARTED: "Nothing has been done yet that we know of.",
    Status.IN_PROGRESS: "Work has begun and is documented, but the result is not there yet.",
    Status.ACHIEVED: "What was asked for exists or took place, with evidence.",
    Status.RECURRING_ON_TRACK: "A recurring commitment whose latest occurrence took place.",
    Status.STALLED: "Work began but nothing has moved for a long time, or the last step failed.",
    Status.NO_LONGER_PURSUED: "Dropped or superseded; the record says why.",
}


def status_definition(status: str) -> str:
    return DEFINITIONS[Status(status)]
