"""Exports of the commitments table (CSV and Excel) that stream instead of loading every row.

django-tables2's TableExport builds the whole file in memory through tablib, after evaluating
the whole queryset. Here the rows come from the table's own filtered and ordered queryset in
chunks, each chunk costing a fixed number of queries. The commitments table's own columns are
read as tuples (commitments.export_rows: no model object per row); any other table's cells are
the table's `as_values()` ones (the `value_*` methods, called without django-tables2's per-cell
signature inspection). CSV is written as it is read; Excel goes through XlsxWriter's
constant-memory mode into a temporary file, row by row, so memory stays flat too.

The Excel file has what a spreadsheet reader expects beyond the CSV's text: dates as dates (the
date columns' own values, not their ISO text), column widths, and the cells of a linked column
(the title) as hyperlinks to the page the table links to, as do cells holding a web address:
the first MAX_LINKS of them, Excel's limit for a sheet.
"""

import csv
import datetime
import io
import tempfile
from collections.abc import Iterator
from itertools import islice

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Prefetch, prefetch_related_objects
from django.http import FileResponse, StreamingHttpResponse
from django.utils.encoding import force_str
from django.utils.functional import Promise
from django_tables2 import A, Column, DateColumn, DateTimeColumn
from django_tables2.rows import BoundRow
from django_tables2.utils import signature

from core.local_time import local_wall_time, reader_zone

from . import export_rows, xlsx_sheet

CHUNK_SIZE = 500
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def table_export_rows(table) -> Iterator[list]:
    """The header, then one list of cell values per record, as the table would export them."""
    columns = _exported_columns(table)
    yield _header(columns)
    names = [column.name for column in columns]
    labels = {}
    if export_rows.handles(table, names):
        # The commitments table's cells come neutralised, a date as a date: written as its ISO
        # text, as the table's value method gives it.
        dates = [index for index, column in enumerate(columns) if _is_date(column.column)]
        for _, cells in export_rows.rows(table, names, chunk_size=CHUNK_SIZE):
            for index in dates:
                if cells[index] is not None:
                    cells[index] = cells[index].isoformat()
            yield cells
        return
    readers = [_cell_reader(table, column) for column in columns]
    for record, row in _records(table):
        yield [_cell_value(read(record, row), labels) for read in readers]


def _exported_columns(table) -> list:
    return [c for c in table.columns.iterall() if not c.column.exclude_from_export]


def _header(columns) -> list:
    return [force_str(column.header, strings_only=True) for column in columns]


def _records(table) -> Iterator[tuple[object, BoundRow]]:
    # table.data.data is the queryset after the filters and the table's ordering.
    queryset = table.data.data
    lookups = queryset._prefetch_related_lookups
    records = queryset.prefetch_related(None).iterator(chunk_size=CHUNK_SIZE)
    while chunk := list(islice(records, CHUNK_SIZE)):
        _prefetch(chunk, lookups)
        for record in chunk:
            yield record, BoundRow(record, table=table)


def _prefetch(records: list, lookups) -> None:
    """The queryset's prefetches for one chunk: each many-to-many one read as (record, related)
    pairs and the related rows once each, in the lookup's own order, and set as the records'
    prefetched lists; any other lookup through Django's prefetch_related_objects.

    Django's own prefetch builds a related manager and a filtered queryset for every record
    and a related object for every pair (a paragraph and its document for each link): 45% of
    a 20,000-row export. Here a chunk costs the same two queries per lookup, and `.all()` on
    the records' managers returns the lists as it returned the prefetched querysets."""
    others = []
    for lookup in lookups:
        field = _many_to_many(records[0], lookup)
        if field is None:
            others.append(lookup)
            continue
        _prefetch_many_to_many(records, field, _lookup_queryset(lookup, field))
    if others:
        prefetch_related_objects(records, *others)


def _many_to_many(record, lookup):
    """The forward many-to-many field a plain lookup (no `__`, no to_attr) names, or None."""
    name = lookup.prefetch_through if isinstance(lookup, Prefetch) else lookup
    if "__" in name or getattr(lookup, "to_attr", None):
        return None
    try:
        field = record._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    return field if field.many_to_many and not field.auto_created else None


def _lookup_queryset(lookup, field):
    queryset = lookup.queryset if isinstance(lookup, Prefetch) else None
    return queryset if queryset is not None else field.related_model._default_manager.all()


