"""A restore treats its archive as input (tracker.backup, import_record, export_record).

Each test takes one real export of a small record, changes one thing in it as an attacker or a
damaged disk would, and restores it into an empty database: the restore is refused with a
message that says what is wrong, and nothing is written, rows or files.
"""

import datetime
import io
import json
import os
import subprocess
import sys
import zipfile

import pytest
from axes.models import AccessFailureLog
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import override_settings

from commitments import services
from commitments.models import EvidenceFile, EvidenceLink
from tests.factories import CommitmentFactory, ParagraphFactory, SecretariatFactory
from tracker import backup
from tracker.backup import BackupError, backup_export, backup_restore, record_row_counts

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n% the UNRCCA resolution, as filed\n"


@pytest.fixture(scope="module")
def archive(django_db_setup, django_db_blocker, tmp_path_factory) -> bytes:
    """One real export: a commitment with a status update, its link and its evidence file.
    Built once, in a transaction rolled back afterwards, so each test starts empty."""
    buffer = io.BytesIO()
    media = tmp_path_factory.mktemp("export-media")
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=media), transaction.atomic():
        commitment = CommitmentFactory(paragraphs=[ParagraphFactory(number=1)])
        services.status_update_create_with_evidence(
            commitment=commitment,
            author=SecretariatFactory(username="officer"),
            status="in_progress",
            progress=30,
            narrative="The resolution as adopted, filed for the record.",
            happened_on=datetime.date(2021, 2, 2),
            links=[("UN digital library", "https://digitallibrary.un.org/")],
            upload=SimpleUploadedFile("resolution.pdf", PDF, content_type="application/pdf"),
        )
        backup_export(destination=buffer)
        transaction.set_rollback(True)
    return buffer.getvalue()


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as opened:
        return {name: opened.read(name) for name in opened.namelist()}


def zipped(contents: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as written:
        for name, data in contents.items():
            written.writestr(name, data)
    return buffer.getvalue()


def changed(archive: bytes, *, rows=None, manifest=None, **replaced: bytes) -> bytes:
    """The archive with its rows or manifest changed by a function, or members replaced."""
    contents = members(archive)
    if rows is not None:
        contents["record.json"] = json.dumps(rows(json.loads(contents["record.json"]))).encode()
    if manifest is not None:
        manifest_now = json.loads(contents["manifest.json"])
        contents["manifest.json"] = json.dumps(manifest(manifest_now)).encode()
    return zipped(contents | replaced)


def row_of(rows: list[dict], model: str) -> dict:
    return next(row for row in rows if row["model"] == model)


def with_field(model: str, **fields):
    def change(rows):
        row_of(rows, model)["fields"].update(fields)
        return rows

    return change


def refused(data: bytes, media, message: str) -> str:
    """Restore `data`; it must be refused with `message`, leaving no row and no file."""
    with pytest.raises(BackupError, match=message) as refusal:
        backup_restore(source=io.BytesIO(data))
    assert not any(record_row_counts().values())
    assert not media.exists() or not any(path.is_file() for path in media.rglob("*"))
    assert "\n" not in str(refusal.value)
    return str(refusal.value)


def test_the_small_record_restores(archive, media):
    """The archive the other tests change is a good one."""
    backup_restore(source=io.BytesIO(archive))
    assert EvidenceLink.objects.get().url == "https://digitallibrary.un.org/"
    assert EvidenceFile.objects.get().file.read() == PDF


# --- Rows are checked as the forms check input ------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.domain)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "https://",
        "not a link",
    ],
)
def test_an_evidence_link_the_form_would_refuse_is_not_restored(archive, media, url):
    data = changed(archive, rows=with_field("commitments.evidencelink", url=url))
    message = refused(data, media, r"commitments.EvidenceLink \d+ is refused")
    assert "url: Enter a valid URL." in message


