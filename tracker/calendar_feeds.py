"""iCalendar (RFC 5545) feeds of events, made with the icalendar library.

Recurring events go out as one VEVENT with an RRULE rather than as expanded dates, so a
calendar app shows them for as long as it looks ahead and the feed stays small.
"""

import datetime
from collections.abc import Callable, Iterable

from django.db.models import QuerySet
from django.utils import timezone
from icalendar import Calendar, vRecur
from icalendar import Event as CalendarEvent

from core.local_time import zone_named

from .events import days_after, event_dates_usable, event_span_days, events_visible_to
from .models import Event
from .models.users import calendar_token_new

PRODID = "-//Commitment tracker//Events//EN"


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
    event: Event, *, host: str, url_for: Callable[[str], str], stamp: datetime.datetime
) -> CalendarEvent:
    item = CalendarEvent()
    # The primary key never changes, so a calendar app updates the event instead of adding one.
    item.add("uid", f"event-{event.pk}@{host}")
    item.add("dtstamp", stamp)
    item.add("summary", event.title)
    item.add("dtstart", _start(event))
    if (end := _end(event)) is not None:
        item.add("dtend", end)
    recurrence = _recurrence(event)
    if recurrence is not None:
        item.add("rrule", recurrence)
    item.add("categories", [event.get_kind_display()])
    item.add("url", url_for(event.get_absolute_url()))
    if description := _description(event):
        item.add("description", description)
    return item


def calendar_build(
    *, events: Iterable[Event], name: str, host: str, url_for: Callable[[str], str]
) -> bytes:
    """The feed as bytes; `url_for` turns a path into an absolute URL, `host` names the UIDs."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    stamp = timezone.now()
    for event in events:
        if not event_dates_usable(event):  # a date no calendar app expects: not in any feed
            continue
        calendar.add_component(_calendar_event(event, host=host, url_for=url_for, stamp=stamp))
    # A VTIMEZONE for every TZID used, so apps need not know the zone database.
    calendar.add_missing_timezones()
    return calendar.to_ical()


def calendar_public_events() -> QuerySet[Event]:
    return Event.objects.filter(is_public=True).order_by("start_date", "pk")


def calendar_personal_events(*, user) -> QuerySet[Event]:
    return events_visible_to(user=user).order_by("start_date", "pk")


def calendar_token_reset(*, user) -> str:
    """Give the person a new feed token; the old feed URL stops working at once."""
    user.calendar_token = calendar_token_new()
    user.save(update_fields=["calendar_token"])
    return user.calendar_token
