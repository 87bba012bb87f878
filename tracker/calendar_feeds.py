"""iCalendar (RFC 5545) feeds of events, made with the icalendar library.

Recurring events go out as one VEVENT with an RRULE rather than as expanded dates, so a
calendar app shows them for as long as it looks ahead and the feed stays small.

A feed lists the events that are on at some day of a window around today (calendar_window):
calendar apps fetch a feed again every few hours, so what enters the window reaches them, and
a feed does not grow with every one-off event and deadline the record has ever had.
"""

import calendar
import datetime
from collections.abc import Callable, Iterable, Iterator

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import get_language
from icalendar import Calendar, vDDDTypes, vRecur
from icalendar import Event as CalendarEvent

from core import caching
from core.local_time import zone_named

from .events import (
    date_in_year,
    days_after,
    event_dates_usable,
    event_on_between,
    event_span_days,
    events_in_window,
    events_visible_to,
)
from .models import Event
from .models.users import calendar_token_new

PRODID = "-//Commitment tracker//Events//EN"
# Part of each event's key in the cache: change it when an event's text is made differently.
EVENT_TEXT_FORMAT = 1
CRLF = b"\r\n"
BEGIN_EVENT = b"BEGIN:VEVENT" + CRLF
END = b"END:VCALENDAR" + CRLF


def _recurrence(event: Event) -> vRecur | None:
    if event.rule == Event.Rule.ONCE:
        return None
    rule = vRecur(freq="YEARLY")
    if event.rule == Event.Rule.EVERY_N_YEARS and event.interval_years > 1:
        rule["interval"] = event.interval_years
    if (event.start_date.month, event.start_date.day) == (2, 29):
        # Same as tracker.events.date_in_year: the last day of February in common years
        # (a bare yearly rule on the 29th would skip them).
        rule["bymonth"] = 2
        rule["bymonthday"] = -1
    if event.until:
        rule["until"] = _until(event)
    return rule


def _until(event: Event) -> datetime.date | datetime.datetime:
    # RFC 5545: UNTIL is a DATE for all-day events, a UTC date-time for events with a time.
    if event.start_time is None:
        return event.until
    local = datetime.datetime.combine(event.until, event.start_time, zone_named(event.time_zone))
    return local.astimezone(datetime.UTC)


def _start(event: Event) -> datetime.date | datetime.datetime:
    if event.start_time is None:
        return event.start_date
    zone = zone_named(event.time_zone)
    return datetime.datetime.combine(event.start_date, event.start_time, tzinfo=zone)


def _end(event: Event) -> datetime.date | datetime.datetime | None:
    """DTEND: the day after the last for an all-day event (RFC 5545's end is exclusive); for a
    timed event of several days, the end of its last day; none for a timed event of one day."""
    last = days_after(event.start_date, event_span_days(event))
    after_last = days_after(last, 1)
    if event.start_time is None:
        return after_last
    if last == event.start_date:
        return None
    return datetime.datetime.combine(
        after_last, datetime.time(0), tzinfo=zone_named(event.time_zone)
    )


def _description(event: Event) -> str:
    parts = [event.description] if event.description else []
    if event.anniversary_of_year:
        parts.append(f"Anniversaries counted from {event.anniversary_of_year}.")
    return "\n\n".join(parts)


def _calendar_event(
    event: Event, *, host: str, url_for: Callable[[str], str], kinds: dict
) -> CalendarEvent:
    """The VEVENT without its DTSTAMP, which calendar_build adds (the time of the feed)."""
    item = CalendarEvent()
    # The primary key never changes, so a calendar app updates the event instead of adding one.
    item.add("uid", f"event-{event.pk}@{host}")
    item.add("summary", event.title)
    item.add("dtstart", _start(event))
    if (end := _end(event)) is not None:
        item.add("dtend", end)
    recurrence = _recurrence(event)
    if recurrence is not None:
        item.add("rrule", recurrence)
    item.add("categories", [kinds[event.kind]])
    item.add("url", url_for(event.get_absolute_url()))
    if description := _description(event):
        item.add("description", description)
    return item