def test_an_older_archives_address_with_control_characters_restores_without_them(archive, media):
    """Before migration 0019 the admin's form stored such an address; the restore does what
    the migration did to the stored ones (the validator would refuse the whole archive)."""
    restored = {}

    def older(rows):
        user = row_of(rows, "tracker.user")
        user["fields"]["email"] = '"a\x0bb\x7f"@example.org'
        restored["pk"] = user["pk"]
        return rows

    backup_restore(source=io.BytesIO(changed(archive, rows=older)))

    assert get_user_model().objects.get(pk=restored["pk"]).email == '"ab"@example.org'


@pytest.mark.parametrize(
    ("model", "fields", "problem"),
    [
        ("commitments.statusupdate", {"progress": 250}, "progress: Ensure this value"),
        ("commitments.statusupdate", {"status": "finished"}, "status: Value 'finished'"),
        ("commitments.statusupdate", {"narrative": ""}, "narrative: This field cannot be blank"),
        ("commitments.statusupdate", {"visibility": "everyone"}, "visibility: Value"),
        ("commitments.commitment", {"slug": "not a slug!"}, "slug: Enter a valid"),
        ("commitments.document", {"source_url": "javascript:x"}, "source_url: Enter a valid URL"),
        ("commitments.evidencefile", {"size": -5}, "size: Ensure this value"),
        ("tracker.user", {"role": "emperor"}, "role: Value 'emperor'"),
        ("tracker.user", {"email": "not-an-address"}, "email: Enter a valid email"),
    ],
)
def test_a_value_the_forms_would_refuse_is_not_restored(archive, media, model, fields, problem):
    refused(changed(archive, rows=with_field(model, **fields)), media, problem)


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"happened_on": "yesterday"}, "yesterday"),
        ({"progress": [1, 2]}, "progress|1, 2"),
        ({"recorded_at": 5}, "cannot be read"),
        ({"author": ["nobody-by-that-name"]}, "does not exist"),
        ({"narrative": ["x"]}, "narrative is not text"),
        ({"narrative": {"text": "x"}}, "narrative is not text"),
        ({"narrative": 7}, "narrative is not text"),
        ({"narrative": "Met on\x00 12 December"}, "narrative holds a NUL character"),
        ({"happened_on": "2099-01-01"}, "a day still to come"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused(archive, media, fields, problem):
    data = changed(archive, rows=with_field("commitments.statusupdate", **fields))
    refused(data, media, problem)


@pytest.mark.parametrize("name", [["x"], 5, True, "Turkmen\x00istan"])
def test_a_title_that_is_no_text_is_refused(archive, media, name):
    refused(changed(archive, rows=with_field("commitments.commitment", title=name)), media, "title")


def test_a_version_of_400_digits_is_quoted_short(archive, media):
    huge = changed(archive, manifest=lambda manifest: {**manifest, "version": 10**400})
    message = refused(huge, media, "format version")
    assert len(message) < 400


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        ("commitments.statusupdate", {"commitment": 999999}),
        ("commitments.evidencelink", {"update": 999999}),
        ("commitments.commitment", {"paragraphs": [999999]}),
    ],
)
def test_a_link_to_a_row_the_archive_does_not_hold_is_refused(archive, media, model, fields):
    data = changed(archive, rows=with_field(model, **fields))
    refused(data, media, "refers to a row it does not hold.*999999")


def failed_log_in(**fields) -> dict:
    """A django-axes row as it records a request: empty headers stay empty, no address is null."""
    recorded = {
        "user_agent": "",
        "ip_address": None,
        "username": None,
        "http_accept": "",
        "path_info": "/login/",
        "attempt_time": "2026-12-01T00:00:00Z",
        "locked_out": False,
    }
    return {"model": "axes.accessfailurelog", "pk": 1, "fields": recorded | fields}


def test_a_log_row_keeps_the_empty_values_a_request_gave_it(archive, media):
    backup_restore(source=io.BytesIO(changed(archive, rows=lambda r: r + [failed_log_in()])))
    assert AccessFailureLog.objects.get().user_agent == ""