def _prefetch_many_to_many(records: list, field, queryset) -> None:
    through = field.remote_field.through
    source, target = field.m2m_column_name(), field.m2m_reverse_name()
    by_pk = {record.pk: record for record in records}
    pairs = list(
        through._default_manager.filter(**{f"{source}__in": by_pk}).values_list(source, target)
    )
    related = list(queryset.filter(pk__in={pk for _, pk in pairs}))  # the lookup's order
    rank = {obj.pk: index for index, obj in enumerate(related)}
    lists = {pk: [] for pk in by_pk}
    for record_pk, related_pk in pairs:
        if related_pk in rank:  # the lookup's queryset may leave some out
            lists[record_pk].append(related_pk)
    for record_pk, record in by_pk.items():
        ordered = sorted(lists[record_pk], key=rank.__getitem__)
        cache = record.__dict__.setdefault("_prefetched_objects_cache", {})
        cache[field.name] = [related[rank[pk]] for pk in ordered]


def _cell_value(value, labels: dict):
    """The cell's text (numbers stay numbers), neutralised against formulas. A translated label
    (a status, a freshness) is one lazy string shared by many rows: translated once per export
    into `labels`, keyed by the lazy string's identity, which the entry keeps alive."""
    if isinstance(value, Promise):
        known = labels.get(id(value))
        if known is None:
            known = labels[id(value)] = (value, _spreadsheet_safe(str(value)))
        return known[1]
    return _spreadsheet_safe(force_str(value, strings_only=True))


def _cell_reader(table, bound_column):
    """How to read one column's export value from a record, worked out once per export.

    django-tables2's BoundRow.get_cell_value inspects the signature of the column's value
    method for every cell (30% of a 20,000-row export). A column whose value comes from a
    `value_<name>` or `render_<name>` method of the table, or straight from its accessor (a
    plain Column), is read here with the same arguments, empty values and result, the
    signature inspected once. Any other column (another column class, or one on a model field
    with choices, shown by its label) keeps the row's own get_cell_value.
    """
    name, column = bound_column.name, bound_column.column
    method = getattr(table, f"value_{name}", None) or getattr(table, f"render_{name}", None)
    accessor = A(bound_column.accessor)
    if (method is None and type(column) is not Column) or _shown_by_choice(accessor, table):
        return lambda record, row: row.get_cell_value(name)
    arguments, catch_all = signature(method) if method else ((), None)

    def read(record, row):
        try:
            value = accessor.resolve(record)
        except Exception:  # as BoundRow: a column without a field reads as empty
            value = None
        if value in column.empty_values:
            return None
        if method is None:
            return value
        offered = row._optional_cell_arguments(bound_column, value)
        if catch_all:
            return method(**offered)
        return method(**{argument: offered[argument] for argument in arguments})

    return read


def _shown_by_choice(accessor, table) -> bool:
    """Whether the accessor ends on a model field with choices, which BoundRow shows by its
    label (get_FOO_display); such a column keeps the row's own reading."""
    model = getattr(table.data, "model", None)
    try:
        field = accessor.get_field(model) if model is not None else None
    except Exception:  # an annotation or a method: no model field, no choices
        return False
    return bool(getattr(field, "choices", None))


# A cell starting with one of FORMULA_STARTS is run as a formula by spreadsheet programs.
FORMULA_STARTS = export_rows.FORMULA_STARTS
_spreadsheet_safe = export_rows.spreadsheet_safe


class _Echo:
    """A file-like object whose write returns the line, so csv.writer can feed a generator."""

    def write(self, value: str) -> str:
        return value


