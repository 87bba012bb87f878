"""Bulk import in the export's format (issue 15): the round trip, the dry run, applying it,
a second import of the same file, a version conflict, and every refusal."""

import csv
import datetime
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook

from commitments import services
from commitments.bulk_import import FileRefused
from commitments.models import Actor, BulkImport, BulkImportRow, Commitment, StatusUpdate
from commitments.statuses import Status
from commitments.tasks import apply_bulk_imports
from core import caching
from tests.factories import (
    ActorFactory,
    CommitmentFactory,
    DocumentFactory,
    ParagraphFactory,
    ThemeFactory,
    post_status_update,
)

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 5, 4)
LIST_URL = reverse("commitments:commitment_list")
Action = BulkImportRow.Action


@pytest.fixture
def record(secretariat):
    """A document with five paragraphs and three commitments on it, with actors, themes,
    owners, target dates and history; one has milestones."""
    document = DocumentFactory(short_name="ashgabat-2020")
    paragraphs = [ParagraphFactory(document=document, number=n) for n in range(1, 6)]
    turkmenistan, ocha = ActorFactory(name="Turkmenistan"), ActorFactory(name="UN OCHA")
    peace = ThemeFactory(name="Peace")
    forum = CommitmentFactory(
        title="Forum every five years",
        paragraphs=paragraphs[:2],
        lead_actors=[turkmenistan],
        owner=secretariat,
        target_date=datetime.date(2025, 12, 12),
    )
    forum.supporting_actors.set([ocha])
    forum.themes.set([peace])
    post_status_update(forum, secretariat, status=Status.IN_PROGRESS, progress=40)
    office = CommitmentFactory(
        title='=HYPERLINK("https://evil.example")', paragraphs=[paragraphs[2]]
    )
    CommitmentFactory(title="Day of neutrality", paragraphs=[paragraphs[3]], owner=None)
    return {"document": document, "forum": forum, "office": office, "peace": peace}


def export_rows(client) -> list[dict]:
    body = b"".join(client.get(LIST_URL, {"_export": "csv"}).streaming_content)
    return list(csv.DictReader(io.StringIO(body.decode("utf-8"))))