def test_a_log_row_with_a_value_that_is_no_address_is_refused(archive, media):
    data = changed(archive, rows=lambda r: r + [failed_log_in(ip_address="<script>")])
    refused(data, media, "axes.AccessFailureLog 1 is refused \\(ip_address: Enter a valid")


# --- Evidence files stay in their folder ---------------------------------------------------------


def with_evidence_name(name: str):
    """The archive as an attacker would make it: the row, the manifest and the member agree."""

    def rows(rows):
        row_of(rows, "commitments.evidencefile")["fields"]["file"] = name
        return rows

    def manifest(manifest):
        manifest["files"][0]["name"] = name
        return manifest

    return {"rows": rows, "manifest": manifest}


@pytest.mark.parametrize(
    "name",
    [
        "../../../../etc/passwd",
        "evidence/../../escaped.pdf",
        "/etc/passwd",
        "evidence/1/..\\..\\escaped.pdf",
        "elsewhere/report.pdf",
        "evidence/./1/report.pdf",
        "evidence//report.pdf",
        "C:/report.pdf",
        "",
    ],
)
def test_an_evidence_file_outside_the_evidence_folder_is_not_restored(
    archive, media, tmp_path, name
):
    contents = members(archive)
    stored = next(member for member in contents if member.startswith("files/"))
    data = changed(archive, **with_evidence_name(name), **{stored: b"", "files/" + name: PDF})
    refused(data, media, "evidence file|outside the archive's own folders")
    assert not (tmp_path / "escaped.pdf").exists()


def test_only_the_row_naming_a_file_outside_the_folder_is_enough(archive, media):
    data = changed(
        archive, rows=with_field("commitments.evidencefile", file="../../../../etc/passwd")
    )
    refused(data, media, "evidence file .*etc/passwd.* is not inside the evidence folder")


def test_a_file_no_evidence_row_names_is_not_written(archive, media):
    def manifest(manifest):
        manifest["files"].append(dict(manifest["files"][0], name="evidence/1/planted.pdf"))
        return manifest

    data = changed(archive, manifest=manifest, **{"files/evidence/1/planted.pdf": PDF})
    refused(data, media, "planted.pdf, which no evidence row of the archive names")


@pytest.mark.parametrize("member", ["../../evil.txt", "/tmp/evil.txt", "files/../../evil.txt"])
def test_an_archive_with_a_member_outside_its_folders_is_refused(archive, media, member):
    refused(changed(archive, **{member: b"evil"}), media, "outside the archive's own folders")


def test_an_evidence_file_larger_than_its_manifest_says_is_not_read(archive, media):
    contents = members(archive)
    stored = next(member for member in contents if member.startswith("files/"))
    refused(changed(archive, **{stored: PDF * 1000}), media, "damaged \\(size\\)")


# --- Only the record's own models ----------------------------------------------------------------


@pytest.mark.parametrize(
    "model",
    [
        "sessions.session",
        "auth.permission",
        "contenttypes.contenttype",
        "axes.accessattempt",
        "tracker.nosuchmodel",
        "no-app",
        5,
        None,
    ],
)
def test_rows_of_models_outside_the_record_are_refused_by_name(archive, media, model):
    def rows(rows):
        session = {"session_key": "k" * 32, "session_data": "x", "expire_date": "2030-01-01T00:00Z"}
        return rows + [{"model": model, "pk": "k" * 32, "fields": session}]

    message = refused(changed(archive, rows=rows), media, "not part of the record")
    assert json.dumps(model) in message


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        (["commitments.theme", 1], "of no known shape"),
        ({"model": "commitments.theme", "pk": 7}, "of no known shape"),
        ({"model": "commitments.theme", "fields": {"name": "Water"}}, "of no known shape"),
        ({"model": "commitments.theme", "pk": 7, "fields": ["Water"]}, "of no known shape"),
        ({"model": "commitments.theme", "pk": {"a": 1}, "fields": {}}, "cannot be read"),
        (
            {"model": "commitments.theme", "pk": 7, "fields": {"name": "W", "is_admin": True}},
            'fields this tracker does not know: "is_admin"',
        ),
    ],
)
def test_a_row_of_the_wrong_shape_is_refused(archive, media, row, problem):
    refused(changed(archive, rows=lambda rows: rows + [row]), media, problem)


