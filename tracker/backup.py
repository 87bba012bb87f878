"""Back up the whole record into one zip archive, and restore it into an empty database.

The archive (`manage.py export_record`, `manage.py import_record`; docs/deployment.md,
"Backup and restore") holds three things:

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
import zlib
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from auditlog.context import disable_auditlog
from django.apps import apps
from django.contrib.auth.hashers import make_password
from django.core import serializers
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management.color import no_style
from django.core.serializers.base import DeserializationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from commitments import services

from .models.users import email_without_control_characters

FORMAT_NAME = "commitment-tracker-backup"
# Raise when the layout of the archive or of a model changes in a way an older restore
# would misread; backup_restore refuses archives of another version.
FORMAT_VERSION = 3
# Version 2 added the commitments' public state (public_*), version 3 each commitment's
# earliest undone milestone date (undone_milestone_due_on): restoring an older archive
# rebuilds them from the history and milestones (services.commitments_copies_refresh); an
# older tracker refuses a newer archive by its version instead of stopping on a field.
READABLE_VERSIONS = (1, 2, 3)

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
    "tracker.Invitation",  # after the users who sent and accepted it, and its actor
    "commitments.DocumentLink",  # after both its documents and the user who made it
    "commitments.Commitment",
    "commitments.CommitmentRelation",
    "commitments.StatusUpdate",
    "commitments.EvidenceLink",
    "commitments.EvidenceFile",
    "commitments.Milestone",
    "commitments.SubmittedReport",  # after its commitment, author, actor and update
    "commitments.ReportLink",
    "commitments.ReportFile",
    "commitments.ReportComment",
    "tracker.Event",
    "tracker.ReminderPreference",
    "tracker.ReminderSubscription",
    "tracker.Follow",
    "tracker.Change",  # after the updates and milestones it names
    "tracker.Notification",
    "tracker.Reminder",  # after the notifications its news rows name
    "auditlog.LogEntry",
    "admin.LogEntry",
    "axes.AccessLog",
    "axes.AccessFailureLog",
)
# Models of the record's apps that are no part of it: which worker processes are alive now
# (tracker.workers). Restored reminders held by a process of the old server are put back by
# the claim timeout, their `claimed_at` being old.
LEFT_OUT_MODELS = (
    "tracker.WorkerHeartbeat",
    # Credentials for programs: a restored archive must not bring back a token its person
    # revoked since, nor carry working ones to another server; people make new ones.
    "tracker.ApiToken",
    # A bulk import's dry run and result report: working papers, not the record (what it
    # changed is in the record and its audit trail).
    "commitments.BulkImport",
    "commitments.BulkImportRow",
    # Derived from the history: a restore rebuilds it (services.commitments_copies_refresh).
    "commitments.AchievedSpan",
)
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
#
# An archive is input like any other: a restore reads only the models of RECORD_MODELS, checks
# every row as the forms check what people type, and keeps evidence files in their folder.

# A manifest lists each evidence file in about 150 bytes; this is far more than any record has.
MANIFEST_MAX_BYTES = 64 * 1024 * 1024
# commitments.models.evidence_upload_to puts every evidence file here, and only here.
EVIDENCE_FOLDER = "evidence/"
# Rows written by libraries from a request's headers rather than from a form: an empty header
# is kept as it came, so an empty required text there is not a reason to refuse the archive.
LOG_MODELS = ("auditlog.LogEntry", "admin.LogEntry", "axes.AccessLog", "axes.AccessFailureLog")
# What reading a damaged (CRC, truncated), encrypted or oddly compressed member raises.
ZIP_READ_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    RuntimeError,
    NotImplementedError,
    ValueError,
)
AGAIN = "Nothing was restored. Restore a file made by `manage.py export_record`."


def _quoted(value, limit: int = 80) -> str:
    """A value from the archive, short enough for a one-line message."""
    return _short(json.dumps(value, ensure_ascii=False, default=str), limit)


def _short(text, limit: int = 300) -> str:
    """An error's text on one line; a value quoted in it may be as long as the archive."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else f"{text[:limit]}…"


def _relative_name(name: str) -> bool:
    """A path that stays inside the folder it is read or written in."""
    path = PurePosixPath(name)
    return (
        bool(name)
        and not path.is_absolute()
        and ".." not in path.parts
        and not any(character in name for character in "\\\x00:")
    )


