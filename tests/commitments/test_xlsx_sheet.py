"""commitments.xlsx_sheet writes the cells XlsxWriter wrote for the same rows (the export's
writer before it): read back with openpyxl, the same values, links, formats, fonts, column
widths and dimensions, whatever the text holds."""

import datetime
import io
import zipfile

import pytest
import xlsxwriter
from openpyxl import load_workbook

from commitments import xlsx_sheet

WIDTHS = [60, 18, 18, 12, 12, 18, 19]
HEADER = ["Title", "Text", "Number", "Day", "Moment", "Other", "Long header name!"]
TEXTS = [
    "plain",
    "'=1+1",
    "a & b < c > d \"quoted\" 'single'",
    " leading space",
    "trailing tab\t",
    "line\nbreak",
    "ends with a line break\n",
    "\r carriage return",
    "control \x01\x07\x1f characters",
    "literal _x0041_ escape and _xZZZZ_",
    "non-characters \ufffe \uffff",
    "Ашхабад ½ 😀 emoji",
    "x" * 40_000,
    "😀" * 20_000,
    "_x005F_",
]
DAYS = [
    datetime.date(1900, 1, 1),
    datetime.date(1900, 2, 28),
    datetime.date(1900, 3, 1),
    datetime.date(2026, 6, 15),
    None,
]
MOMENTS = [
    datetime.datetime(2026, 6, 15, 13, 45, 30, 500_000),
    datetime.datetime(1900, 1, 1, 6),
    datetime.datetime(1900, 3, 1, 23, 59, 59),
]
LINKS = [
    "https://example.org/commitments/c-1/",
    'http://example.org/a path/"q"<x>[y]^`{z}',
    "https://example.org/already%20escaped here",
    "https://example.org/page#part-2",
    "https://example.org/a&b=c",
    None,
]


def rows() -> list[tuple[list, list]]:
    """(values, links) rows with every kind of cell: text, blank, bool, int, float, dates,
    moments, links with characters Excel escapes, a blank row."""
    made = []
    for index in range(45):
        text = TEXTS[index % len(TEXTS)]
        values = [
            f"Title {index}" if index % 7 else "",
            text,
            (index, -index * 1.5, 1e20, 0.1, True, False, None)[index % 7],
            DAYS[index % len(DAYS)],
            MOMENTS[index % len(MOMENTS)],
            LINKS[index % len(LINKS)] or "no link",
            "" if index % 2 else "odd",
        ]
        links = [LINKS[(index + 1) % len(LINKS)], None, None, None, None, LINKS[index % 6], None]
        made.append((values, links))
    made.append(([None, "", None, "", None, "", None], [None] * 7))  # a blank row
    made.append((["after the blank row", 1, 2, 3, 4, 5, 6], [LINKS[0]] + [None] * 6))
    return made