def test_many_to_many_links_that_are_not_a_list_are_refused(archive, media):
    data = changed(archive, rows=with_field("commitments.commitment", paragraphs=5))
    refused(data, media, "cannot be read")


def test_a_row_given_twice_is_refused(archive, media):
    """Saving it twice would quietly keep the second one."""

    def twice(rows):
        again = dict(row_of(rows, "commitments.evidencelink"))
        again["fields"] = dict(again["fields"], url="https://example.org/another")
        return rows + [again]

    refused(changed(archive, rows=twice), media, r"commitments.evidencelink \d+ twice")


def test_a_record_that_is_not_a_list_is_refused(archive, media):
    for record in ({"rows": []}, "rows", None, 5):
        data = changed(archive, **{"record.json": json.dumps(record).encode()})
        refused(data, media, "record.json is not a list of rows")


# --- The manifest -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "problem"),
    [
        ("2", 'format version as "2" \\(text\\), not as a whole number'),
        (2.0, "format version as 2.0 \\(float\\)"),
        (True, "format version as true \\(bool\\)"),
        (None, "format version as null"),
        (4, "format version 4; this tracker reads versions 1, 2 and 3"),
        (0, "format version 0"),
    ],
)
def test_the_format_version_is_a_whole_number_this_tracker_reads(archive, media, version, problem):
    refused(changed(archive, manifest=lambda m: m | {"version": version}), media, problem)


@pytest.mark.parametrize(
    ("manifest", "problem"),
    [
        ([], "names no format"),
        ("commitment-tracker-backup", "names no format"),
        (None, "names no format"),
        ({"format": "commitment-tracker-backup"}, "gives no format version"),
        ({"format": "commitment-tracker-backup", "version": 2}, "password hashes"),
        (
            {"format": "commitment-tracker-backup", "version": 2, "without_password_hashes": 0},
            "password hashes",
        ),
        (
            {"format": "commitment-tracker-backup", "version": 2, "without_password_hashes": False},
            "does not list its evidence files",
        ),
        (
            {
                "format": "commitment-tracker-backup",
                "version": 2,
                "without_password_hashes": False,
                "files": ["evidence/1/a.pdf"],
            },
            "lists a file as .*not an object",
        ),
        (
            {
                "format": "commitment-tracker-backup",
                "version": 2,
                "without_password_hashes": False,
                "files": [{"name": "evidence/1/a.pdf", "size": "12", "sha256": "0" * 64}],
            },
            "lacks its size or SHA-256",
        ),
    ],
)
def test_a_manifest_that_is_not_a_trackers_is_refused(archive, media, manifest, problem):
    refused(changed(archive, **{"manifest.json": json.dumps(manifest).encode()}), media, problem)


def test_a_huge_manifest_is_refused_before_it_is_read(archive, media):
    padded = json.dumps(json.loads(members(archive)["manifest.json"])) + " " * (
        backup.MANIFEST_MAX_BYTES
    )
    data = changed(archive, **{"manifest.json": padded.encode()})
    refused(data, media, "manifest.json is too large")


def test_a_deeply_nested_manifest_is_refused(archive, media):
    data = changed(archive, **{"manifest.json": b"[" * 200_000 + b"]" * 200_000})
    refused(data, media, "manifest.json is not valid JSON")


# --- The commands: one line, exit status 1, nothing changed -------------------------------------


def corrupted(archive: bytes) -> bytes:
    """record.json stored uncompressed, one of its bytes changed on disk: its CRC fails."""
    raw = zipped(members(archive), compression=zipfile.ZIP_STORED)
    return raw.replace(b'"commitments.document"', b'"commitments.documenX"', 1)