def csv_response(table, *, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_csv_parts(table), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _csv_parts(table) -> Iterator[str]:
    """The CSV's text a chunk of rows at a time (one write to the client per chunk, not per
    row), each chunk written by one `writerows`."""
    rows = table_export_rows(table)
    while chunk := list(islice(rows, CHUNK_SIZE)):
        text = io.StringIO()
        csv.writer(text).writerows(chunk)
        yield text.getvalue()


def xlsx_response(table, *, filename: str, title: str = "Commitments") -> FileResponse:
    # Deleted when the response closes it, after the last byte is sent.
    handle = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 (the response closes it)
    _xlsx_write(table, handle, title)
    handle.seek(0)
    return FileResponse(
        handle, as_attachment=True, filename=filename, content_type=XLSX_CONTENT_TYPE
    )


# Widths in characters (Excel's unit): a header is never cut, and the kinds of column whose
# content is known get room for it. Rows stream, so the widths cannot be measured from them.
DATE_WIDTH = 12
TEXT_WIDTH = 18
LINKED_WIDTH = 60  # the title: long, and the cell a reader clicks
WEB_ADDRESS = ("https://", "http://")
# Excel's limit of hyperlinks in one sheet; the cells after it are text, as is a cell whose
# link is not a web address (a table without a request links its pages by their path alone,
# which a spreadsheet cannot open).
MAX_LINKS = 65_530


def _xlsx_write(table, handle, title: str) -> None:
    """The sheet a row at a time (commitments.xlsx_sheet): every value written by its type,
    so a text such as "'=1+1" is never taken for a formula."""
    columns = _exported_columns(table)
    widths = [_width(column) for column in columns]
    sheet = xlsx_sheet.SheetWriter(handle, title=title, widths=widths, max_links=MAX_LINKS)
    sheet.row(_header(columns), style=xlsx_sheet.BOLD)
    for values, targets in _xlsx_rows(table, columns):
        sheet.row(values, [_web_address(target) for target in targets])
    sheet.close()


def _xlsx_rows(table, columns) -> Iterator[tuple[list, list]]:
    """Each row's cell values (dates as dates) and the address each cell links to, if any."""
    names = [column.name for column in columns]
    if export_rows.handles(table, names):
        yield from _commitment_xlsx_rows(table, columns, names)
        return
    readers = [_xlsx_reader(table, column) for column in columns]
    links = [_link_reader(table, column) for column in columns]
    for record, row in _records(table):
        values = [read(record, row) for read in readers]
        yield values, [link(record, value) for value, link in zip(values, links, strict=True)]


def _commitment_xlsx_rows(table, columns, names) -> Iterator[tuple[list, list]]:
    """As _xlsx_rows, for the commitments table's own columns (commitments.export_rows): the
    title links to the commitment's page, as the table links it."""
    request = getattr(table, "request", None)
    url = export_rows.commitment_url(getattr(request, "build_absolute_uri", None))
    linked = [column.column.link is not None for column in columns]
    for row, cells in export_rows.rows(table, names, chunk_size=CHUNK_SIZE):
        targets = [
            url(row.slug) if link else _web_address(value)
            for value, link in zip(cells, linked, strict=True)
        ]
        yield cells, targets


def _web_address(value) -> str | None:
    return value if isinstance(value, str) and value.startswith(WEB_ADDRESS) else None


def _width(bound_column) -> int:
    if _is_date(bound_column.column):
        own = DATE_WIDTH
    elif bound_column.column.link is not None:
        own = LINKED_WIDTH
    else:
        own = TEXT_WIDTH
    return max(own, len(force_str(bound_column.header)) + 2)


def _is_date(column) -> bool:
    return isinstance(column, DateColumn | DateTimeColumn)


def _xlsx_reader(table, bound_column):
    """A date column's own value (a date, which Excel shows and sorts as one); any other column
    as the CSV has it."""
    if not _is_date(bound_column.column):
        read, labels = _cell_reader(table, bound_column), {}
        return lambda record, row: _cell_value(read(record, row), labels)
    accessor = A(bound_column.accessor)

    def read_date(record, row):
        value = accessor.resolve(record, quiet=True)
        if isinstance(value, datetime.datetime):
            # Excel has no time zones: the time as the reader's clock showed it.
            zone = reader_zone(getattr(getattr(table, "request", None), "user", None))
            return local_wall_time(value, zone=zone) if value.tzinfo else value
        return value if isinstance(value, datetime.date) else None

    return read_date


def _link_reader(table, bound_column):
    """Where a cell links to: the page the table links the column to (absolute, so it opens
    from a spreadsheet), or the web address the cell holds."""
    link = bound_column.column.link
    request = getattr(table, "request", None)

    def target(record, value) -> str | None:
        if link is not None:
            url = link.compose_url(record=record, bound_column=bound_column)
            return request.build_absolute_uri(url) if request is not None else url
        return _web_address(value)

    return target


RESPONSES = {"csv": csv_response, "xlsx": xlsx_response}