def csv_bytes(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def dry_run(user, content: bytes, name: str = "commitments.csv") -> BulkImport:
    return services.bulk_import_create(author=user, name=name, content=content, today=TODAY)


def apply(bulk_import: BulkImport, user) -> BulkImport:
    services.bulk_import_queue(bulk_import=bulk_import, user=user)
    assert apply_bulk_imports() == 1  # the Celery task's body, as a worker runs it
    bulk_import.refresh_from_db()
    return bulk_import


def actions(bulk_import: BulkImport) -> dict[int, str]:
    return dict(bulk_import.rows.values_list("number", "action"))


def by_title(rows: list[dict], title: str) -> dict:
    return next(row for row in rows if row["Title"] == title)


def test_an_unchanged_export_imports_as_unchanged(secretariat_client, secretariat, record):
    rows = export_rows(secretariat_client)

    bulk_import = dry_run(secretariat, csv_bytes(rows))

    assert set(actions(bulk_import).values()) == {Action.UNCHANGED}
    assert bulk_import.rows_total == 3
    assert bulk_import.ignored_columns == ["Due", "Last activity", "Freshness"]


def test_an_unchanged_excel_export_imports_as_unchanged(secretariat_client, secretariat, record):
    response = secretariat_client.get(LIST_URL, {"_export": "xlsx"})

    bulk_import = dry_run(secretariat, b"".join(response), name="commitments.xlsx")

    assert set(actions(bulk_import).values()) == {Action.UNCHANGED}


def test_the_dry_run_shows_each_change_and_writes_nothing(secretariat_client, secretariat, record):
    rows = export_rows(secretariat_client)
    forum = by_title(rows, "Forum every five years")
    forum.update({"Title": "Forum every five years, in Ashgabat", "Paragraphs": "1, 2, 5"})
    forum.update({"Status": "Achieved", "Progress": "100", "Update narrative": "Held in 2025."})
    before = Commitment.objects.get(pk=record["forum"].pk)

    bulk_import = dry_run(secretariat, csv_bytes(rows))

    row = bulk_import.rows.get(commitment=record["forum"])
    assert row.action == Action.CHANGE
    assert row.changes == [
        ["Title", "Forum every five years", "Forum every five years, in Ashgabat"],
        ["Paragraphs", "1, 2", "1, 2, 5"],
        ["Status", "In progress", "Achieved"],
        ["Progress", "40", "100"],
    ]
    assert row.expected_version == before.version
    after = Commitment.objects.get(pk=record["forum"].pk)
    assert (after.title, after.version, after.status) == (
        before.title,
        before.version,
        before.status,
    )


def test_applying_writes_through_the_services_and_a_second_import_changes_nothing(
    secretariat_client, secretariat, record
):
    rows = export_rows(secretariat_client)
    forum = by_title(rows, "Forum every five years")
    forum.update({"Status": "Achieved", "Progress": "100", "Update narrative": "Held in 2025.",
                  "Update date": "2025-12-12", "Title": "Forum held every five years"})  # fmt: skip
    new = dict.fromkeys(rows[0], "") | {
        "Title": "Research and training centre",
        "Document": "ashgabat-2020",
        "Paragraphs": "5",
        "Lead actors": "Turkmenistan",
        "Themes": "peace",
        "Status": "In progress",
        "Progress": "10",
        "Update narrative": "Premises chosen.",
        "Target date": "2027-01-01",
    }
    content = csv_bytes([*rows, new])
    version = record["forum"].version

    applied = apply(dry_run(secretariat, content), secretariat)

    assert applied.state == BulkImport.State.DONE and applied.rows_done == 4
    assert dict(applied.rows.values_list("number", "result")) == {
        2: "change", 3: "unchanged", 4: "unchanged", 5: "create"
    }  # fmt: skip
    forum = Commitment.objects.get(pk=record["forum"].pk)
    assert (forum.title, forum.status, forum.progress) == (
        "Forum held every five years",
        "achieved",
        100,
    )
    assert forum.version == version + 2  # the edit, then the update: each claims a version
    assert forum.updates.latest().narrative == "Held in 2025."
    assert forum.updates.latest().happened_on == datetime.date(2025, 12, 12)
    centre = Commitment.objects.get(title="Research and training centre")
    assert [t.name for t in centre.themes.all()] == ["Peace"]
    assert (centre.status, centre.progress, centre.target_date) == (
        "in_progress",
        10,
        datetime.date(2027, 1, 1),
    )
    assert centre.updates.get().author == secretariat
    counts = (Commitment.objects.count(), StatusUpdate.objects.count())

    again = dry_run(secretariat, content)

    assert set(again.rows.values_list("action", flat=True)) == {Action.UNCHANGED}
    with pytest.raises(services.BulkImportNothingToApply):
        services.bulk_import_queue(bulk_import=again, user=secretariat)
    assert (Commitment.objects.count(), StatusUpdate.objects.count()) == counts


def test_a_row_whose_commitment_changed_since_the_dry_run_is_refused_at_apply(
    secretariat_client, secretariat, record
):
    rows = export_rows(secretariat_client)
    by_title(rows, "Forum every five years")["Title"] = "Forum, renamed by the import"
    by_title(rows, "Day of neutrality")["Title"] = "Neutrality Day"
    bulk_import = dry_run(secretariat, csv_bytes(rows))
    forum = record["forum"]
    services.commitment_update(
        commitment=forum, expected_version=forum.version, values={"title": "Renamed meanwhile"}
    )

    applied = apply(bulk_import, secretariat)

    row = applied.rows.get(commitment=forum)
    assert row.result == Action.REFUSED
    assert "changed since the dry run" in row.result_reason
    assert Commitment.objects.get(pk=forum.pk).title == "Renamed meanwhile"
    assert Commitment.objects.filter(title="Neutrality Day").exists()  # the other row went in


def test_a_quoted_formula_in_the_export_reads_back_as_its_text(
    secretariat_client, secretariat, record
):
    rows = export_rows(secretariat_client)
    assert by_title(rows, '\'=HYPERLINK("https://evil.example")')

    bulk_import = dry_run(secretariat, csv_bytes(rows))

    assert bulk_import.rows.get(commitment=record["office"]).action == Action.UNCHANGED


@pytest.mark.parametrize(
    "title", [" =1+1", "\t=2+2", "\n+3", "\u00a0=4+4", "\u200b@SUM(A1)", " \t -5+5"]
)
def test_a_formula_behind_spaces_or_invisible_characters_is_refused_and_never_stored(
    secretariat_client, secretariat, record, title
):
    rows = export_rows(secretariat_client)
    rows.append({**by_title(rows, "Day of neutrality"), "ID": "", "Title": title + " Forum"})
    xlsx_rows = [list(rows[0]), *(list(row.values()) for row in rows)]

    for content, name in ((csv_bytes(rows), "c.csv"), (xlsx_with(xlsx_rows), "c.xlsx")):
        bulk_import = dry_run(secretariat, content, name=name)

        refused = bulk_import.rows.get(action=Action.REFUSED)
        assert refused.number == len(rows) + 1
        assert "is a formula" in refused.reason
        assert refused.title == title.strip() + " Forum"
        with pytest.raises(services.BulkImportNothingToApply):  # the other rows are unchanged
            services.bulk_import_queue(bulk_import=bulk_import, user=secretariat)
    assert not Commitment.objects.filter(title__endswith=" Forum").exists()


def test_a_quoted_formula_behind_a_space_reads_back_as_its_text(secretariat, record):
    header = ["ID", "Title", "Document", "Paragraphs", "Status", "Progress"]
    content = xlsx_with([header, ["", " '=1+1 Forum", "ashgabat-2020", 1, "Not started", 0]])

    bulk_import = dry_run(secretariat, content, name="c.xlsx")

    assert bulk_import.rows.get().action == Action.CREATE
    assert bulk_import.rows.get().title == "=1+1 Forum"


def refused_reason(secretariat, rows) -> str:
    bulk_import = dry_run(secretariat, csv_bytes(rows))
    row = bulk_import.rows.get(action=Action.REFUSED)
    return row.reason


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"Status": "Finished"}, "“Finished” is not a status"),
        ({"Status": "Achieved", "Update narrative": "Done.", "Update date": "2026-05-05"},
         "in the future"),
        ({"Status": "Achieved", "Update narrative": "Done.", "Update date": "2020-12-11"},
         "before 2020-12-12, when the document was adopted"),
        ({"Status": "Achieved"}, "write what happened"),
        ({"Paragraphs": "1, 17"}, "has no paragraph 17"),
        ({"Document": "rio-1992"}, "No document is called “rio-1992”"),
        ({"Lead actors": "Turkmenistan; Atlantis"}, "Unknown actors: Atlantis"),
        ({"Themes": "Peace; Space"}, "Unknown themes: Space"),
        ({"Title": '=HYPERLINK("https://evil.example")'}, "is a formula"),
        ({"Progress": "+5"}, "is a formula"),
        ({"Progress": "140"}, "not a whole number from 0 to 100"),
        ({"ID": "no-such-commitment"}, "No commitment has the ID"),
        ({"Target date": "12/12/2030"}, "not a day written as YYYY-MM-DD"),
        ({"Owner": "nobody-here"}, "No user is called"),
    ],
)  # fmt: skip
def test_a_bad_row_is_refused_with_its_reason_and_the_others_still_plan(
    secretariat_client, secretariat, record, change, expected
):
    rows = export_rows(secretariat_client)
    by_title(rows, "Forum every five years").update(change)

    bulk_import = dry_run(secretariat, csv_bytes(rows))

    refused = bulk_import.rows.get(action=Action.REFUSED)
    assert expected in refused.reason
    assert refused.number == 2 + [r["Title"] for r in rows].index(
        change.get("Title", "Forum every five years")
    )
    assert bulk_import.rows.filter(action=Action.UNCHANGED).count() == 2
    with pytest.raises(services.BulkImportNothingToApply):  # the other rows are unchanged
        services.bulk_import_queue(bulk_import=bulk_import, user=secretariat)
    assert Commitment.objects.get(pk=record["forum"].pk).version == record["forum"].version


