"""The commitments table's export read as tuples (commitments.export_rows) writes what the
table's own cells gave before it (the export's generic path, itself held to django-tables2's
as_values() in test_exports.py): the same CSV bytes and the same Excel cells and links, for
every reader, filter and sort."""

import csv
import datetime
import io

import pytest
import time_machine
from django.urls import reverse
from openpyxl import load_workbook

from commitments import export_rows, exports
from commitments.models import Milestone
from commitments.statuses import Status
from tests.factories import (
    ActorFactory,
    CommitmentFactory,
    DocumentFactory,
    ParagraphFactory,
    SecretariatFactory,
    ThemeFactory,
    post_status_update,
)

pytestmark = pytest.mark.django_db

LIST_URL = reverse("commitments:commitment_list")
TODAY = datetime.datetime(2026, 6, 15, 12, tzinfo=datetime.UTC)


@pytest.fixture
def varied_record(secretariat):
    """Titles a spreadsheet would run as formulas, non-ASCII, empty fields, several
    paragraphs (of two documents), actors and themes, owners with and without a full name or
    none, an internal update a liaison must not see, deadlines and freshness of every kind, a
    retired commitment."""
    first, second = DocumentFactory(short_name="A/RES/75/1"), DocumentFactory(short_name="Ç-2")
    paragraphs = [ParagraphFactory(document=first, number=n) for n in (7, 3)]
    paragraphs.append(ParagraphFactory(document=second, number=5))
    actors = [ActorFactory(name=name) for name in ("Zambia", "Österreich", "-Minus", "=SUM(1)")]
    themes = [ThemeFactory(name=name) for name in ("Peace", "@home")]
    named = SecretariatFactory(username="named", first_name="Aýna", last_name="Berdiýewa")
    unnamed = SecretariatFactory(username="login-only@example.org")
    titles = ["=1+1", "+", "-", "@", "Ашхабадский форум ½", "\tTabbed", "https://example.org/x"]
    with time_machine.travel(TODAY, tick=False):
        for index, title in enumerate(titles):
            commitment = CommitmentFactory(
                title=title,
                slug=f"c-{index}",
                owner=(named, unnamed, None)[index % 3],
                paragraphs=paragraphs[index % 3 :] if index != 4 else [],
                lead_actors=actors[index % 4 :],
                target_date=(None, datetime.date(2026, 6, 20), datetime.date(2025, 1, 1))[
                    index % 3
                ],
            )
            commitment.supporting_actors.set(actors[: index % 3])
            commitment.themes.set(themes[: index % 3])
            if index % 2:
                post_status_update(
                    commitment,
                    secretariat,
                    status=list(Status)[index % len(Status)],
                    progress=index * 10,
                    visibility="internal" if index == 3 else "public",
                    happened_on=datetime.date(2026, 1, index),
                )
        Milestone.objects.create(
            commitment=commitment, title="Half", due_on=datetime.date(2026, 6, 1)
        )
        CommitmentFactory(title="Retired one", slug="retired", retired_on=datetime.date(2026, 1, 1))


def export(client, params) -> bytes:
    with time_machine.travel(TODAY, tick=False):
        response = client.get(LIST_URL, params)
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def both_ways(client, monkeypatch, params) -> tuple[bytes, bytes]:
    """The export as written now, then as the table's own cells gave it."""
    fast = export(client, params)
    monkeypatch.setattr(export_rows, "handles", lambda table, names: False)
    slow = export(client, params)
    monkeypatch.undo()
    return fast, slow


QUERIES = [
    {},
    {"sort": "-title"},
    {"sort": "owner"},
    {"sort": "status"},
    {"sort": "-due"},
    {"sort": "freshness"},
    {"sort": "paragraphs", "retired": "on"},
    {"status": "not_started"},
    {"q": "форум"},
]


@pytest.mark.parametrize("reader", ["secretariat", "liaison", "anonymous"])
@pytest.mark.parametrize("params", QUERIES, ids=lambda p: "&".join(map(str, p.items())) or "all")
def test_the_csv_is_byte_for_byte_the_tables_own(
    client, request, settings, monkeypatch, varied_record, reader, params
):
    settings.TRACKER_PUBLIC_SITE = True
    if reader != "anonymous":
        client.force_login(request.getfixturevalue(reader))

    fast, slow = both_ways(client, monkeypatch, {"_export": "csv", **params})

    assert fast == slow
    assert fast.count(b"\r\n") > 1 or "status" in params  # rows, not a header alone


