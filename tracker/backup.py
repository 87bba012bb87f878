"""Back up the whole record into one zip archive, and restore it into an empty database.

The archive (`manage.py export_record`, `manage.py import_record`; the README's "Backup and
restore") holds three things:

- `manifest.json`: the format's name and version, when it was made, whether password hashes
  were left out, how many rows of each model, and each evidence file's size and SHA-256;
- `record.json`: every row of RECORD_MODELS in Django's serialization, primary keys kept, so
  that links between rows survive; users, groups, permissions and content types are referred
  to by natural key, because permissions and content types are made anew by `migrate`;
- `files/<name>`: the evidence files, under the names their rows store.

A restore writes everything in one transaction, and only into a database without any row of
the record: merging two records would need decisions (which "secretariat" is which?) that a
backup cannot make.
"""

import datetime
import hashlib
import json
import zipfile
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from auditlog.context import disable_auditlog
from django.apps import apps
from django.contrib.auth.hashers import make_password
from django.core import serializers
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management.color import no_style
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from commitments import services

FORMAT_NAME = "commitment-tracker-backup"
# Raise when the layout of the archive or of a model changes in a way an older restore
# would misread; backup_restore refuses archives of another version.
FORMAT_VERSION = 2
# Version 2 added the commitments' public state (public_*); restoring a version 1 archive
# rebuilds it from the history (services.commitments_copies_refresh).
READABLE_VERSIONS = (1, 2)

# Restored in this order: a row's foreign keys point to rows of models earlier in the list.
# Left out on purpose: sessions (everyone logs in again), django-axes' current lockouts
# (AccessAttempt: they end by themselves), content types and permissions (`migrate` makes them).
RECORD_MODELS = (
    "auth.Group",
    "commitments.Document",
    "commitments.Paragraph",
    "commitments.Actor",
    "commitments.Theme",
    "tracker.User",
    "commitments.Commitment",
    "commitments.StatusUpdate",
    "commitments.EvidenceLink",
    "commitments.EvidenceFile",
    "tracker.Event",
    "tracker.ReminderPreference",
    "tracker.ReminderSubscription",
    "tracker.Reminder",
    "auditlog.LogEntry",
    "admin.LogEntry",
    "axes.AccessLog",
    "axes.AccessFailureLog",
)
# Models of the record's apps that are no part of it: which worker processes are alive now
# (tracker.workers). Restored reminders held by a process of the old server are put back by
# the claim timeout, their `claimed_at` being old.
LEFT_OUT_MODELS = ("tracker.WorkerHeartbeat",)
USER_MODEL = "tracker.User"
EVIDENCE_FILE_MODEL = "commitments.EvidenceFile"
MANIFEST = "manifest.json"
RECORD = "record.json"
FILES = "files/"


class BackupError(Exception):
    """The archive cannot be restored here; the message says why and what to do."""


class _ExactJSONEncoder(DjangoJSONEncoder):
    # DjangoJSONEncoder cuts datetimes to milliseconds; a backup keeps what was stored.
    def default(self, o):
        if isinstance(o, datetime.datetime | datetime.time):
            return o.isoformat()
        return super().default(o)


@dataclass
class BackupSummary:
    counts: dict[str, int]
    files: int = 0
    missing_files: list[str] = field(default_factory=list)
    without_password_hashes: bool = False


def _model(label: str):
    return apps.get_model(label)


def _rows(label: str) -> list[dict]:
    queryset = _model(label)._default_manager.order_by("pk")
    return serializers.serialize("python", queryset, use_natural_foreign_keys=True)


def _without_password_hashes(rows: list[dict]) -> list[dict]:
    for row in rows:
        if row["model"] == USER_MODEL.lower():
            row["fields"]["password"] = ""
    return rows