def header_and_row(header: list[str]) -> bytes:
    return (",".join(header) + "\n" + ",".join("x" for _ in header) + "\n").encode()


def xlsx_with(rows: list[list]) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("c.csv", b"", "The file is empty"),
        ("c.csv", b"\n\n", "The file is empty"),
        ("c.csv", "Title;Statut\n".encode("cp1252") + b"\xe9t\xe9\n", "not UTF-8 text (byte 14)"),
        ("c.csv", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "not a CSV or Excel"),
        ("c.xlsx", b"Title,Status\n", "not a CSV or Excel"),
        ("c.xlsx", b"PK\x03\x04 not really a zip", "not a CSV or Excel"),
        ("c.csv", header_and_row(["ID", "Title", "Colour"]),
         "unknown columns: Colour; missing columns: Document, Paragraphs, Status, Progress"),
        ("c.csv", header_and_row(["ID", "Title", "Title", "Document", "Paragraphs", "Status",
                                  "Progress"]), "repeated columns: Title"),
    ],
)  # fmt: skip
def test_a_file_that_cannot_be_imported_is_refused_and_nothing_is_stored(
    secretariat, name, content, expected
):
    with pytest.raises(FileRefused) as refused:
        dry_run(secretariat, content, name=name)

    assert expected in str(refused.value)
    assert not BulkImport.objects.exists()


