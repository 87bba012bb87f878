"""Bulk import's file checks against crafted files: an Excel file declaring millions of cells,
sharing millions of strings or unpacking to gigabytes is refused before it is read whole, with
a short message; a long file is refused without reading past the limit."""

import datetime
import io
import random
import re
import zipfile

import pytest
from openpyxl import Workbook
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from commitments import services
from commitments.bulk_import import FileRefused, file_rows, max_columns
from commitments.models import BulkImport

HEADER = ["ID", "Title", "Document", "Paragraphs", "Status", "Progress"]
ROW = ["", "Neutrality Day", "ashgabat-2020", 1, "In progress", 10]


def workbook_bytes(rows: list[list], *, cells: dict | None = None) -> bytes:
    """An ordinary workbook (openpyxl shares its strings as Excel does); `cells` puts single
    values at (row, column)."""
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    for (row, column), value in (cells or {}).items():
        workbook.active.cell(row, column, value)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def rezipped(content: bytes, *, changed=None, added=None, added_compression=zipfile.ZIP_DEFLATED):
    """The zip with some parts' text changed (name -> function of it) and parts added."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w") as target:
        for part in source.infolist():
            data = source.read(part)
            if part.filename in (changed or {}):
                data = changed[part.filename](data.decode()).encode()
            target.writestr(part.filename, data, compress_type=zipfile.ZIP_DEFLATED)
        for name, data in (added or {}).items():
            target.writestr(name, data, compress_type=added_compression)
    return out.getvalue()


@pytest.fixture
def cells_made(monkeypatch) -> list[int]:
    """How many cells openpyxl makes for each row it hands over (blank rows between are not
    made: they are one shared empty row)."""
    made = []
    original = ReadOnlyWorksheet._get_row

    def counted(self, *args, **kwargs):
        row = original(self, *args, **kwargs)
        made.append(len(row))
        return row

    monkeypatch.setattr(ReadOnlyWorksheet, "_get_row", counted)
    return made


@pytest.fixture
def openpyxl_never_loads(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("openpyxl loaded a file the zip check should have refused")

    monkeypatch.setattr("openpyxl.load_workbook", refuse)


def refusal(content: bytes, name: str = "c.xlsx") -> str:
    with pytest.raises(FileRefused) as refused:
        file_rows(name=name, content=content)
    message = str(refused.value)
    assert len(message) < 300, message
    return message


def test_a_sheet_declaring_a_million_cells_makes_only_those_it_holds(cells_made):
    content = rezipped(
        workbook_bytes([HEADER], cells={(12000, 2): "Neutrality Day"}),
        changed={
            "xl/worksheets/sheet1.xml": lambda xml: re.sub(
                r'<dimension ref="[^"]*"', '<dimension ref="A1:XFD12000"', xml
            )
        },
    )
    assert len(content) < 10_000 and b"XFD12000" in zipfile.ZipFile(io.BytesIO(content)).read(
        "xl/worksheets/sheet1.xml"
    )

    rows = file_rows(name="c.xlsx", content=content)

    assert rows == [HEADER, ["", "Neutrality Day", "", "", "", ""]]
    assert sum(cells_made) < 20  # the header and the one row, not 16,384 columns of each


def test_a_header_reaching_the_last_column_is_refused_by_its_count(cells_made):
    content = workbook_bytes([HEADER, ROW], cells={(1, 16384): "Colour"})

    message = refusal(content)

    assert message.startswith("The header row has 16384 columns; the export's has 17.")
    assert "(an empty header)" not in message
    assert sum(cells_made) <= 16384  # the header alone was read so wide


def test_a_csv_header_wider_than_the_export_is_refused_by_its_count():
    header = HEADER + [f"Column {n}" for n in range(40)]
    content = (",".join(header) + "\n" + ",".join("x" for _ in header) + "\n").encode()

    assert refusal(content, name="c.csv").startswith(
        f"The header row has 46 columns; the export's has {max_columns() - 5}."
    )


def test_an_excel_file_sharing_more_strings_than_its_rows_hold_is_refused_unread(
    settings, openpyxl_never_loads
):
    settings.BULK_IMPORT_MAX_ROWS = 2  # 3 rows of 22 columns: 66 strings at most
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    strings = "".join(f"<si><t>{n}</t></si>" for n in range(1000))
    declared = (
        '<Override PartName="/xl/strings.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
    )
    content = rezipped(
        workbook_bytes([HEADER, ROW]),
        changed={"[Content_Types].xml": lambda xml: xml.replace("</Types>", declared)},
        added={"xl/strings.xml": f'<sst xmlns="{main}">{strings}</sst>'.encode()},
    )

    assert "holds more than 66 texts" in refusal(content)


def test_a_zip_bomb_part_is_refused_unread(openpyxl_never_loads):
    content = rezipped(workbook_bytes([HEADER, ROW]), added={"xl/media/a.bin": b"\0" * 8_000_000})
    assert len(content) < 50_000

    message = refusal(content)

    assert "part “xl/media/a.bin” unpacks to over 100 times its packed size" in message


def test_an_excel_file_unpacking_to_more_than_an_import_reads_is_refused(
    settings, openpyxl_never_loads
):
    settings.BULK_IMPORT_MAX_UPLOAD_BYTES = 40_000  # unpacked: 200 KB at most
    noise = random.Random(15).randbytes(300_000)  # packs no smaller: no bomb, only too large
    content = rezipped(
        workbook_bytes([HEADER, ROW]), added={"xl/media/a.bin": noise}, added_compression=0
    )

    assert "unpacks to 309.6\xa0KB; an import reads at most 195.3\xa0KB" in refusal(content)


def test_a_zip_of_too_many_parts_is_refused_unread(openpyxl_never_loads):
    content = rezipped(
        workbook_bytes([HEADER, ROW]), added={f"xl/media/{n}.bin": b"" for n in range(200)}
    )

    assert "not a CSV or Excel" in refusal(content)


def test_a_damaged_sheet_is_refused_as_not_a_spreadsheet():
    content = rezipped(
        workbook_bytes([HEADER, ROW]),
        changed={"xl/worksheets/sheet1.xml": lambda xml: xml[: len(xml) // 2]},
    )

    assert "not a CSV or Excel" in refusal(content)


def test_a_long_excel_file_is_refused_without_reading_past_the_limit(settings, cells_made):
    settings.BULK_IMPORT_MAX_ROWS = 2
    content = workbook_bytes([HEADER] + [ROW] * 500)

    assert refusal(content).startswith("The file has more than 2 rows; an import takes at most 2.")
    assert len(cells_made) == 1 + 3  # the header, the limit and one more: not 500 rows


def test_blank_rows_do_not_count_and_hide_no_row_past_them(settings):
    settings.BULK_IMPORT_MAX_ROWS = 2
    content = "\n".join([",".join(HEADER), ",,,,,", "", " , ", "a,b,c,1,d,2", "e,f,g,1,h,3"])

    rows = file_rows(name="c.csv", content=content.encode())

    assert [row[0] for row in rows] == ["ID", "a", "e"]


@pytest.mark.django_db
def test_a_refused_file_stores_nothing(secretariat, openpyxl_never_loads):
    content = rezipped(workbook_bytes([HEADER, ROW]), added={"xl/media/a.bin": b"\0" * 8_000_000})

    with pytest.raises(FileRefused):
        services.bulk_import_create(
            author=secretariat, name="c.xlsx", content=content, today=datetime.date(2026, 5, 4)
        )

    assert not BulkImport.objects.exists()
