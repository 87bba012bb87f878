"""Days and moments in templates, written as core.local_time writes them everywhere else.

{% load local_time %}
{{ update.happened_on|day }}          12 December 2020 (12 декабря 2020 in Russian)
{{ occurrence.date|weekday }}         Saturday 12 December 2020
{{ entry.timestamp|moment:user }}     3 March 2026, 14:05 +05 (on the reader's clock)
{{ update.recorded_at|moment:reader_zone }}   the same, given the reader's zone itself
"""

import datetime

from django import template
from django.utils import dateformat

from core.local_time import format_day, format_instant, reader_zone

register = template.Library()


@register.filter
def day(value: datetime.date | None) -> str:
    return format_day(value) if value else ""


@register.filter
def weekday(value: datetime.date | None) -> str:
    return format_day(value, with_weekday=True) if value else ""


@register.filter
def moment(value: datetime.datetime | None, reader=None) -> str:
    """The moment on the reader's clock (a user, or their zone; UTC for anyone without one),
    with the zone's short name."""
    if not value:
        return ""
    zone = reader if isinstance(reader, datetime.tzinfo) else reader_zone(reader)
    return f"{format_instant(value, zone=zone)} {dateformat.format(value.astimezone(zone), 'T')}"