def test_a_real_formula_in_an_excel_file_is_refused(secretariat, record):
    header = ["ID", "Title", "Document", "Paragraphs", "Status", "Progress"]
    content = xlsx_with([header, ["", "=1+1", "ashgabat-2020", 1, "In progress", 10]])

    bulk_import = dry_run(secretariat, content, name="c.xlsx")

    assert "is a formula" in bulk_import.rows.get().reason


@pytest.mark.parametrize(("limit", "written"), [(2, "2"), (1000, "1,000")])
def test_more_rows_than_the_limit_are_refused(secretariat, settings, limit, written):
    settings.BULK_IMPORT_MAX_ROWS = limit
    header = ["ID", "Title", "Document", "Paragraphs", "Status", "Progress"]
    content = "\n".join([",".join(header)] + ["x,y,z,1,Achieved,100"] * (limit + 1)).encode()

    with pytest.raises(FileRefused) as refused:
        dry_run(secretariat, content)

    assert f"has more than {written} rows; an import takes at most {written}." in str(refused.value)


def test_a_russian_export_reads_back(secretariat, record, client):
    secretariat.language = "ru"
    secretariat.save()
    client.force_login(secretariat)
    body = b"".join(client.get(LIST_URL, {"_export": "csv"}).streaming_content).decode()
    assert body.startswith("Название,") and "Описание обновления" in body and "В работе" in body

    bulk_import = dry_run(secretariat, body.encode())

    assert set(actions(bulk_import).values()) == {Action.UNCHANGED}


# --- The pages ------------------------------------------------------------------------------------


def test_the_pages_upload_preview_apply_and_report(secretariat_client, secretariat, record):
    rows = export_rows(secretariat_client)
    by_title(rows, "Day of neutrality")["Title"] = "Neutrality Day"
    by_title(rows, "Forum every five years")["Status"] = "Unknown"
    upload = io.BytesIO(csv_bytes(rows))
    upload.name = "edited.csv"

    response = secretariat_client.post(reverse("commitments:bulk_import"), {"file": upload})

    bulk_import = BulkImport.objects.get()
    assert response.status_code == 302 and response.url == bulk_import.get_absolute_url()
    page = secretariat_client.get(response.url).content.decode()
    assert "<del>Day of neutrality</del> → <ins>Neutrality Day</ins>" in page
    assert "“Unknown” is not a status" in page
    assert f'action="/commitments/import/{bulk_import.pk}/apply/"' in page
    assert not Commitment.objects.filter(title="Neutrality Day").exists()

    secretariat_client.post(reverse("commitments:bulk_import_apply", args=[bulk_import.pk]))
    status = secretariat_client.get(
        reverse("commitments:bulk_import_status", args=[bulk_import.pk])
    )
    assert status.json() == {"state": "queued", "done": 0, "total": 3, "finished": False}
    running = secretariat_client.get(bulk_import.get_absolute_url()).content.decode()
    assert '<progress id="import-progress" max="3" value="0">' in running
    assert "js/bulk-import-progress.js" in running and "Refresh" in running
    apply_bulk_imports()

    status = secretariat_client.get(
        reverse("commitments:bulk_import_status", args=[bulk_import.pk])
    )
    assert status.json()["finished"] is True
    assert Commitment.objects.filter(title="Neutrality Day").exists()
    report = secretariat_client.get(
        reverse("commitments:bulk_import_report", args=[bulk_import.pk])
    )
    lines = list(csv.reader(io.StringIO(b"".join(report.streaming_content).decode())))
    assert lines[0] == [
        "Row", "ID", "Title", "Planned", "Result", "Changes", "Status update", "Reason"
    ]  # fmt: skip
    assert {line[4] for line in lines[1:]} == {"Changed", "Unchanged", "Refused"}
    # Applying again queues nothing: the import was applied.
    secretariat_client.post(reverse("commitments:bulk_import_apply", args=[bulk_import.pk]))
    assert BulkImport.objects.get().state == BulkImport.State.DONE


