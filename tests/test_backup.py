"""Backup and restore (tracker.backup, export_record, import_record): the demo record with its
reminders, evidence files and audit trail survives export, an emptied database and a restore."""

import datetime
import io
import json
import zipfile

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from commitments import services
from commitments.models import AchievedSpan, Commitment, EvidenceFile, StatusUpdate
from tests.test_backup_input import changed
from tracker import reminders
from tracker.backup import (
    FORMAT_VERSION,
    LEFT_OUT_MODELS,
    RECORD_MODELS,
    BackupError,
    backup_export,
    backup_restore,
    record_row_counts,
)
from tracker.demo import demo_load
from tracker.models import Reminder, ReminderPreference, ReminderSubscription, User

PASSWORD = "demo-password-for-backup-tests"
PDF = b"%PDF-1.4\n% the UNRCCA resolution, as filed\n"


@pytest.fixture
def media(settings, tmp_path):
    """Evidence files go to a folder of this test; `media.fresh()` switches to an empty one,
    as on a new server."""

    class Media:
        count = 0

        def fresh(self):
            self.count += 1
            settings.MEDIA_ROOT = tmp_path / f"media-{self.count}"
            return settings.MEDIA_ROOT

    folder = Media()
    folder.fresh()
    return folder


def record_build() -> None:
    """The demo record plus what a running tracker adds: evidence, reminders, options."""
    demo_load(password=PASSWORD)
    secretariat = User.objects.get(username="secretariat")
    liaison = User.objects.get(username="liaison")
    commitment = Commitment.objects.get(slug="unrcca-resolution-75th-session")
    services.status_update_create_with_evidence(
        commitment=commitment,
        author=secretariat,
        status=commitment.status,
        progress=None,  # its milestones give the figure
        narrative="The resolution as adopted, filed for the record.",
        happened_on=datetime.date(2021, 2, 2),
        links=[("UN digital library", "https://digitallibrary.un.org/")],
        upload=SimpleUploadedFile("resolution.pdf", PDF, content_type="application/pdf"),
    )
    reminders.reminders_plan(now=datetime.datetime(2026, 12, 8, 6, tzinfo=datetime.UTC))
    Reminder.objects.filter(pk=Reminder.objects.order_by("pk").first().pk).update(
        state=Reminder.State.SENT,
        sent_at=datetime.datetime(2026, 12, 8, 4, 0, 0, 123456, tzinfo=datetime.UTC),
    )
    ReminderPreference.objects.create(user=liaison, weekly_digest=True)
    # The demo liaison follows their state already, as a new liaison does.
    ReminderSubscription.objects.get_or_create(user=liaison, actor=liaison.actor)
    secretariat.groups.add(Group.objects.create(name="Editors"))


def export_bytes(**options) -> bytes:
    buffer = io.BytesIO()
    backup_export(destination=buffer, **options)
    return buffer.getvalue()


