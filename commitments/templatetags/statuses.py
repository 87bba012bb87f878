"""Status labels and definitions for templates, from the one vocabulary in commitments.statuses."""

from django import template

from commitments.statuses import Status, status_definition

register = template.Library()


@register.filter
def status_label(value: str) -> str:
    return Status(value).label


@register.filter(name="status_definition")
def status_definition_filter(value: str) -> str:
    return status_definition(value)