def with_xlsxwriter(max_links: int) -> bytes:
    """The rows as the export wrote them with XlsxWriter (constant memory, cells by type)."""
    handle = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        handle,
        {
            "constant_memory": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    sheet = workbook.add_worksheet("Commitments")
    for index, width in enumerate(WIDTHS):
        sheet.set_column(index, index, width)
    bold = workbook.add_format({"bold": True})
    day = workbook.add_format({"num_format": "yyyy-mm-dd"})
    moment = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    for index, header in enumerate(HEADER):
        sheet.write_string(0, index, header, bold)
    links = 0
    for number, (values, targets) in enumerate(rows(), 1):
        for index, (value, target) in enumerate(zip(values, targets, strict=True)):
            if value is None or value == "":
                continue
            if target and links < max_links:
                links += 1
                sheet.write_url(number, index, target, string=str(value))
            elif isinstance(value, str):
                sheet.write_string(number, index, value)
            elif isinstance(value, bool):
                sheet.write_boolean(number, index, value)
            elif isinstance(value, int | float):
                sheet.write_number(number, index, value)
            elif isinstance(value, datetime.datetime):
                sheet.write_datetime(number, index, value, moment)
            else:
                sheet.write_datetime(number, index, value, day)
    workbook.close()
    return handle.getvalue()


def with_sheet_writer(max_links: int) -> bytes:
    handle = io.BytesIO()
    sheet = xlsx_sheet.SheetWriter(handle, title="Commitments", widths=WIDTHS, max_links=max_links)
    sheet.row(HEADER, style=xlsx_sheet.BOLD)
    for values, links in rows():
        sheet.row(values, links)
    sheet.close()
    return handle.getvalue()


def read(body: bytes) -> dict:
    sheet = load_workbook(io.BytesIO(body)).active
    return {
        "title": sheet.title,
        "dimensions": sheet.dimensions,
        "widths": {
            key: (dimension.min, dimension.max, dimension.width, dimension.customWidth)
            for key, dimension in sheet.column_dimensions.items()
        },
        "cells": [
            [
                (
                    cell.coordinate,
                    cell.value,
                    cell.data_type,
                    cell.number_format,
                    cell.font.b,
                    cell.font.u,
                    cell.style,
                    (cell.hyperlink.target, cell.hyperlink.location) if cell.hyperlink else None,
                )
                for cell in row
            ]
            for row in sheet.iter_rows()
        ],
    }


@pytest.mark.parametrize("max_links", [65_530, 7])
def test_the_sheet_has_the_cells_xlsxwriter_wrote(max_links):
    ours, theirs = read(with_sheet_writer(max_links)), read(with_xlsxwriter(max_links))

    assert ours == theirs
    linked = [cell for row in ours["cells"] for cell in row if cell[-1]]
    assert len(linked) == 7 if max_links == 7 else len(linked) > 7
    assert ours["dimensions"] == "A1:G48"  # the blank row 47 left blank, not skipped
    assert all(cell[1] is None for cell in ours["cells"][46])
    assert ours["cells"][47][0][1] == "after the blank row"


def test_the_sheets_text_is_xlsxwriters_to_the_byte():
    """openpyxl reads some escapes back the same way either way: the XML itself agrees."""

    def cells_xml(body: bytes) -> bytes:
        xml = zipfile.ZipFile(io.BytesIO(body)).read("xl/worksheets/sheet1.xml")
        return xml[xml.index(b"<sheetData>") : xml.index(b"</sheetData>")]

    def without_styles(xml: bytes) -> bytes:  # the styles' numbers are in order of first use
        for number in range(1, 6):
            xml = xml.replace(f' s="{number}"'.encode(), b"")
        return xml

    assert without_styles(cells_xml(with_sheet_writer(65_530))) == without_styles(
        cells_xml(with_xlsxwriter(65_530))
    )


def test_a_link_longer_than_excel_reads_is_text():
    """XlsxWriter left such a cell blank; its text stays, without a link."""
    handle = io.BytesIO()
    sheet = xlsx_sheet.SheetWriter(handle, title="Sheet", widths=[20])
    sheet.row(["Too long"], ["https://example.org/" + "x" * 2_100])
    sheet.close()

    [[cell]] = load_workbook(handle).active.iter_rows()
    assert (cell.value, cell.hyperlink) == ("Too long", None)


def test_memory_stays_flat_in_the_rows(tmp_path):
    """The rows and links go to temporary files as they come: none is kept in the writer."""
    with (tmp_path / "sheet.xlsx").open("wb") as handle:
        sheet = xlsx_sheet.SheetWriter(handle, title="Sheet", widths=[20])
        for number in range(2_000):
            sheet.row([f"Row {number}"], [f"https://example.org/{number}"])
        kept = {name: len(repr(value)) for name, value in vars(sheet).items()}
        sheet.close()

    assert max(kept.values()) < 200  # names, counters, file handles: nothing per row
    assert load_workbook(tmp_path / "sheet.xlsx").active.max_row == 2_000


def test_column_letters():
    assert [xlsx_sheet.column_letter(n) for n in (0, 25, 26, 51, 52, 701, 702, 16_383)] == [
        "A", "Z", "AA", "AZ", "BA", "ZZ", "AAA", "XFD",
    ]  # fmt: skip