def report_lines(client, bulk_import: BulkImport) -> list[list[str]]:
    report = client.get(reverse("commitments:bulk_import_report", args=[bulk_import.pk]))
    return list(csv.reader(io.StringIO(b"".join(report.streaming_content).decode())))


def test_the_dry_run_and_the_report_say_who_will_see_each_status_update(
    secretariat_client, secretariat, record
):
    rows = export_rows(secretariat_client)
    by_title(rows, "Forum every five years").update(
        {"Status": "Stalled", "Update narrative": "Host withdrew.", "Update visibility": "internal"}
    )
    new = dict.fromkeys(rows[0], "") | {
        "Title": "Research centre", "Document": "ashgabat-2020", "Paragraphs": "5",
        "Status": "In progress", "Progress": "10", "Update narrative": "Premises chosen.",
    }  # fmt: skip
    bulk_import = dry_run(secretariat, csv_bytes([*rows, new]))

    page = secretariat_client.get(bulk_import.get_absolute_url()).content.decode()

    assert "Adds a status update (Internal to the secretariat): 2026-05-04, Host withdrew." in page
    assert "Adds a status update (Visible to liaisons): 2026-05-04, Premises chosen." in page
    lines = {line[2]: line for line in report_lines(secretariat_client, bulk_import)}
    assert lines["Forum every five years"][6] == (
        "2026-05-04, Internal to the secretariat: Host withdrew."
    )
    assert lines["Research centre"][6] == "2026-05-04, Visible to liaisons: Premises chosen."
    assert lines["Day of neutrality"][6] == ""


def test_a_queued_import_says_it_waits_for_a_worker_and_nothing_else(
    secretariat_client, secretariat, record
):
    rows = export_rows(secretariat_client)
    by_title(rows, "Day of neutrality")["Title"] = "Neutrality Day"
    bulk_import = dry_run(secretariat, csv_bytes(rows))
    services.bulk_import_queue(bulk_import=bulk_import, user=secretariat)

    queued = secretariat_client.get(bulk_import.get_absolute_url()).content.decode()
    BulkImport.objects.filter(pk=bulk_import.pk).update(state=BulkImport.State.APPLYING)
    applying = secretariat_client.get(bulk_import.get_absolute_url()).content.decode()

    assert '<p class="bulk-import-waiting">Waiting for a worker…</p>' in queued
    assert '<div class="bulk-import-applying" hidden>' in queued
    assert "Waiting to be applied" not in queued
    assert '<p class="bulk-import-waiting" hidden>' in applying
    assert '<div class="bulk-import-applying">' in applying
    assert "Being applied" not in applying


def test_a_dry_run_with_nothing_to_write_offers_no_apply_and_refuses_one(
    secretariat_client, secretariat, record
):
    rows = export_rows(secretariat_client)
    by_title(rows, "Forum every five years")["Status"] = "Unknown"
    bulk_import = dry_run(secretariat, csv_bytes(rows))

    page = secretariat_client.get(bulk_import.get_absolute_url()).content.decode()
    response = secretariat_client.post(
        reverse("commitments:bulk_import_apply", args=[bulk_import.pk]), follow=True
    )

    assert "Nothing to apply: every row was refused or is unchanged." in page
    assert "Apply this import" not in page
    assert "Nothing to apply" in response.content.decode()
    bulk_import.refresh_from_db()
    assert (bulk_import.state, bulk_import.applied_by, bulk_import.queued_at) == (
        BulkImport.State.PREVIEWED, None, None
    )  # fmt: skip
    assert apply_bulk_imports() == 0


