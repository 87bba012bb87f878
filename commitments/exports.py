"""Exports of the commitments table (CSV and Excel) that stream instead of loading every row.

django-tables2's TableExport builds the whole file in memory through tablib, after evaluating
the whole queryset. Here the rows come from the table's own filtered and ordered queryset in
chunks (`.iterator(chunk_size=...)`, which keeps its prefetches, so each chunk costs a fixed
number of queries), and each row gets the same cell values as the table's `as_values()`
(the `value_*` methods). CSV is written as it is read; Excel goes through openpyxl's
write-only workbook into a temporary file, so memory stays flat too.
"""

import csv
import tempfile
from collections.abc import Iterator

from django.http import FileResponse, StreamingHttpResponse
from django.utils.encoding import force_str
from django_tables2.rows import BoundRow

CHUNK_SIZE = 500
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def table_export_rows(table) -> Iterator[list]:
    """The header, then one list of cell values per record, as the table would export them."""
    columns = [c for c in table.columns.iterall() if not c.column.exclude_from_export]
    yield [force_str(column.header, strings_only=True) for column in columns]
    # table.data.data is the queryset after the filters and the table's ordering.
    for record in table.data.data.iterator(chunk_size=CHUNK_SIZE):
        row = BoundRow(record, table=table)
        yield [
            _spreadsheet_safe(force_str(row.get_cell_value(column.name), strings_only=True))
            for column in columns
        ]


# A cell starting with one of these is run as a formula by spreadsheet programs; a title
# such as "=HYPERLINK(...)" typed into the record must arrive as text (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _spreadsheet_safe(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _Echo:
    """A file-like object whose write returns the line, so csv.writer can feed a generator."""

    def write(self, value: str) -> str:
        return value


def csv_response(table, *, filename: str) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    lines = (writer.writerow(row) for row in table_export_rows(table))
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def xlsx_response(table, *, filename: str, title: str = "Commitments") -> FileResponse:
    from openpyxl import Workbook  # only the Excel export needs it

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title)
    for row in table_export_rows(table):
        sheet.append(row)
    # Deleted when the response closes it, after the last byte is sent.
    handle = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 (the response closes it)
    workbook.save(handle)
    handle.seek(0)
    return FileResponse(
        handle, as_attachment=True, filename=filename, content_type=XLSX_CONTENT_TYPE
    )


RESPONSES = {"csv": csv_response, "xlsx": xlsx_response}