def calendar_build(
    *,
    events: Iterable[Event],
    name: str,
    host: str,
    url_for: Callable[[str], str],
    keep_events: bool = True,
) -> bytes:
    """The feed as bytes; `url_for` turns a path into an absolute URL, `host` names the UIDs.

    Each event's text is kept in the cache by what it is made of (caching.cached_each), so a
    write costs the next feed only the events it changed: icalendar took 0.3 ms an event, the
    first feed after any write 0.55 s at 2,000 events (issue 16). Not with `keep_events` off:
    for a host the site is not named by, which must not grow the cache."""
    usable = [event for event in events if event_dates_usable(event)]  # others: in no feed
    kinds = {value: str(label) for value, label in Event.Kind.choices}  # translated once
    site = (EVENT_TEXT_FORMAT, host, url_for("/"), get_language())

    def content(event: Event) -> tuple:
        return (*site, *(getattr(event, field.attname) for field in Event._meta.concrete_fields))

    def text(event: Event) -> bytes:
        return _calendar_event(event, host=host, url_for=url_for, kinds=kinds).to_ical()

    if keep_events:
        texts = caching.cached_each("calendar-event", usable, content, text)
    else:
        texts = [text(event) for event in usable]
    stamp = b"DTSTAMP:" + vDDDTypes(timezone.now()).to_ical() + CRLF
    head = _calendar_head(name=name, timed=[event for event in usable if event.start_time])
    return b"".join(
        [head, *(BEGIN_EVENT + stamp + text.removeprefix(BEGIN_EVENT) for text in texts), END]
    )


def _calendar_head(*, name: str, timed: list[Event]) -> bytes:
    """The calendar's properties and a VTIMEZONE for every TZID its events use, so apps need
    not know the zone database: those icalendar finds in one event of each zone."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    one_of_each_zone = {event.time_zone: event for event in timed}.values()
    for event in one_of_each_zone:
        item = CalendarEvent()
        item.add("dtstart", _start(event))
        calendar.add_component(item)
    calendar.add_missing_timezones()
    calendar.subcomponents = calendar.timezones
    return calendar.to_ical().removesuffix(END)


def calendar_window(*, today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The first and last day a feed lists events on: TRACKER_CALENDAR_PAST_MONTHS before
    `today` (the same day of that month, or its last day) to TRACKER_CALENDAR_FUTURE_YEARS
    after it (29 February: the 28th in a common year)."""
    index = today.year * 12 + today.month - 1 - settings.TRACKER_CALENDAR_PAST_MONTHS
    year, month = divmod(index, 12)
    day = min(today.day, calendar.monthrange(year, month + 1)[1])
    start = datetime.date(year, month + 1, day)
    end = date_in_year(day=today, year=today.year + settings.TRACKER_CALENDAR_FUTURE_YEARS)
    return start, end


def _on_in_window(events: QuerySet[Event], *, today: datetime.date) -> Iterator[Event]:
    """Those of `events` on at some day of the window, in date order; one query, run when the
    feed is built (not when it is served from the cache)."""
    start, end = calendar_window(today=today)
    # In SQL, what cannot be on in the window: a series that ended before it or begins after
    # it, and a one-off event over before it (as tracker.events._by_earliest_possible).
    over = Q(rule=Event.Rule.ONCE, start_date__lt=start) & ~Q(end_date__gte=start)
    candidates = events_in_window(start=start, end=end, events=events).exclude(over)
    window_days = (end - start).days + 1
    for event in candidates.order_by("start_date", "pk"):
        if _surely_on(event, window_days) or event_on_between(event=event, start=start, end=end):
            yield event


def _surely_on(event: Event, window_days: int) -> bool:
    """Whether the query's conditions already decide that the event is on in the window: a
    one-off event (it begins by the window's end and is still on at its start) and an endless
    series whose occurrences are never further apart than the window is long. Working out the
    occurrences of the others was a quarter of making a feed of 15,000 events."""
    if event.until is not None:
        return False
    if event.rule == Event.Rule.ONCE:
        return True
    step = max(event.interval_years, 1) if event.rule == Event.Rule.EVERY_N_YEARS else 1
    return window_days > 366 * step


def calendar_public_events(*, today: datetime.date) -> Iterator[Event]:
    return _on_in_window(Event.objects.filter(is_public=True), today=today)


def calendar_personal_events(*, user, today: datetime.date) -> Iterator[Event]:
    return _on_in_window(events_visible_to(user=user), today=today)


def calendar_token_reset(*, user) -> str:
    """Give the person a new feed token; the old feed URL stops working at once."""
    user.calendar_token = calendar_token_new()
    user.save(update_fields=["calendar_token"])
    return user.calendar_token