def _evidence_name(name) -> str:
    if not (isinstance(name, str) and _relative_name(name) and name.startswith(EVIDENCE_FOLDER)):
        raise BackupError(
            f"The archive names the evidence file {_quoted(name)}, which is not inside the "
            f"evidence folder ({EVIDENCE_FOLDER}). {AGAIN}"
        )
    if str(PurePosixPath(name)) != name:  # "evidence/./x", "evidence//x": not a stored name
        raise BackupError(f"The archive names the evidence file {_quoted(name)} oddly. {AGAIN}")
    return name


def _archive_open(source) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as error:
        raise BackupError(
            f"This is not a zip archive made by export_record: {_short(error)}"
        ) from error
    for name in archive.namelist():
        if not _relative_name(name):
            archive.close()
            raise BackupError(
                f"The archive holds a file named {_quoted(name)}, outside the archive's own "
                f"folders: it was not made by export_record. {AGAIN}"
            )
    return archive


def _member_read(archive: zipfile.ZipFile, name: str, *, limit: int | None = None) -> bytes:
    try:
        info = archive.getinfo(name)
    except KeyError:
        message = f"The archive has no {name}: it is not a whole tracker backup. {AGAIN}"
        raise BackupError(message) from None
    if limit is not None and info.file_size > limit:
        raise BackupError(f"The archive's {name} is too large to be a tracker's. {AGAIN}")
    try:
        return archive.read(info)
    except ZIP_READ_ERRORS as error:
        raise BackupError(f"The archive's {name} is damaged ({_short(error)}). {AGAIN}") from error


def _json_read(archive: zipfile.ZipFile, name: str, *, limit: int | None = None):
    data = _member_read(archive, name, limit=limit)
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        raise BackupError(
            f"The archive's {name} is not valid JSON ({_short(error)}). {AGAIN}"
        ) from error


def _version_check(manifest: dict) -> None:
    *earlier, last = map(str, READABLE_VERSIONS)
    readable = f"{', '.join(earlier)} and {last}" if earlier else last
    if "version" not in manifest:
        raise BackupError(f"The archive's {MANIFEST} gives no format version. {AGAIN}")
    version = manifest["version"]
    if not isinstance(version, int) or isinstance(version, bool):
        kind = "text" if isinstance(version, str) else type(version).__name__
        raise BackupError(
            f"The archive's {MANIFEST} gives the format version as {_quoted(version)} ({kind}), "
            f"not as a whole number such as {FORMAT_VERSION}: it was not written by "
            f"export_record, or was edited. This tracker reads versions {readable}."
        )
    if version not in READABLE_VERSIONS:
        raise BackupError(
            f"This backup is in format version {_quoted(version, limit=20)}; this tracker reads "
            f"versions {readable}. Restore it with the tracker version that made it."
        )


def _file_entry_check(entry) -> None:
    if not isinstance(entry, dict):
        raise BackupError(f"The manifest lists a file as {_quoted(entry)}, not an object. {AGAIN}")
    _evidence_name(entry.get("name"))
    size, digest = entry.get("size"), entry.get("sha256")
    sized = isinstance(size, int) and not isinstance(size, bool) and size >= 0
    hexdigits = isinstance(digest, str) and len(digest) == 64
    if not (sized and hexdigits and all(c in "0123456789abcdef" for c in digest)):
        raise BackupError(
            f"The manifest's entry for {entry['name']} lacks its size or SHA-256. {AGAIN}"
        )


def _manifest_read(archive: zipfile.ZipFile) -> dict:
    manifest = _json_read(archive, MANIFEST, limit=MANIFEST_MAX_BYTES)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise BackupError(
            f"This archive is not a tracker backup (its {MANIFEST} names no format {FORMAT_NAME}). "
            f"{AGAIN}"
        )
    _version_check(manifest)
    if not isinstance(manifest.get("without_password_hashes"), bool):
        raise BackupError(
            f"The archive's {MANIFEST} does not say whether it holds password hashes. {AGAIN}"
        )
    if not isinstance(manifest.get("files"), list):
        raise BackupError(f"The archive's {MANIFEST} does not list its evidence files. {AGAIN}")
    for entry in manifest["files"]:
        _file_entry_check(entry)
    return manifest


