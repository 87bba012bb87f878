"""Due, overdue and freshness badges for templates: the table's (commitments.tables), with days
written as the pages write them (core.local_time.DAY_FORMAT)."""

from django import template

from commitments import tables
from core.local_time import DAY_FORMAT

register = template.Library()


@register.filter
def deadline_badge(record) -> str:
    """A commitment of selectors.commitment_dated_list, or a deadlines.Deadline."""
    return tables.deadline_badge(record, day_format=DAY_FORMAT)


@register.filter
def freshness_badge(value: str) -> str:
    return tables.freshness_badge(value)
