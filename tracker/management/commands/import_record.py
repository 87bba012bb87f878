"""`manage.py import_record PATH`: restore an export_record archive into an empty database."""

from django.core.management.base import BaseCommand, CommandError

from tracker.backup import BackupError, backup_restore


class Command(BaseCommand):
    help = (
        "Restore an archive made by export_record into an EMPTY database (after `migrate`), "
        "in one transaction: either everything is restored or nothing is."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="The archive made by export_record.")

    def handle(self, *args, path, **options):
        try:
            with open(path, "rb") as source:
                summary = backup_restore(source=source)
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror or error}.") from None
        except BackupError as error:
            # One line, whatever the archive quoted into it.
            raise CommandError(" ".join(str(error).split())) from None
        for label, count in summary.counts.items():
            self.stdout.write(f"{count:>8}  {label}")
        self.stdout.write(f"{summary.files:>8}  evidence files")
        if summary.without_password_hashes:
            self.stdout.write(
                "The backup has no passwords: each user needs a new one "
                "(`manage.py changepassword USERNAME`) before logging in."
            )
        self.stdout.write(self.style.SUCCESS(f"Restored {path}"))
