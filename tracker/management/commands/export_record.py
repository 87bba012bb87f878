"""`manage.py export_record PATH`: the whole record and its evidence files in one zip archive."""

from django.core.management.base import BaseCommand

from tracker.backup import backup_export


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
        summary = backup_export(destination=path, without_password_hashes=without_password_hashes)
        for label, count in summary.counts.items():
            self.stdout.write(f"{count:>8}  {label}")
        self.stdout.write(f"{summary.files:>8}  evidence files")
        for name in summary.missing_files:
            self.stderr.write(f"Missing from storage, not in the backup: {name}")
        self.stdout.write(self.style.SUCCESS(f"Wrote {path}"))