@contextmanager
def _snapshot():
    """One consistent view of the record while it is read, even if people keep posting."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        # Only the first statement of a transaction may set its level (not so inside a test's).
        if connection.vendor == "postgresql" and outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def record_read(*, without_password_hashes: bool = False) -> list[dict]:
    """Every row of the record, model by model in RECORD_MODELS order, each by primary key."""
    rows = [row for label in RECORD_MODELS for row in _rows(label)]
    return _without_password_hashes(rows) if without_password_hashes else rows


def record_json(rows: list[dict]) -> bytes:
    return json.dumps(rows, cls=_ExactJSONEncoder, indent=1, ensure_ascii=False).encode()


def _evidence_names(rows: list[dict]) -> list[str]:
    label = EVIDENCE_FILE_MODEL.lower()
    return sorted({row["fields"]["file"] for row in rows if row["model"] == label})


def _file_copy(archive: zipfile.ZipFile, name: str) -> dict:
    digest, size = hashlib.sha256(), 0
    with default_storage.open(name, "rb") as source, archive.open(FILES + name, "w") as target:
        for chunk in iter(lambda: source.read(1 << 16), b""):
            digest.update(chunk)
            size += len(chunk)
            target.write(chunk)
    return {"name": name, "size": size, "sha256": digest.hexdigest()}


def backup_export(*, destination, without_password_hashes: bool = False) -> BackupSummary:
    """Write the record and its evidence files as a zip archive to `destination` (a path or
    a binary file). A file missing from storage is listed in the summary, not fatal."""
    with _snapshot():
        rows = record_read(without_password_hashes=without_password_hashes)
    counts = Counter(row["model"] for row in rows)
    summary = BackupSummary(counts={label: counts[label.lower()] for label in RECORD_MODELS})
    files = []
    with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(RECORD, record_json(rows))
        for name in _evidence_names(rows):
            if not default_storage.exists(name):
                summary.missing_files.append(name)
                continue
            files.append(_file_copy(archive, name))
        manifest = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "created_at": timezone.now().isoformat(),
            "without_password_hashes": without_password_hashes,
            "counts": summary.counts,
            "files": files,
            "missing_files": summary.missing_files,
        }
        archive.writestr(MANIFEST, json.dumps(manifest, indent=1))
    summary.files = len(files)
    return summary


# --- restore --------------------------------------------------------------------------------


def _manifest_read(archive: zipfile.ZipFile) -> dict:
    try:
        manifest = json.loads(archive.read(MANIFEST))
    except (KeyError, ValueError) as error:
        raise BackupError(
            f"This archive has no readable {MANIFEST}: it is not a tracker backup. "
            "Restore a file made by `manage.py export_record`."
        ) from error
    if manifest.get("format") != FORMAT_NAME:
        raise BackupError("This archive is not a tracker backup (its manifest names no format).")
    if manifest.get("version") not in READABLE_VERSIONS:
        readable = " and ".join(map(str, READABLE_VERSIONS))
        raise BackupError(
            f"This backup is in format version {manifest.get('version')}; this tracker reads "
            f"versions {readable}. Restore it with the tracker version that made it."
        )
    return manifest


def record_row_counts() -> dict[str, int]:
    return {label: _model(label)._default_manager.count() for label in RECORD_MODELS}


def _refuse_non_empty() -> None:
    present = {label: n for label, n in record_row_counts().items() if n}
    if present:
        listed = ", ".join(f"{n} {label}" for label, n in present.items())
        raise BackupError(
            f"The database is not empty (it holds {listed}); nothing was restored. "
            "Restore into a new database: create it, run `manage.py migrate`, then import."
        )


def _rows_save(rows: list[dict], *, without_password_hashes: bool) -> Counter:
    saved = Counter()
    unusable = USER_MODEL.lower()
    for restored in serializers.deserialize("python", rows, handle_forward_references=True):
        obj = restored.object
        if without_password_hashes and obj._meta.label_lower == unusable:
            # make_password(None) is Django's "no password": the user must reset it.
            obj.password = make_password(None)
        restored.save()
        saved[obj._meta.label] += 1
    return saved


def _sequences_reset() -> None:
    """Rows kept their primary keys: move PostgreSQL's id counters past them."""
    models = [_model(label) for label in RECORD_MODELS]
    statements = connection.ops.sequence_reset_sql(no_style(), models)
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def _member_name(name: str) -> str:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts:
        raise BackupError(f"The archive names a file outside the evidence folder: {name!r}.")
    return FILES + name


def _file_restore(archive: zipfile.ZipFile, entry: dict, written: list[str]) -> None:
    name = entry["name"]
    try:
        data = archive.read(_member_name(name))
    except KeyError as error:
        raise BackupError(f"The archive lacks the evidence file {name}: it is damaged.") from error
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise BackupError(f"The evidence file {name} in the archive is damaged (checksum).")
    if default_storage.exists(name):
        with default_storage.open(name, "rb") as existing:
            if existing.read() == data:
                return
        raise BackupError(
            f"A different file is already stored as {name}; nothing was restored. "
            "Restore into an empty media folder (DJANGO_MEDIA_ROOT)."
        )
    stored = default_storage.save(name, ContentFile(data))
    written.append(stored)
    if stored != name:
        raise BackupError(f"The evidence file {name} could not be stored under its own name.")


def _files_remove(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)


def backup_restore(*, source) -> BackupSummary:
    """Restore an archive made by backup_export into an empty database, all or nothing.

    Raises BackupError (nothing written, no file left behind) if the archive is not a backup
    of this format, is damaged, or the database already holds part of a record.
    """
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as error:
        raise BackupError(f"This is not a zip archive made by export_record: {error}") from error
    with archive:
        manifest = _manifest_read(archive)
        rows = json.loads(archive.read(RECORD))
        written: list[str] = []
        try:
            with transaction.atomic(), disable_auditlog():
                _refuse_non_empty()
                hashes_left_out = manifest["without_password_hashes"]
                saved = _rows_save(rows, without_password_hashes=hashes_left_out)
                _sequences_reset()
                # Copies an older archive may lack (a commitment's public state) are rebuilt.
                services.commitments_copies_refresh()
                for entry in manifest["files"]:
                    _file_restore(archive, entry, written)
        except Exception:
            _files_remove(written)
            raise
    counts = {label: saved[label] for label in RECORD_MODELS}
    return BackupSummary(
        counts=counts, files=len(manifest["files"]), without_password_hashes=hashes_left_out
    )
