from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

ASHGABAT = "Asia/Ashgabat"


def validate_time_zone(name: str) -> None:
    """Occurrences and feeds build ZoneInfo(name): refuse names that would fail there."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValidationError(
            "%(name)s is not a time zone: use an IANA name such as Asia/Ashgabat.",
            params={"name": name},
        ) from error


def default_lead_times() -> list[int]:
    return [30, 7, 1]


class Event(models.Model):
    """A date that matters, once or recurring; tracker.events computes its occurrences."""

    class Kind(models.TextChoices):
        INTERNATIONAL_DAY = "international_day", _("International day")
        FORUM = "forum", _("Forum")
        UN_SESSION = "un_session", _("UN session")
        DEADLINE = "deadline", _("Deadline")
        ANNIVERSARY = "anniversary", _("Anniversary")

    class Rule(models.TextChoices):
        ONCE = "once", "Once, on the start date"
        YEARLY = "yearly", "Every year on the start date's day and month"
        EVERY_N_YEARS = "every_n_years", "Every N years from the start date"

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=30, choices=Kind.choices)
    time_zone = models.CharField(max_length=64, default=ASHGABAT, validators=[validate_time_zone])
    rule = models.CharField(max_length=20, choices=Rule.choices, default=Rule.ONCE)
    # For ONCE the date itself; for YEARLY and EVERY_N_YEARS the first occurrence.
    start_date = models.DateField()
    # The last day of an event that spans several days (a conference of 27-28 November, a
    # year of something); empty for a one-day event. Each occurrence spans as many days.
    end_date = models.DateField(
        null=True, blank=True, help_text="Last day, for an event of several days; else empty."
    )
    start_time = models.TimeField(null=True, blank=True, help_text="Local time; empty: all day.")
    interval_years = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1)],
        help_text="For every-N-years events: N (5 for the neutrality forum).",
    )
    until = models.DateField(null=True, blank=True, help_text="No occurrences after this date.")
    # Occurrences show round anniversaries counted from this year (1995: neutrality adopted).
    anniversary_of_year = models.PositiveSmallIntegerField(null=True, blank=True)
    lead_times_days = models.JSONField(
        default=default_lead_times, help_text="Days before each occurrence to send reminders."
    )
    is_public = models.BooleanField(
        default=True, help_text="Public events appear in the public calendar feed."
    )
    commitments = models.ManyToManyField(
        "commitments.Commitment", related_name="events", blank=True
    )
    paragraphs = models.ManyToManyField("commitments.Paragraph", related_name="events", blank=True)
    # Set when the event is a commitment's target date, kept in step by tracker.events.
    deadline_of = models.OneToOneField(
        "commitments.Commitment",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deadline_event",
    )
    # Raised by every edit in the app; a form posted against an older one is refused.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["start_date", "title"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("event_detail", kwargs={"slug": self.slug})

    def clean(self) -> None:
        if self.until and self.start_date and self.until < self.start_date:
            raise ValidationError({"until": "The last date must be on or after the start date."})
        if self.end_date and self.start_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": "The last day must be on or after the first day."})
