import csv
import datetime
import io
from types import SimpleNamespace

import django_tables2 as tables
import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from commitments.exports import table_export_rows
from commitments.selectors import commitment_dated_list
from commitments.statuses import Status
from commitments.tables import CommitmentTable
from tests.factories import ActorFactory, CommitmentFactory, ParagraphFactory

pytestmark = pytest.mark.django_db

LIST_URL = reverse("commitments:commitment_list")
# The session and the user, the rows with the ids of their links, and the related rows once
# per export (paragraphs with their documents' names, actors, themes: commitments.export_rows),
# whatever the rows; no count (an export is not paged).
EXPORT_QUERIES = 6


def make_rows(count: int) -> None:
    actors = ActorFactory.create_batch(2)
    for n in range(count):
        CommitmentFactory(
            lead_actors=actors,
            status=list(Status)[n % len(Status)],
            progress=n % 101,
            paragraphs=[ParagraphFactory(), ParagraphFactory()],
        )


def download(client, params) -> tuple[object, bytes, int]:
    """The response, its whole body and the queries it took, streaming included."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST_URL, params)
        body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body, len(queries)


def rows_of(response, body: bytes) -> list[list]:
    """The export's rows, header included, whichever its format."""
    if response["Content-Type"].startswith("text/csv"):
        return list(csv.reader(io.StringIO(body.decode("utf-8"))))
    return [list(row) for row in load_workbook(io.BytesIO(body), read_only=True).active.values]


def table_values(user, order_by) -> list[list[str]]:
    """What django-tables2's own export would write for `user`: the table's as_values()."""
    table = CommitmentTable(commitment_dated_list(user=user), order_by=order_by)
    table.request = SimpleNamespace(user=user)  # as RequestConfig sets it: the owners' names
    return [[str(value) for value in row] for row in table.as_values()]


def test_csv_streams_the_same_rows_as_the_table_would_export(secretariat_client, secretariat):
    make_rows(12)

    response, body, _ = download(secretariat_client, {"_export": "csv", "sort": "-progress"})

    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Disposition"] == 'attachment; filename="commitments.csv"'
    rows = list(csv.reader(io.StringIO(body.decode("utf-8"))))
    assert rows == table_values(secretariat, ("-progress",))
    assert len(rows) == 13


def test_csv_keeps_the_filters(secretariat_client):
    make_rows(12)

    _, body, _ = download(secretariat_client, {"_export": "csv", "status": "stalled"})

    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8"))))
    assert len(rows) == 2
    assert {row["Status"] for row in rows} == {"Stalled"}


@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_export_queries_do_not_grow_with_rows(secretariat_client, export_format):
    make_rows(3)
    _, _, few = download(secretariat_client, {"_export": export_format})
    make_rows(60)

    _, body, many = download(secretariat_client, {"_export": export_format})

    assert many == few
    assert body  # the 63 rows were really read


@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_export_reads_its_rows_with_their_links_in_one_query(
    secretariat_client, monkeypatch, export_format
):
    """The rows come in chunks of 5 from one query that has their links' ids too (paragraphs,
    lead actors, supporting actors, themes): more chunks, no more queries."""
    monkeypatch.setattr("commitments.exports.CHUNK_SIZE", 5)
    make_rows(3)
    _, _, one_chunk = download(secretariat_client, {"_export": export_format})
    make_rows(27)

    response, body, six_chunks = download(secretariat_client, {"_export": export_format})

    assert six_chunks == one_chunk
    assert len(rows_of(response, body)) == 31


