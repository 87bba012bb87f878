"""A django-tables2 table's rows, written in Python instead of through the package's template.

{% load table_rows %}
<tbody {{ table.attrs.tbody.as_html }}>{% table_rows table %}</tbody>

The same rows as the package's `table.tbody` block (django_tables2/table.html): each row's
attributes, each cell in its column's `td` attributes, localized as the column asks, escaped
as the template would, and the table's empty text when there is no row. The template looked
up a column's attributes and its `localize` for every cell (a third of a cold commitments
table's time, issue 16); here a column's attributes are read once for the page, unless they
hold a callable or the table chooses its cells' classes (either can differ by row: they are read
for each cell then, as the package does).
"""

import django_tables2
from django import template
from django.template.base import render_value_in_context
from django.utils import formats
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

register = template.Library()


def _callables(attrs) -> bool:
    """Whether a column's attrs (the package's dict of dicts: td, th, cell, ...) hold a
    callable anywhere, so that a cell's attributes depend on its record or value."""
    for value in attrs.values():
        if callable(value) or (isinstance(value, dict) and _callables(value)):
            return True
    return False


def _cell_text(column, cell, context) -> str:
    """As the package's template writes a cell: {{ cell }}, {{ cell|localize }} or
    {{ cell|unlocalize }}."""
    if column.localize is not None:
        cell = str(formats.localize(cell, use_l10n=bool(column.localize)))
    return mark_safe(render_value_in_context(cell, context))  # escaped as the context says


def _same_for_every_row(table, column) -> bool:
    """Whether a column's `td` attributes are the same in every row: no callable in the
    table's or the column's attrs, and the package's own choice of a cell's classes."""
    own_classes = type(table).get_column_class_names is django_tables2.Table.get_column_class_names
    return own_classes and not _callables(table.attrs) and not _callables(column.column.attrs)


@register.simple_tag(takes_context=True)
def table_rows(context, table) -> str:
    columns = list(table.columns)
    once = {
        column.name: column.attrs["td"].as_html()
        for column in columns
        if _same_for_every_row(table, column)
    }
    rows = []
    for row in table.paginated_rows:
        cells = []
        for column, cell in row.items():
            # After items() set the column's current record and value, as in the template.
            attrs = once.get(column.name)
            if attrs is None:
                attrs = column.attrs["td"].as_html()
            cells.append((attrs, _cell_text(column, cell, context)))
        rows.append(
            format_html(
                "<tr {}>{}</tr>",
                row.attrs.as_html(),
                format_html_join("", "<td {}>{}</td>", cells),
            )
        )
    if not rows and table.empty_text:
        return format_html('<tr><td colspan="{}">{}</td></tr>', len(columns), table.empty_text)
    return mark_safe("".join(rows))
