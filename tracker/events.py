"""When events happen: occurrences computed from an event's date rule, and event services.

Occurrences are computed, never stored: an event's rule is the single source of truth, and
reminders (tracker.reminders) ask for the occurrences of a window when they need them.
"""

import calendar
import datetime
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet

from .models import Event


@dataclass(frozen=True)
class Occurrence:
    """One day on which an event happens."""

    event: Event
    date: datetime.date
    # Aware, in the event's own zone, when the event has a start time; None for all-day events.
    starts_at: datetime.datetime | None
    # Years since `anniversary_of_year`, only when round (a multiple of 5), else None.
    anniversary: int | None

    @property
    def anniversary_label(self) -> str:
        return f"{ordinal(self.anniversary)} anniversary" if self.anniversary else ""


def ordinal(number: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 21st, 30th ..."""
    if 10 <= number % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def date_in_year(*, day: datetime.date, year: int) -> datetime.date:
    """The event's day and month in `year`.

    29 February falls on 28 February in common years: a yearly day should not silently skip
    three years out of four, and the 28th keeps it in February (the ICS feed says the same
    with BYMONTHDAY=-1, the last day of February).
    """
    last_day = calendar.monthrange(year, day.month)[1]
    return datetime.date(year, day.month, min(day.day, last_day))


def _round_anniversary(*, event: Event, year: int) -> int | None:
    if event.anniversary_of_year is None:
        return None
    years = year - event.anniversary_of_year
    return years if years > 0 and years % 5 == 0 else None


def _candidate_years(*, event: Event, start: datetime.date, end: datetime.date) -> range:
    first = event.start_date.year
    if event.rule == Event.Rule.ONCE:
        return range(first, first + 1)
    step = max(event.interval_years, 1) if event.rule == Event.Rule.EVERY_N_YEARS else 1
    # Skip whole intervals before the window instead of walking from the start year.
    skipped = max(0, (start.year - first) // step)
    return range(first + skipped * step, end.year + 1, step)


def _occurrence(*, event: Event, date: datetime.date) -> Occurrence:
    starts_at = None
    if event.start_time is not None:
        zone = ZoneInfo(event.time_zone)
        starts_at = datetime.datetime.combine(date, event.start_time, tzinfo=zone)
    anniversary = _round_anniversary(event=event, year=date.year)
    return Occurrence(event=event, date=date, starts_at=starts_at, anniversary=anniversary)


def event_occurrences(
    *, event: Event, start: datetime.date, end: datetime.date
) -> list[Occurrence]:
    """The event's occurrences from `start` to `end`, both included, in date order."""
    occurrences = []
    for year in _candidate_years(event=event, start=start, end=end):
        date = date_in_year(day=event.start_date, year=year)
        if date < event.start_date or (event.until and date > event.until):
            continue
        if start <= date <= end:
            occurrences.append(_occurrence(event=event, date=date))
    return occurrences


def _occurrence_sort_key(occurrence: Occurrence) -> tuple:
    # All-day occurrences first on their day, then by start time (as UTC), then by title.
    starts = occurrence.starts_at
    instant = starts.timestamp() if starts else float("-inf")
    return (occurrence.date, instant, occurrence.event.title, occurrence.event.pk or 0)


def events_in_window(
    *, start: datetime.date, end: datetime.date, events: QuerySet | None = None
) -> QuerySet:
    """Events that can have an occurrence between `start` and `end` (one query when iterated)."""
    events = Event.objects.all() if events is None else events
    return events.filter(start_date__lte=end).filter(Q(until__isnull=True) | Q(until__gte=start))


def occurrences_between(
    *, start: datetime.date, end: datetime.date, events: QuerySet | None = None
) -> list[Occurrence]:
    """Every occurrence of `events` (default: all) from `start` to `end`, both included.

    Sorted by date, then start time, then title. Costs the one query that fetches the events;
    prefetch on `events` whatever the caller reads from them.
    """
    occurrences = [
        occurrence
        for event in events_in_window(start=start, end=end, events=events)
        for occurrence in event_occurrences(event=event, start=start, end=end)
    ]
    return sorted(occurrences, key=_occurrence_sort_key)