def test_xlsx_has_the_table_rows_with_filters_and_sorting(secretariat_client, secretariat):
    make_rows(12)

    response, body, _ = download(secretariat_client, {"_export": "xlsx", "sort": "title"})

    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert 'filename="commitments.xlsx"' in response["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(body), read_only=True).active
    rows = [["" if cell is None else str(cell) for cell in row] for row in sheet.values]
    assert rows == table_values(secretariat, ("title",))


def test_a_liaison_export_leaves_internal_state_out(liaison_client, secretariat):
    from commitments import services

    commitment = CommitmentFactory(title="Quietly achieved")
    services.status_update_create(
        commitment=commitment,
        author=secretariat,
        status=Status.ACHIEVED,
        progress=100,
        narrative="Internal.",
        happened_on=commitment.created_at.date(),
        visibility="internal",
    )

    _, body, _ = download(liaison_client, {"_export": "xlsx"})

    sheet = load_workbook(io.BytesIO(body), read_only=True).active
    [header, row] = list(sheet.values)
    assert row[header.index("Status")] == "Not started"


@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_a_title_that_looks_like_a_formula_is_exported_as_text(secretariat_client, export_format):
    CommitmentFactory(title='=HYPERLINK("https://example.org","open")', slug="formula")

    _, body, _ = download(secretariat_client, {"_export": export_format})

    if export_format == "csv":
        rows = list(csv.reader(io.StringIO(body.decode("utf-8"))))
    else:
        rows = [list(row) for row in load_workbook(io.BytesIO(body), read_only=True).active.values]
    assert rows[1][rows[0].index("Title")] == '\'=HYPERLINK("https://example.org","open")'


class TableWithOtherColumns(CommitmentTable):
    """Columns the export reads through django-tables2's own BoundRow (a BooleanColumn with no
    value method, a field with choices) and straight from the accessor (a plain Column, here
    often empty)."""

    has_owner = tables.BooleanColumn(accessor="owner_id")
    summary = tables.Column()
    kind = tables.Column()  # a field with choices: exported by its label, as the table shows it


def test_the_export_reads_every_kind_of_column_as_the_table_would(secretariat):
    make_rows(5)
    # Titled to sort last whatever numbers the factory's sequence has reached.
    CommitmentFactory(title="~ without an owner", owner=None, summary="", target_date=None)
    table = TableWithOtherColumns(commitment_dated_list(user=secretariat), order_by=("title",))

    exported = [[str(value) for value in row] for row in table_export_rows(table)]

    assert exported == [[str(value) for value in row] for row in table.as_values()]
    no_owner = exported[-1]
    assert no_owner[0] == "~ without an owner"
    assert no_owner[-3:] == ["False", "None", "One-off deliverable"]


# --- The Excel file as a spreadsheet (issue 10) ------------------------------------------------


def workbook_sheet(body: bytes):
    """The sheet as a reader's spreadsheet program opens it (not read-only: hyperlinks and
    column widths are read too)."""
    return load_workbook(io.BytesIO(body)).active


def test_xlsx_dates_are_excel_dates(secretariat_client, secretariat):
    from tests.factories import post_status_update

    commitment = CommitmentFactory(title="Dated", target_date=datetime.date(2026, 12, 31))
    post_status_update(commitment, secretariat, happened_on=datetime.date(2024, 2, 29))
    CommitmentFactory(title="Undated", target_date=None)

    _, body, _ = download(secretariat_client, {"_export": "xlsx", "sort": "title"})

    sheet = workbook_sheet(body)
    header = [cell.value for cell in sheet[1]]
    target, last = header.index("Target date") + 1, header.index("Last activity") + 1
    dated = sheet.cell(row=2, column=target)
    assert dated.is_date and dated.value.date() == datetime.date(2026, 12, 31)
    assert dated.number_format == "yyyy-mm-dd"
    assert sheet.cell(row=2, column=last).value.date() == datetime.date(2024, 2, 29)
    assert sheet.cell(row=3, column=target).value is None


def test_xlsx_columns_have_widths_that_fit_their_headers(secretariat_client):
    make_rows(2)

    _, body, _ = download(secretariat_client, {"_export": "xlsx"})

    sheet = workbook_sheet(body)
    for cell in sheet[1]:
        assert column_width(sheet, cell.column) >= len(cell.value) + 2, cell.value
    assert 60 <= column_width(sheet, 1) < 61  # the title (Excel adds its padding)
    assert sheet[1][0].font.bold


def column_width(sheet, number: int) -> float:
    """The width of the column; neighbours of one width are one range (min-max) in the file."""
    [width] = [
        dimension.width
        for dimension in sheet.column_dimensions.values()
        if dimension.min <= number <= dimension.max
    ]
    return width


def test_xlsx_titles_link_to_the_commitment_page(secretariat_client):
    commitment = CommitmentFactory(title="Annual forum", slug="annual-forum")
    CommitmentFactory(title='=HYPERLINK("https://evil.example","open")', slug="formula")

    _, body, _ = download(secretariat_client, {"_export": "xlsx", "sort": "title"})

    sheet = workbook_sheet(body)
    formula, forum = sheet["A2"], sheet["A3"]
    assert forum.value == "Annual forum"
    assert forum.hyperlink.target == f"http://testserver{commitment.get_absolute_url()}"
    assert forum.style == "Hyperlink"
    assert formula.data_type == "s" and formula.value.startswith("'=HYPERLINK")
    assert formula.hyperlink.target == "http://testserver/commitments/formula/"
    assert [cell.hyperlink for cell in sheet[3][1:]] == [None] * (len(sheet[3]) - 1)


class TableWithWebAddresses(CommitmentTable):
    evidence = tables.Column(accessor="summary", verbose_name="Evidence")


def test_xlsx_cells_holding_a_web_address_are_links_and_the_csv_is_unchanged(secretariat):
    from commitments.exports import csv_response, xlsx_response

    CommitmentFactory(title="A", summary="https://example.org/evidence.pdf")
    CommitmentFactory(title="B", summary="javascript:alert(1)")
    table = TableWithWebAddresses(commitment_dated_list(user=secretariat), order_by=("title",))

    sheet = workbook_sheet(b"".join(xlsx_response(table, filename="c.xlsx")))
    csv_rows = list(
        csv.reader(io.StringIO(b"".join(csv_response(table, filename="c.csv")).decode()))
    )

    evidence = [cell.value for cell in sheet[1]].index("Evidence")
    assert sheet[2][evidence].value == "https://example.org/evidence.pdf"
    assert sheet[2][evidence].hyperlink.target == "https://example.org/evidence.pdf"
    assert sheet[3][evidence].hyperlink is None
    assert csv_rows == [[str(value) for value in row] for row in table.as_values()]


@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_an_exports_query_count_is_pinned(secretariat_client, export_format):
    make_rows(40)

    _, body, queries = download(secretariat_client, {"_export": export_format})

    assert queries == EXPORT_QUERIES
    assert body


def test_a_cell_lists_its_paragraphs_and_actors_in_the_tables_order(secretariat_client):
    actors = [ActorFactory(name=name) for name in ("Zambia", "Austria", "Mongolia")]
    paragraphs = [ParagraphFactory(number=number) for number in (9, 2, 5)]
    CommitmentFactory(lead_actors=actors, paragraphs=paragraphs)
    CommitmentFactory(lead_actors=actors[:1], paragraphs=paragraphs[2:])

    _, body, _ = download(secretariat_client, {"_export": "csv", "sort": "paragraphs"})

    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8"))))
    assert [(row["Paragraphs"], row["Lead actors"]) for row in rows] == [
        ("2, 5, 9", "Austria; Mongolia; Zambia"),
        ("5", "Zambia"),
    ]


READERS_COLUMNS = ["ID", "Document", "Supporting actors", "Themes"]
SECRETARIAT_COLUMNS = ["Update date", "Update narrative", "Update visibility"]


@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
@pytest.mark.parametrize("reader", ["anonymous", "liaison", "secretariat"])
def test_only_the_secretariats_export_has_the_bulk_import_update_columns(
    client, request, settings, reader, export_format
):
    """The update columns are the secretariat's round trip (a bulk import); the identifying
    columns serve every reader."""
    settings.TRACKER_PUBLIC_SITE = True
    if reader != "anonymous":
        client.force_login(request.getfixturevalue(reader))
    make_rows(1)

    _, body, _ = download(client, {"_export": export_format})

    if export_format == "csv":
        header = next(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    else:
        header = list(next(load_workbook(io.BytesIO(body), read_only=True).active.values))
    assert all(column in header for column in READERS_COLUMNS)
    has_update_columns = [column in header for column in SECRETARIAT_COLUMNS]
    assert has_update_columns == [reader == "secretariat"] * 3