def test_a_refused_formula_row_shows_its_title_as_read_as_text(
    secretariat_client, secretariat, record
):
    rows = export_rows(secretariat_client)
    forum = by_title(rows, "Forum every five years")
    forum.update({"Title": '=HYPERLINK("https://evil.example","Forum")', "Progress": "+5"})
    bulk_import = dry_run(secretariat, csv_bytes(rows))

    row = bulk_import.rows.get(action=Action.REFUSED)
    page = secretariat_client.get(bulk_import.get_absolute_url()).content.decode()

    assert row.title == '=HYPERLINK("https://evil.example","Forum")'
    assert '<td data-label="Commitment">=HYPERLINK(&quot;https://evil.example&quot;' in page
    lines = report_lines(secretariat_client, bulk_import)
    [line] = [line for line in lines if line[3] == "Refused"]
    assert line[2] == '\'=HYPERLINK("https://evil.example","Forum")'


def test_a_refused_formula_row_without_a_title_shows_its_id(secretariat, record):
    header = ["ID", "Title", "Document", "Paragraphs", "Status", "Progress"]
    content = csv_bytes_rows([header, [record["forum"].slug, "", "ashgabat-2020", "1", "=1", "5"]])

    bulk_import = dry_run(secretariat, content)

    assert bulk_import.rows.get().title == record["forum"].slug


