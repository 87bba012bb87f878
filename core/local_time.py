"""Time as a reader lives it: their zone, their "today", and how dates and times are shown.

The one place that turns a user's (or an event's) time zone name into a zone, so pages,
histories, emails, calendar feeds, exports and reports agree. The database stores UTC
(USE_TZ); a time is converted to a zone here, at the edge. A name that is not a valid zone
(blank, mistyped, from an old backup) reads as UTC rather than failing a page or an email.
"""

import datetime
import functools
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import dateformat, timezone, translation

UTC = datetime.UTC
# How the tracker writes a day and a moment, in every language (Django's date format codes;
# E is the month's name as it stands after a day number: "12 декабря").
DAY_FORMAT = "j E Y"
WEEKDAY_FORMAT = "l j E Y"


def zone_named(name: str | None) -> datetime.tzinfo:
    """The zone of this IANA name, or UTC when it is none or not one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return UTC


def reader_zone(user) -> datetime.tzinfo:
    """The reader's zone (their profile's), UTC for anyone without one."""
    return zone_named(getattr(user, "time_zone", None))


def reader_today(user, *, now: datetime.datetime | None = None) -> datetime.date:
    """Today where the reader is: in Ashgabat (UTC+5) the day starts five hours before UTC's."""
    return local_day(now or timezone.now(), zone=reader_zone(user))


def local_day(instant: datetime.datetime, *, zone: datetime.tzinfo) -> datetime.date:
    """The day an instant falls on in a zone."""
    return instant.astimezone(zone).date()


def local_wall_time(instant: datetime.datetime, *, zone: datetime.tzinfo) -> datetime.datetime:
    """The instant as a clock in that zone shows it, without the zone (what Excel can hold)."""
    return instant.astimezone(zone).replace(tzinfo=None)


def format_day(day: datetime.date, *, with_weekday: bool = False) -> str:
    """A day as the tracker writes it, in the active language: "12 December 2020"."""
    pattern = WEEKDAY_FORMAT if with_weekday else DAY_FORMAT
    return _day_written(day, pattern, translation.get_language())


@functools.lru_cache(maxsize=4096)
def _day_written(day: datetime.date, pattern: str, language: str | None) -> str:
    # Kept per language: a commitment's page writes the same few days about 300 times (each
    # update's day, its "Cite this" line and the day it is retrieved), 17 us each (issue 16).
    return dateformat.format(day, pattern)


def format_instant(
    instant: datetime.datetime, *, zone: datetime.tzinfo, with_weekday: bool = False
) -> str:
    """A moment on the reader's clock: "3 March 2026, 14:05" (no seconds, no microseconds)."""
    day = WEEKDAY_FORMAT if with_weekday else DAY_FORMAT
    return dateformat.format(instant.astimezone(zone), f"{day}, H:i")