def test_the_csv_neutralises_formulas_and_keeps_what_readers_may_see(
    client, liaison, varied_record
):
    client.force_login(liaison)

    rows = list(csv.DictReader(io.StringIO(export(client, {"_export": "csv"}).decode())))

    titles = {row["Title"] for row in rows}
    assert {"'=1+1", "'+", "'-", "'@", "Ашхабадский форум ½", "'\tTabbed"} <= titles
    by_title = {row["Title"]: row for row in rows}
    actors = by_title["'=1+1"]["Lead actors"]  # in the database's order of names
    assert actors.startswith("'")  # whichever name starts it, "-Minus" or "=SUM(1)"
    assert set(actors[1:].split("; ")) == {"-Minus", "=SUM(1)", "Zambia", "Österreich"}
    assert by_title["'=1+1"]["Paragraphs"] == "3, 5, 7"
    assert by_title["'=1+1"]["Document"] == "A/RES/75/1; Ç-2"
    assert by_title["'@"]["Status"] == "Not started"  # its only update is internal
    assert by_title["'=1+1"]["Owner"] == "Aýna Berdiýewa"
    assert by_title["'+"]["Owner"] not in ("", "login-only@example.org")  # a role's word
    assert by_title["'-"]["Owner"] == ""
    assert "Update date" not in rows[0]


@pytest.mark.parametrize("reader", ["secretariat", "liaison"])
def test_the_xlsx_has_the_tables_own_cells_and_links(
    client, request, monkeypatch, varied_record, reader
):
    client.force_login(request.getfixturevalue(reader))

    fast, slow = both_ways(client, monkeypatch, {"_export": "xlsx", "sort": "-due"})

    assert sheet_cells(fast) == sheet_cells(slow)
    cells = sheet_cells(fast)
    assert cells[1][0] == ("'+", "http://testserver/commitments/c-1/")
    assert ("https://example.org/x", "http://testserver/commitments/c-6/") in [
        row[0] for row in cells
    ]


@pytest.mark.parametrize("reader", ["secretariat", "liaison"])
@pytest.mark.parametrize("params", [{}, {"sort": "-due"}, {"sort": "owner", "retired": "on"}])
def test_the_xlsx_cells_are_the_csv_rows(client, request, varied_record, reader, params):
    """Cell for cell the CSV's text: the same rows in the same order, formulas neutralised the
    same way, a date the day the CSV writes, a number its digits, a blank cell an empty field."""
    client.force_login(request.getfixturevalue(reader))

    csv_rows = list(csv.reader(io.StringIO(export(client, {"_export": "csv", **params}).decode())))
    sheet = load_workbook(io.BytesIO(export(client, {"_export": "xlsx", **params}))).active

    def text(value) -> str:
        if isinstance(value, datetime.datetime):
            return value.date().isoformat()  # openpyxl reads a day as midnight
        return "" if value is None else str(value)

    assert [[text(cell.value) for cell in row] for row in sheet.iter_rows()] == csv_rows
    assert any(row[0].startswith("'=") for row in csv_rows)
    assert any(row[csv_rows[0].index("Target date")] for row in csv_rows[1:])


def sheet_cells(body: bytes) -> list[list[tuple]]:
    sheet = load_workbook(io.BytesIO(body)).active
    return [
        [(cell.value, cell.hyperlink.target if cell.hyperlink else None) for cell in row]
        for row in sheet.iter_rows()
    ]


def test_an_excel_sheet_links_no_more_cells_than_excel_allows(
    secretariat_client, monkeypatch, varied_record
):
    """Excel refuses a sheet of more than 65,530 hyperlinks: the cells after them are text."""
    monkeypatch.setattr(exports, "MAX_LINKS", 3)

    cells = sheet_cells(export(secretariat_client, {"_export": "xlsx", "sort": "title"}))

    links = [target for row in cells[1:] for _, target in row if target]
    assert len(links) == 3
    assert all(title for (title, _), *_ in cells[1:])  # every title is there, linked or not