def csv_bytes_rows(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


def test_the_result_shows_each_title_as_it_is_now_and_strikes_the_old_one(
    secretariat_client, secretariat, record
):
    rows = export_rows(secretariat_client)
    by_title(rows, "Day of neutrality")["Title"] = "Neutrality Day"
    by_title(rows, "Forum every five years")["Lead actors"] = "UN OCHA"
    applied = apply(dry_run(secretariat, csv_bytes(rows)), secretariat)

    page = secretariat_client.get(applied.get_absolute_url()).content.decode()

    day = Commitment.objects.get(title="Neutrality Day")
    forum = record["forum"]
    day_link = f'<a href="{day.get_absolute_url()}">Neutrality Day</a>'
    assert f"{day_link} <del>Day of neutrality</del>" in page
    assert f'<a href="{forum.get_absolute_url()}">Forum every five years</a></td>' in page


def test_the_upload_page_explains_the_format_the_dry_run_and_the_limits(
    secretariat_client, settings
):
    settings.BULK_IMPORT_MAX_ROWS = 50000
    settings.BULK_IMPORT_MAX_UPLOAD_BYTES = 20 * 1024 * 1024

    page = secretariat_client.get(reverse("commitments:bulk_import")).content.decode()

    assert "How the import reads a file" in page
    assert "a row with a commitment's ID updates that commitment" in page
    assert "Dry run: uploading writes nothing." in page
    assert "at most 50,000 rows and 20.0\xa0MB a file" in page


def test_an_upload_over_the_size_limit_is_refused(secretariat_client, settings):
    settings.BULK_IMPORT_MAX_UPLOAD_BYTES = 100
    upload = io.BytesIO(b"ID,Title\n" + b"x," * 100)
    upload.name = "big.csv"

    response = secretariat_client.post(reverse("commitments:bulk_import"), {"file": upload})

    assert response.status_code == 400
    assert "the limit is 100" in response.content.decode()
    assert not BulkImport.objects.exists()


def test_a_refused_file_is_shown_on_the_form(secretariat_client):
    upload = io.BytesIO(b"%PDF-1.4 binary")
    upload.name = "commitments.csv"

    response = secretariat_client.post(reverse("commitments:bulk_import"), {"file": upload})

    assert response.status_code == 400
    assert "not a CSV or Excel" in response.content.decode()


def test_the_table_links_the_import_for_the_secretariat_only(client, secretariat, liaison):
    link = f'href="{reverse("commitments:bulk_import")}"'
    client.force_login(secretariat)
    assert link in client.get(LIST_URL).content.decode()
    client.force_login(liaison)
    assert link not in client.get(LIST_URL).content.decode()


def test_a_liaison_cannot_open_or_apply_an_import(liaison_client, secretariat):
    bulk_import = BulkImport.objects.create(created_by=secretariat, file_name="c.csv")

    for url in (
        reverse("commitments:bulk_import"),
        bulk_import.get_absolute_url(),
        reverse("commitments:bulk_import_report", args=[bulk_import.pk]),
    ):
        assert liaison_client.get(url).status_code == 403
    apply_url = reverse("commitments:bulk_import_apply", args=[bulk_import.pk])
    assert liaison_client.post(apply_url).status_code == 403
    assert BulkImport.objects.get().state == BulkImport.State.PREVIEWED


def test_the_import_pages_read_a_fixed_number_of_queries(
    secretariat_client, secretariat, record, django_assert_max_num_queries
):
    rows = export_rows(secretariat_client)
    for row in rows:
        row["Title"] += " (renamed)"
    extra = [dict(rows[0], ID="", Title=f"New {n}") for n in range(30)]
    bulk_import = dry_run(secretariat, csv_bytes([*rows, *extra]))
    assert bulk_import.rows.count() == 33

    with django_assert_max_num_queries(12):
        secretariat_client.get(bulk_import.get_absolute_url())
    with django_assert_max_num_queries(12):
        secretariat_client.get(reverse("commitments:bulk_import"))


# --- The cost of applying, row by row -----------------------------------------------------------

# Queries to apply one more row of each kind (SQLite, as the tests run; PostgreSQL adds one,
# SET LOCAL synchronous_commit, to the rows that write). What a row names is read once for its
# chunk of rows (services._BulkImportKnown), and the pages' cache is told once a progress step,
# so these stay what the services themselves write: docs/bulk-import.md, "Limits and speed".
# A status update rewrites its commitment's achieved spans: three of its queries
# (commitments.achieved_spans). A created row reads neither its links nor its slug twice
# (services._links_added, commitment_create): 27 queries before; nor asks the database to check
# its constraints (23 before). A status update's change and its followers' notices are one
# transaction with one read of the followers (tracker.notifications.change_record): 26 before.
# The audit trail does not read a new commitment's or update's one-to-one rows (settings'
# AUDITLOG_INCLUDE_TRACKING_MODELS): 20 and 24 before.
QUERIES_PER_ROW = {"created": 19, "changed": 19, "status update": 22, "unchanged": 1}
SPEED_HEADER = ["ID", "Title", "Document", "Paragraphs", "Lead actors", "Themes", "Status",
                "Progress", "Update narrative"]  # fmt: skip


def speed_rows(kind: str, count: int, start: int) -> list[list[str]]:
    """`count` rows of one kind, about commitments c-<start>... (made by the test)."""
    rows = []
    for n in range(start, start + count):
        slug, title = f"c-{n}", f"Commitment {n}"
        row = [slug, title, "ashgabat-2020", str(n), "Turkmenistan", "Peace"]
        row += ["Not started", "0", ""]
        if kind == "created":
            row[:2] = ["", f"New commitment {n}"]
        elif kind == "changed":
            row[1] = f"{title}, renamed"
        elif kind == "status update":
            row[6:] = ["In progress", "10", "Work began."]
        rows.append(row)
    return rows


def queued_as_it_is(bulk_import: BulkImport, user) -> None:
    """Queued without bulk_import_queue's check that some row writes: what a run does with
    rows that write nothing is measured too."""
    BulkImport.objects.filter(pk=bulk_import.pk).update(
        state=BulkImport.State.QUEUED, applied_by=user, queued_at=timezone.now()
    )


def queries_to_apply(secretariat, rows, capture_on_commit) -> int:
    out = io.StringIO()
    csv.writer(out).writerows([SPEED_HEADER, *rows])
    bulk_import = dry_run(secretariat, out.getvalue().encode())
    queued_as_it_is(bulk_import, secretariat)  # unchanged rows alone are not offered to apply
    [claimed] = services.bulk_imports_claim(now=timezone.now())
    # The work after each row's commit (notifying followers, the cache) counts too.
    with CaptureQueriesContext(connection) as queries, capture_on_commit(execute=True):
        services.bulk_import_apply(bulk_import_id=claimed)
    assert set(bulk_import.rows.values_list("result", flat=True)) != {Action.REFUSED}
    return len(queries)


@pytest.mark.parametrize("kind", QUERIES_PER_ROW)
def test_each_more_row_of_a_kind_costs_a_fixed_number_of_queries(
    secretariat, kind, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(services, "PROGRESS_EVERY_SECONDS", 3600)  # progress is by time, not row
    document = DocumentFactory(short_name="ashgabat-2020")
    ActorFactory(name="Turkmenistan")
    theme = ThemeFactory(name="Peace")
    for n in range(1, 9):
        paragraph = ParagraphFactory(document=document, number=n)
        commitment = CommitmentFactory(
            slug=f"c-{n}", title=f"Commitment {n}", paragraphs=[paragraph],
            lead_actors=[Actor.objects.get(name="Turkmenistan")],
        )  # fmt: skip
        commitment.themes.set([theme])

    def applied(count: int, start: int) -> int:
        rows = speed_rows(kind, count, start=start)
        return queries_to_apply(secretariat, rows, django_capture_on_commit_callbacks)

    applied(1, start=1)  # the first row of a run reads what the process keeps (content types)
    one, four = applied(1, start=2), applied(4, start=3)

    # PostgreSQL: each row that writes sets synchronous_commit for its transaction.
    writes = connection.vendor == "postgresql" and kind != "unchanged"
    assert (four - one) / 3 == QUERIES_PER_ROW[kind] + writes


def test_the_cached_table_shows_the_import_once_it_is_applied(
    secretariat_client, secretariat, record
):
    rows = export_rows(secretariat_client)
    by_title(rows, "Day of neutrality")["Title"] = "International Day of Neutrality"
    assert "Day of neutrality" in secretariat_client.get(LIST_URL).content.decode()  # cached

    apply(dry_run(secretariat, csv_bytes(rows)), secretariat)

    page = secretariat_client.get(LIST_URL).content.decode()
    assert "International Day of Neutrality" in page
    assert "Day of neutrality" not in page


def test_a_taken_over_run_tells_the_cache_even_with_no_row_left_to_write(
    secretariat_client, secretariat, record
):
    bulk_import = dry_run(secretariat, csv_bytes(export_rows(secretariat_client)))
    bulk_import.rows.update(result=Action.UNCHANGED)  # a lost worker wrote every row
    queued_as_it_is(bulk_import, secretariat)
    before = caching.generation(caching.RECORD)

    assert apply_bulk_imports() == 1
    bulk_import.refresh_from_db()
    assert bulk_import.state == BulkImport.State.DONE

    assert caching.generation(caching.RECORD) != before


@pytest.mark.django_db(transaction=True)  # the foreign key is checked when the row commits
def test_an_actor_deleted_after_its_chunk_was_read_refuses_that_row_only(secretariat, monkeypatch):
    document = DocumentFactory(short_name="ashgabat-2020")
    ParagraphFactory(document=document, number=1)
    ActorFactory(name="Turkmenistan")
    gone = ActorFactory(name="UN OCHA")
    out = io.StringIO()
    csv.writer(out).writerows([
        SPEED_HEADER,
        ["", "Research centre", "ashgabat-2020", "1", "UN OCHA", "", "Not started", "0", ""],
        ["", "Forum", "ashgabat-2020", "1", "Turkmenistan", "", "Not started", "0", ""],
    ])  # fmt: skip
    bulk_import = dry_run(secretariat, out.getvalue().encode())
    read = services._BulkImportKnown.__init__

    def read_then_delete(self, rows):
        read(self, rows)
        Actor.objects.filter(pk=gone.pk).delete()  # by someone else, before the rows are written

    monkeypatch.setattr(services._BulkImportKnown, "__init__", read_then_delete)
    apply(bulk_import, secretariat)

    results = dict(bulk_import.rows.values_list("title", "result"))
    assert results == {"Research centre": Action.REFUSED, "Forum": Action.CREATE}
    assert list(Commitment.objects.values_list("title", flat=True)) == ["Forum"]
    refused = bulk_import.rows.get(title="Research centre")
    assert "nothing of this row was written" in refused.result_reason


def test_applying_keeps_the_days_each_commitment_stood_achieved(
    secretariat_client, secretariat, record
):
    """The dashboard's achieved series reads AchievedSpan (commitments.achieved_spans): an
    imported status update keeps it like one posted on the page, per audience."""
    from commitments.models import AchievedSpan

    rows = export_rows(secretariat_client)
    by_title(rows, "Forum every five years").update(
        {"Status": "Achieved", "Progress": "100", "Update narrative": "Held in 2025.",
         "Update date": "2025-12-12", "Update visibility": "internal"}
    )  # fmt: skip

    apply(dry_run(secretariat, csv_bytes(rows)), secretariat)

    spans = AchievedSpan.objects.values_list("commitment_id", "audience", "started_on", "ended_on")
    assert list(spans) == [
        (record["forum"].pk, "secretariat", datetime.date(2025, 12, 12), None)
    ]  # an internal update: the public's series does not count it