# Fields the record no longer has, which older backups still hold: read and left out.
# quiet_after_days gave way to the reporting cadence (commitments migration 0012).
RETIRED_FIELDS = {"commitments.commitment": {"quiet_after_days"}}


def _without_retired_fields(row: dict) -> dict:
    retired = RETIRED_FIELDS.get(row["model"].lower())
    if not retired:
        return row
    fields = {name: value for name, value in row["fields"].items() if name not in retired}
    return row | {"fields": fields}


def _upgraded(row: dict) -> dict:
    """An older archive's values as this version's migrations made the stored ones: an email
    address loses the control characters it could hold before migration 0019."""
    email = row["fields"].get("email") if row["model"].lower() == USER_MODEL.lower() else None
    if not isinstance(email, str):
        return row
    return row | {"fields": row["fields"] | {"email": email_without_control_characters(email)}}


def _restorable_fields(label: str) -> set[str]:
    options = _model(label)._meta
    fields = {f.name for f in options.concrete_fields} | {f.name for f in options.many_to_many}
    return fields | RETIRED_FIELDS.get(label.lower(), set())


def _row_check(row, restorable: dict[str, str]) -> None:
    """The shape export_record writes: {"model": label, "pk": id, "fields": {name: value}}."""
    shaped = isinstance(row, dict) and isinstance(row.get("fields"), dict)
    if not shaped or row.get("pk") is None:
        raise BackupError(
            f"The archive's {RECORD} holds a row {_quoted(row)} of no known shape. {AGAIN}"
        )
    model = row.get("model")
    if not isinstance(model, str) or model.lower() not in restorable:
        raise BackupError(
            f"The archive holds rows of {_quoted(model)}, which is not part of the record a "
            f"backup restores (see docs/deployment.md, Backup and restore). {AGAIN}"
        )
    unknown = set(row["fields"]) - _restorable_fields(restorable[model.lower()])
    if unknown:
        raise BackupError(
            f"The archive's {model} {_quoted(row['pk'])} has fields this tracker does not know: "
            f"{', '.join(sorted(map(_quoted, unknown)))}. {AGAIN}"
        )
    _text_values_check(model, row, _model(restorable[model.lower()]))


def _text_values_check(model: str, row: dict, model_class) -> None:
    """A text field holds text, without NUL (which forms refuse and PostgreSQL cannot store):
    Django's deserializer would turn a list into the text "['x']" without a word."""
    for model_field in model_class._meta.concrete_fields:
        value = row["fields"].get(model_field.name)
        text_field = model_field.get_internal_type() in TEXT_FIELDS
        if model_field.is_relation or value is None or not text_field:
            continue
        if not isinstance(value, str) or "\x00" in value:
            problem = "is not text" if not isinstance(value, str) else "holds a NUL character"
            raise BackupError(
                f"The archive's {model} {_quoted(row['pk'])} {model_field.name} {problem} "
                f"({_quoted(value)}). {AGAIN}"
            )


def _record_read(archive: zipfile.ZipFile) -> list[dict]:
    rows = _json_read(archive, RECORD)
    if not isinstance(rows, list):
        raise BackupError(f"The archive's {RECORD} is not a list of rows. {AGAIN}")
    restorable = {label.lower(): label for label in RECORD_MODELS}
    for row in rows:
        _row_check(row, restorable)
    seen = Counter((row["model"].lower(), str(row["pk"])) for row in rows)
    twice = [key for key, count in seen.items() if count > 1]
    if twice:
        model, pk = twice[0]
        raise BackupError(f"The archive holds {model} {pk} twice: it was edited. {AGAIN}")
    return rows


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


TEXT_FIELDS = {"CharField", "TextField", "SlugField", "URLField", "EmailField"}


def _latest_day_anywhere() -> datetime.date:
    """The latest date it is anywhere on Earth now (UTC+14): no status update happened later."""
    return (timezone.now() + datetime.timedelta(hours=14)).date()


