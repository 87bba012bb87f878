"""The small fixed vocabulary of commitment statuses, each with the definition shown to readers."""

from django.db import models
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    NOT_STARTED = "not_started", _("Not started")
    IN_PROGRESS = "in_progress", _("In progress")
    ACHIEVED = "achieved", _("Achieved")
    RECURRING_ON_TRACK = "recurring_on_track", _("Recurring, on track")
    STALLED = "stalled", _("Stalled")
    NO_LONGER_PURSUED = "no_longer_pursued", _("No longer pursued")


class TranslatedDefinitions(dict):
    """Each definition in the reader's language, as a plain str, translated when it is read."""

    def __getitem__(self, status) -> str:
        return gettext(super().__getitem__(status))


DEFINITIONS = TranslatedDefinitions(
    {
        Status.NOT_STARTED: gettext_noop("Nothing has been done yet that we know of."),
        Status.IN_PROGRESS: gettext_noop(
            "Work has begun and is documented, but the result is not there yet."
        ),
        Status.ACHIEVED: gettext_noop("What was asked for exists or took place, with evidence."),
        Status.RECURRING_ON_TRACK: gettext_noop(
            "A recurring commitment whose latest occurrence took place."
        ),
        Status.STALLED: gettext_noop(
            "Work began but nothing has moved for a long time, or the last step failed."
        ),
        Status.NO_LONGER_PURSUED: gettext_noop("Dropped or superseded; the record says why."),
    }
)


def status_definition(status: str) -> str:
    return DEFINITIONS[Status(status)]
