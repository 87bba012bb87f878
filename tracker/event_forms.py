"""The event form: checks the input fully; tracker.events' services write it."""

import datetime
import zoneinfo
from functools import cache

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from commitments.models import DOCUMENT_TEXTS, Commitment, Paragraph
from core.ids import RowIdsField
from core.local_time import format_day

from .events import EARLIEST_EVENT_YEAR, LATEST_EVENT_YEAR, date_in_year
from .models import Event
from .models.events import ASHGABAT

# The reminder lead times a person may ask for: whole days, from the day itself to a year.
LONGEST_LEAD_DAYS = 366
MODEL_FIELDS = [
    "title",
    "description",
    "kind",
    "time_zone",
    "rule",
    "interval_years",
    "start_date",
    "end_date",
    "start_time",
    "until",
    "anniversary_of_year",
    "is_public",
]
RULE_CHOICES = [
    (Event.Rule.ONCE, _("Once, on the first day")),
    (Event.Rule.YEARLY, _("Every year on the first day's day and month")),
    (Event.Rule.EVERY_N_YEARS, _("Every N years from the first day")),
]


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class DateInput(forms.DateInput):
    input_type = "date"


class EventForm(forms.ModelForm):
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        initial=ASHGABAT,
        help_text=_("Where the event happens; its days and start time are that zone's."),
        error_messages={
            "invalid_choice": _(
                "%(value)s is not a time zone: choose one from the list, e.g. Asia/Ashgabat."
            )
        },
    )
    rule = forms.ChoiceField(label=_("Repeats"), choices=RULE_CHOICES)
    lead_times = forms.CharField(
        label=_("Reminders, days before"),
        required=False,
        help_text=_("Whole days before the first day, separated by commas, e.g. 30, 7, 1."),
    )
    commitments = RowIdsField(
        label=_("Commitments it concerns"),
        queryset=Commitment.objects.order_by("title"),
        required=False,
    )
    paragraphs = RowIdsField(
        label=_("Paragraphs it concerns"),
        # The documents' texts are long and never shown here: only their titles are read.
        queryset=Paragraph.objects.select_related("document")
        .defer(*DOCUMENT_TEXTS)
        .order_by("document__short_name", "number"),
        required=False,
        help_text=_("Grouped by document; hold Ctrl (Cmd on a Mac) to choose several."),
    )
    # The version the form was opened at; tracker.events.event_update refuses a stale one.
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, required=False)

    class Meta:
        model = Event
        fields = MODEL_FIELDS
        labels = {
            "title": _("Title"),
            "description": _("Description"),
            "kind": _("Kind"),
            "interval_years": _("Every how many years"),
            "start_date": _("First day"),
            "end_date": _("Last day"),
            "start_time": _("Start time"),
            "until": _("No occurrences after"),
            "anniversary_of_year": _("Count anniversaries from the year"),
            "is_public": _("Public: in the public calendar feed"),
        }
        help_texts = {
            "is_public": _(
                "Ticked: everyone who reads the tracker sees it, liaisons included, and it is in "
                "the public calendar feed. Not ticked: the secretariat sees it, and the liaisons "
                "of the states whose commitments it concerns."
            ),
            "end_date": _("For an event of several days; empty for one day."),
            "start_time": _("Local time in the event's zone; empty for an all-day event."),
            "interval_years": _("Only for events every N years: N, e.g. 5."),
            "until": _("Only for repeating events; empty while the series goes on."),
            "anniversary_of_year": _("E.g. 1995: round anniversaries are shown."),
        }
        widgets = {
            "start_date": DateInput,
            "end_date": DateInput,
            "until": DateInput,
            "start_time": forms.TimeInput(attrs={"type": "time"}),
            "description": forms.Textarea(attrs={"rows": 4}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = time_zone_choices()
        # A deadline is a commitment's target date, which tracker.events keeps itself.
        kind = self.fields["kind"]
        kind.choices = [choice for choice in kind.choices if choice[0] != Event.Kind.DEADLINE]
        kind.error_messages["invalid_choice"] = _(
            "Choose one of the kinds listed. A deadline is a commitment's target date: set it "
            "on the commitment, and the tracker keeps its event."
        )
        self._group_paragraphs()
        if self.instance.pk:
            self.initial.setdefault("version", self.instance.version)
            self.initial.setdefault("lead_times", lead_times_text(self.instance.lead_times_days))
            self.initial.setdefault("commitments", list(self.instance.commitments.all()))
            self.initial.setdefault("paragraphs", list(self.instance.paragraphs.all()))
        else:
            self.initial.setdefault("lead_times", "30, 7, 1")

    def _group_paragraphs(self) -> None:
        """Each paragraph under its document's title, in the one query of the field."""
        field = self.fields["paragraphs"]
        by_document: dict[str, list] = {}
        for paragraph in field.queryset:
            label = f"¶{paragraph.number} {paragraph.text[:80]}"
            by_document.setdefault(paragraph.document.title, []).append((paragraph.pk, label))
        field.choices = list(by_document.items())
        field.widget.attrs["size"] = 10

    def clean_lead_times(self) -> list[int]:
        text = self.cleaned_data["lead_times"].replace(";", ",")
        days = set()
        for part in filter(None, (piece.strip() for piece in text.split(","))):
            if not (part.isascii() and part.isdigit()) or int(part) > LONGEST_LEAD_DAYS:
                raise ValidationError(
                    gettext(
                        "“%(part)s” is not a number of days from 0 to %(longest)s. Enter whole "
                        "days separated by commas, e.g. 30, 7, 1, or leave it empty for no "
                        "reminders."
                    )
                    % {"part": part, "longest": LONGEST_LEAD_DAYS}
                )
            days.add(int(part))
        return sorted(days, reverse=True)

    def clean(self):
        cleaned = super().clean()
        self._check_years(cleaned)
        start, rule = cleaned.get("start_date"), cleaned.get("rule")
        if start is None or rule is None:
            return cleaned
        self._check_last_day(cleaned, start)
        self._check_rule(cleaned, start, rule)
        return cleaned

    def _check_years(self, cleaned: dict) -> None:
        """Dates far outside any real event (year 1, year 9999) are typing slips that would
        leave the calendar nothing to compute with."""
        for name in ("start_date", "end_date", "until"):
            day = cleaned.get(name)
            if day is not None and not EARLIEST_EVENT_YEAR <= day.year <= LATEST_EVENT_YEAR:
                self.add_error(
                    name,
                    gettext("Enter a date in the years %(first)s to %(last)s.")
                    % {"first": EARLIEST_EVENT_YEAR, "last": LATEST_EVENT_YEAR},
                )

    def _check_last_day(self, cleaned: dict, start: datetime.date) -> None:
        end = cleaned.get("end_date")
        if end is not None and end < start:
            self.add_error(
                "end_date",
                gettext(
                    "The last day is before the first day (%(start)s). Enter a last day on or "
                    "after it, or leave it empty for an event of one day."
                )
                % {"start": format_day(start)},
            )

    def _check_rule(self, cleaned: dict, start: datetime.date, rule: str) -> None:
        interval, until = cleaned.get("interval_years") or 1, cleaned.get("until")
        if rule == Event.Rule.EVERY_N_YEARS and interval < 2:
            self.add_error(
                "interval_years",
                gettext("Every N years needs N of 2 or more; for every year, choose that."),
            )
        if rule != Event.Rule.EVERY_N_YEARS and interval != 1:
            self.add_error(
                "interval_years",
                gettext("Only events every N years have an interval: set it to 1 or choose that."),
            )
        if rule == Event.Rule.ONCE and until is not None:
            self.add_error(
                "until",
                gettext("A one-off event has no end of series: leave this empty."),
            )
        if until is not None and until < start:
            self.add_error(
                "until",
                gettext("This is before the first day (%(start)s); enter a later date.")
                % {"start": format_day(start)},
            )
        self._check_span(cleaned, start, rule, interval)

    def _check_span(self, cleaned: dict, start: datetime.date, rule: str, interval: int) -> None:
        """An occurrence must end before the next one begins."""
        end = cleaned.get("end_date")
        if rule == Event.Rule.ONCE or end is None or "end_date" in self.errors:
            return
        step = interval if rule == Event.Rule.EVERY_N_YEARS else 1
        if end >= date_in_year(day=start, year=start.year + step):
            self.add_error(
                "end_date",
                gettext(
                    "A repeating event must end before it begins again: choose a last day "
                    "before %(next)s."
                )
                % {"next": format_day(date_in_year(day=start, year=start.year + step))},
            )

    def service_fields(self) -> dict:
        """The cleaned model fields for tracker.events.event_create / event_update."""
        fields = {name: self.cleaned_data[name] for name in MODEL_FIELDS}
        fields["interval_years"] = fields["interval_years"] or 1
        fields["lead_times_days"] = self.cleaned_data["lead_times"]
        return fields


def lead_times_text(days: list[int] | None) -> str:
    return ", ".join(str(day) for day in days or [])
