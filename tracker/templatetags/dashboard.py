"""The dashboard's list of documents to choose from."""

from django import template
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

register = template.Library()

SELECTED = mark_safe(" selected")


@register.simple_tag
def document_options(choices: list[tuple[int, str]], chosen_id: int | None):
    """An <option> for each (id, short name) of `choices`, the chosen one selected: a programme
    has hundreds of documents, and a loop in the template took some 25 µs an option."""
    rows = ((pk, SELECTED if pk == chosen_id else "", name) for pk, name in choices)
    return format_html_join("", '<option value="{}"{}>{}</option>', rows)
