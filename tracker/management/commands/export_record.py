"""`manage.py export_record PATH`: the whole record and its evidence files in one zip archive."""

import os
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tracker.backup import BackupSummary, backup_export


class WriteError(Exception):
    """The archive cannot be written where it was asked for; the message says why."""


def archive_write(*, path: Path, without_password_hashes: bool) -> BackupSummary:
    """Write the archive beside `path` and rename it there once whole: a failed export leaves
    no half archive, and an older archive of that name stays until the new one replaces it.
    The file is readable by its owner only (it may hold password hashes)."""
    if path.is_dir():
        raise WriteError("it is a folder; give the archive's file name")
    try:
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 (renamed or removed below)
            dir=path.parent, prefix=f".{path.name}.", suffix=".part", delete=False
        )
    except OSError as error:
        raise WriteError(error.strerror or str(error)) from error
    try:
        with handle:
            summary = backup_export(
                destination=handle, without_password_hashes=without_password_hashes
            )
        try:
            os.replace(handle.name, path)
        except OSError as error:
            raise WriteError(error.strerror or str(error)) from error
    finally:
        Path(handle.name).unlink(missing_ok=True)  # gone already once renamed
    return summary


class Command(BaseCommand):
    help = (
        "Write the whole record (documents, paragraphs, actors, themes, commitments, their "
        "history with evidence links and files, events, subscriptions, the reminder log, the "
        "audit trail and the users with their roles) to a zip archive that import_record "
        "restores into an empty database."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="Where to write the archive, e.g. tracker-backup.zip.")
        parser.add_argument(
            "--without-password-hashes",
            action="store_true",
            help="Leave the password hashes out; after a restore every user must set a new one.",
        )

    def handle(self, *args, path, without_password_hashes, **options):
        try:
            summary = archive_write(
                path=Path(path), without_password_hashes=without_password_hashes
            )
        except WriteError as error:
            raise CommandError(
                f"Cannot write {path}: {error}. Nothing was written; give a path in a folder "
                "that exists and that you may write to."
            ) from None
        for label, count in summary.counts.items():
            self.stdout.write(f"{count:>8}  {label}")
        self.stdout.write(f"{summary.files:>8}  evidence files")
        for name in summary.missing_files:
            self.stderr.write(f"Missing from storage, not in the backup: {name}")
        self.stdout.write(self.style.SUCCESS(f"Wrote {path}"))