BAD_ARCHIVES = {
    "a corrupted member": (corrupted, "record.json is damaged"),
    "no record.json": (
        lambda a: zipped({"manifest.json": members(a)["manifest.json"]}),
        "has no record.json",
    ),
    "invalid JSON": (
        lambda a: changed(a, **{"record.json": b'[{"model": "commitments.document",'}),
        "record.json is not valid JSON",
    ),
    "a record not in UTF-8": (
        lambda a: changed(a, **{"record.json": '["é"]'.encode("latin-1")}),
        "record.json is not valid JSON",
    ),
    "a manifest that is not an object": (
        lambda a: changed(a, **{"manifest.json": b"[1, 2, 3]"}),
        "names no format",
    ),
    "a manifest without its keys": (
        lambda a: changed(a, manifest=lambda m: {"format": m["format"], "version": 2}),
        "password hashes",
    ),
    "a dangling foreign key": (
        lambda a: changed(a, rows=with_field("commitments.statusupdate", commitment=999999)),
        "refers to a row it does not hold",
    ),
    "a bad field value": (
        lambda a: changed(a, rows=with_field("commitments.statusupdate", happened_on="soon")),
        "cannot be read",
    ),
    "a record that is not a list": (
        lambda a: changed(a, **{"record.json": b'{"model": "commitments.document"}'}),
        "not a list of rows",
    ),
    "not a zip archive": (lambda a: b"PK\x03\x04 but not really", "not a zip archive"),
}


@pytest.mark.parametrize("case", sorted(BAD_ARCHIVES))
def test_import_record_refuses_in_one_line_and_changes_nothing(archive, media, tmp_path, case):
    make, message = BAD_ARCHIVES[case]
    path = tmp_path / "bad.zip"
    path.write_bytes(make(archive))

    with pytest.raises(CommandError, match=message) as refusal:
        call_command("import_record", str(path), stdout=io.StringIO())
    assert "\n" not in str(refusal.value)
    assert not any(record_row_counts().values())
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


def manage(*arguments: str, tmp_path) -> subprocess.CompletedProcess:
    """manage.py as an operator runs it, on a database of its own that none of this touches."""
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'untouched.sqlite3'}",
    }
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "case", ["a corrupted member", "invalid JSON", "a manifest that is not an object"]
)
def test_import_record_exits_with_status_1_and_no_traceback(archive, tmp_path, case):
    make, message = BAD_ARCHIVES[case]
    path = tmp_path / "bad.zip"
    path.write_bytes(make(archive))

    result = manage("import_record", str(path), tmp_path=tmp_path)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert message in result.stderr


@pytest.mark.parametrize("where", ["/nonexistent/dir/x.zip", "{tmp}", "{tmp}/missing/x.zip"])
def test_export_record_to_a_place_it_cannot_write_says_so_in_one_line(tmp_path, where):
    path = where.format(tmp=tmp_path)
    before = sorted(tmp_path.rglob("*"))

    result = manage("export_record", path, tmp_path=tmp_path)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert (
        result.stderr.strip().splitlines() == [result.stderr.strip().splitlines()[0]]
        and f"Cannot write {path}:" in result.stderr
    )
    assert "Nothing was written" in result.stderr
    assert sorted(tmp_path.rglob("*")) == before


def test_export_record_leaves_only_the_whole_archive_readable_by_its_owner(db, tmp_path):
    """It may hold password hashes; it is written aside and renamed, so no half file stays."""
    SecretariatFactory(username="officer")
    path = tmp_path / "backup.zip"
    path.write_bytes(b"an older archive")

    call_command("export_record", str(path), stdout=io.StringIO())

    assert [p.name for p in tmp_path.iterdir()] == ["backup.zip"]
    assert path.stat().st_mode & 0o077 == 0
    assert json.loads(members(path.read_bytes())["manifest.json"])["counts"]["tracker.User"] == 1