def archive_contents(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def manifest_of(data: bytes) -> dict:
    manifest = json.loads(archive_contents(data)["manifest.json"])
    manifest.pop("created_at")
    return manifest


def achieved_spans() -> set[tuple]:
    """Each commitment's days achieved per audience, by slug (ids change on a restore)."""
    fields = ("audience", "commitment__slug", "started_on", "ended_on")
    return set(AchievedSpan.objects.values_list(*fields))


def commitment_rows_changed(change):
    """A rows function for `changed`: change(fields) on every commitment's fields."""

    def rows_changed(rows):
        for row in rows:
            if row["model"] == "commitments.commitment":
                change(row["fields"])
        return rows

    return rows_changed


def database_empty() -> None:
    call_command("flush", interactive=False, verbosity=0)


def test_the_backup_lists_every_model_of_the_record():
    """A model added later must be added to the backup too, or this fails."""
    record_apps = ("tracker", "commitments")
    models = {m._meta.label for m in apps.get_models() if m._meta.app_label in record_apps}
    assert models <= set(RECORD_MODELS) | set(LEFT_OUT_MODELS)


def test_demo_record_round_trips_through_an_empty_database(transactional_db, media):
    record_build()
    first = export_bytes()
    counts = record_row_counts()
    spans = achieved_spans()
    assert {audience for audience, *_ in spans} == {"secretariat", "public"}
    assert counts["commitments.Paragraph"] == 16
    assert counts["tracker.Reminder"] > 0 and counts["auditlog.LogEntry"] > 0
    assert counts["commitments.EvidenceFile"] == 1 and counts["tracker.Event"] > 0

    database_empty()
    media.fresh()
    assert not any(record_row_counts().values())
    backup_restore(source=io.BytesIO(first))
    second = export_bytes()

    before, after = archive_contents(first), archive_contents(second)
    assert after["record.json"] == before["record.json"]
    assert manifest_of(second) == manifest_of(first)
    assert after["files/" + EvidenceFile.objects.get().file.name] == PDF
    assert record_row_counts() == counts
    # Not in the archive (derived from the history), rebuilt for the dashboard's chart.
    assert achieved_spans() == spans


def test_an_archive_made_before_the_public_state_was_kept_restores_it(transactional_db, media):
    """Archives from before Commitment.public_* existed have no such fields: they are rebuilt
    from the restored history, so liaisons do not see every commitment as not started."""
    record_build()
    liaison_sees = dict(Commitment.objects.values_list("slug", "public_status"))
    public = ("public_status", "public_progress", "public_last_activity_on")
    older = changed(
        export_bytes(),
        rows=commitment_rows_changed(lambda fields: [fields.pop(name) for name in public]),
        manifest=lambda manifest: manifest | {"version": 1},
    )
    database_empty()
    media.fresh()

    backup_restore(source=io.BytesIO(older))

    assert dict(Commitment.objects.values_list("slug", "public_status")) == liaison_sees
    assert set(liaison_sees.values()) - {"not_started"}  # the demo has public progress


def test_an_archive_made_before_milestone_dates_were_copied_restores_them(transactional_db, media):
    """Version 2 archives have no Commitment.undone_milestone_due_on: the restore fills it
    from the restored milestones, so the table's due dates and overdue list stay right."""
    record_build()
    due = dict(Commitment.objects.values_list("slug", "undone_milestone_due_on"))
    assert any(due.values())  # the demo has undone milestones
    archive = export_bytes()
    assert manifest_of(archive)["version"] == 3
    older = changed(
        archive,
        rows=commitment_rows_changed(lambda fields: fields.pop("undone_milestone_due_on")),
        manifest=lambda manifest: manifest | {"version": 2},
    )
    database_empty()
    media.fresh()

    backup_restore(source=io.BytesIO(older))

    assert dict(Commitment.objects.values_list("slug", "undone_milestone_due_on")) == due


def test_an_archive_made_while_commitments_had_a_quiet_period_restores(transactional_db, media):
    """quiet_after_days gave way to the reporting cadence; older archives still hold it."""
    record_build()
    slugs = set(Commitment.objects.values_list("slug", flat=True))
    older = changed(
        export_bytes(),
        rows=commitment_rows_changed(lambda fields: fields.update(quiet_after_days=180)),
    )
    database_empty()
    media.fresh()

    backup_restore(source=io.BytesIO(older))

    assert set(Commitment.objects.values_list("slug", flat=True)) == slugs


def test_restored_record_keeps_working(transactional_db, media):
    """Ids continue after the restored ones; links, files and passwords work as before."""
    record_build()
    archive = export_bytes()
    database_empty()
    media.fresh()
    backup_restore(source=io.BytesIO(archive))

    commitment = Commitment.objects.get(slug="unrcca-resolution-75th-session")
    update = services.status_update_create(
        commitment=commitment,
        author=User.objects.get(username="secretariat"),
        status=commitment.status,
        progress=None,  # its milestones give the figure
        narrative="Posted after the restore.",
        happened_on=datetime.date(2026, 1, 5),
        expected_version=commitment.version,
    )
    assert update.pk > StatusUpdate.objects.exclude(pk=update.pk).order_by("-pk").first().pk
    assert EvidenceFile.objects.get().file.read() == PDF
    assert User.objects.get(username="secretariat").groups.get().name == "Editors"
    assert User.objects.get(username="liaison").check_password(PASSWORD)


def test_without_password_hashes_users_must_set_a_new_password(transactional_db, media, tmp_path):
    record_build()
    archive = export_bytes(without_password_hashes=True)
    users = [
        row
        for row in json.loads(archive_contents(archive)["record.json"])
        if row["model"] == "tracker.user"
    ]
    assert users and all(row["fields"]["password"] == "" for row in users)
    assert manifest_of(archive)["without_password_hashes"] is True

    database_empty()
    media.fresh()
    path = tmp_path / "no-passwords.zip"
    path.write_bytes(archive)
    out = io.StringIO()
    call_command("import_record", str(path), stdout=out)
    assert "each user needs a new one" in out.getvalue()
    restored = User.objects.get(username="secretariat")
    assert restored.role == "secretariat" and not restored.has_usable_password()
    assert not restored.check_password(PASSWORD)


def test_restore_refuses_a_database_that_is_not_empty(db, media, tmp_path):
    record_build()
    path = tmp_path / "backup.zip"
    call_command("export_record", str(path), stdout=io.StringIO())
    counts = record_row_counts()
    folder = media.fresh()

    with pytest.raises(CommandError, match="not empty.*nothing was restored"):
        call_command("import_record", str(path), stdout=io.StringIO())
    assert record_row_counts() == counts
    assert not folder.exists() or not any(p.is_file() for p in folder.rglob("*"))


def test_a_damaged_archive_restores_nothing(transactional_db, media):
    """The evidence file fails its checksum after every row was saved: all is rolled back."""
    record_build()
    contents = archive_contents(export_bytes())
    name = next(n for n in contents if n.startswith("files/"))
    contents[name] = b"not the file that was backed up"
    damaged = io.BytesIO()
    with zipfile.ZipFile(damaged, "w") as archive:
        for member, data in contents.items():
            archive.writestr(member, data)
    database_empty()
    folder = media.fresh()

    with pytest.raises(BackupError, match="damaged"):
        backup_restore(source=io.BytesIO(damaged.getvalue()))
    assert not any(record_row_counts().values())
    assert not any(path.is_file() for path in folder.rglob("*"))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"plain text, not an archive", "not a zip archive"),
        ("manifest", "format version 99"),
    ],
)
def test_an_archive_of_another_kind_is_refused_with_a_reason(db, data, message):
    if data == "manifest":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            manifest = {"format": "commitment-tracker-backup", "version": 99}
            archive.writestr("manifest.json", json.dumps(manifest))
        data = buffer.getvalue()
    with pytest.raises(BackupError, match=message):
        backup_restore(source=io.BytesIO(data))
    assert FORMAT_VERSION != 99


def test_export_record_command_reports_what_it_wrote(db, media, tmp_path):
    record_build()
    path = tmp_path / "backup.zip"
    out = io.StringIO()
    call_command("export_record", str(path), "--without-password-hashes", stdout=out)
    assert "16  commitments.Paragraph" in out.getvalue()
    assert "1  evidence files" in out.getvalue()
    assert manifest_of(path.read_bytes())["counts"]["commitments.Commitment"] == 12
    assert manifest_of(path.read_bytes())["counts"]["commitments.Milestone"] == 32


def test_a_restore_forgets_every_cached_page(transactional_db, media):
    """Pages cached from the record that was there before (the cache outlives the database it
    was filled from) are never served from the restored one: every family is bumped."""
    from core import caching

    record_build()
    archive = export_bytes()
    database_empty()
    media.fresh()
    before = {family: caching.generation(family) for family in caching.FAMILIES}
    backup_restore(source=io.BytesIO(archive))
    after = {family: caching.generation(family) for family in caching.FAMILIES}
    assert all(after[family] != before[family] for family in caching.FAMILIES)