def _row_validate(obj) -> None:
    """Refuse a value the forms would refuse (a `javascript:` link, a date that is none, a
    status that does not exist). Links between rows are checked by the database afterwards."""
    links = [field.name for field in obj._meta.concrete_fields if field.is_relation]
    try:
        obj.full_clean(exclude=links, validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        tolerated = {"blank"} if obj._meta.label in LOG_MODELS else set()
        refusals = [
            f"{name}: {' '.join(problem.messages)}"
            for name, problems in error.error_dict.items()
            for problem in problems
            if problem.code not in tolerated
        ]
        if refusals:
            raise BackupError(
                f"The archive's {obj._meta.label} {obj.pk} is refused ({'; '.join(refusals)}). "
                f"{AGAIN}"
            ) from error
    if obj._meta.label == EVIDENCE_FILE_MODEL:
        _evidence_name(obj.file.name)
    if obj._meta.label == "commitments.StatusUpdate" and obj.happened_on > _latest_day_anywhere():
        # The form refuses a future date: such an update would stay the latest for ever.
        raise BackupError(
            f"The archive's commitments.StatusUpdate {obj.pk} happened on {obj.happened_on}, "
            f"a day still to come; a status update records what has happened. {AGAIN}"
        )


def _rows_save(rows: list[dict], *, without_password_hashes: bool) -> Counter:
    saved = Counter()
    unusable = USER_MODEL.lower()
    # RECORD_MODELS' order makes every reference point to a row restored before it: one that
    # cannot be found is missing from the archive, and refused (no forward references).
    rows = [_upgraded(_without_retired_fields(row)) for row in rows]
    restoring = serializers.deserialize("python", rows, handle_forward_references=False)
    try:
        for restored in restoring:
            obj = restored.object
            if without_password_hashes and obj._meta.label_lower == unusable:
                # make_password(None) is Django's "no password": the user must reset it.
                obj.password = make_password(None)
            _row_validate(obj)
            restored.save()
            saved[obj._meta.label] += 1
    except DeserializationError as error:
        message = f"A row of the archive cannot be read: {_short(error)}. {AGAIN}"
        raise BackupError(message) from error
    except DatabaseError as error:
        message = f"A row of the archive cannot be stored: {_short(error)}. {AGAIN}"
        raise BackupError(message) from error
    return saved


def _references_check() -> None:
    """Every link between restored rows points to a restored row (loaddata does the same)."""
    try:
        connection.check_constraints()
    except IntegrityError as error:
        raise BackupError(
            f"The archive refers to a row it does not hold: {_short(error)} {AGAIN}"
        ) from error


def _sequences_reset() -> None:
    """Rows kept their primary keys: move PostgreSQL's id counters past them."""
    models = [_model(label) for label in RECORD_MODELS]
    statements = connection.ops.sequence_reset_sql(no_style(), models)
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def _files_check(entries: list[dict], rows: list[dict]) -> None:
    """Only files that evidence rows name are written: a manifest cannot add others."""
    named = set(_evidence_names(rows))
    for entry in entries:
        if entry["name"] not in named:
            raise BackupError(
                f"The manifest lists the file {entry['name']}, which no evidence row of the "
                f"archive names. {AGAIN}"
            )


def _file_restore(archive: zipfile.ZipFile, entry: dict, written: list[str]) -> None:
    name = entry["name"]
    try:
        info = archive.getinfo(FILES + name)
    except KeyError:
        raise BackupError(f"The archive lacks the evidence file {name}: it is damaged.") from None
    if info.file_size != entry["size"]:  # checked before reading what may be a zip bomb
        raise BackupError(f"The evidence file {name} in the archive is damaged (size).")
    try:
        data = archive.read(info)
    except ZIP_READ_ERRORS as error:
        raise BackupError(
            f"The evidence file {name} in the archive is damaged ({error})."
        ) from error
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
    of this format, is damaged, holds a row the forms would refuse or a model outside
    RECORD_MODELS, or the database already holds part of a record.
    """
    with _archive_open(source) as archive:
        manifest = _manifest_read(archive)
        rows = _record_read(archive)
        hashes_left_out = manifest["without_password_hashes"]
        written: list[str] = []
        try:
            with transaction.atomic(), disable_auditlog():
                _refuse_non_empty()
                saved = _rows_save(rows, without_password_hashes=hashes_left_out)
                _references_check()
                _sequences_reset()
                # Copies an older archive may lack (a commitment's public state) are rebuilt.
                services.commitments_copies_refresh()
                _files_check(manifest["files"], rows)
                for entry in manifest["files"]:
                    _file_restore(archive, entry, written)
        except Exception:
            _files_remove(written)
            raise
    counts = {label: saved[label] for label in RECORD_MODELS}
    return BackupSummary(
        counts=counts, files=len(manifest["files"]), without_password_hashes=hashes_left_out
    )
