"""`manage.py export_open_data DIR`: the public record as open data (docs/open-data.md)."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tracker.open_data import OpenDataError, open_data_export, open_data_publish


class Command(BaseCommand):
    help = (
        "Write the public record (documents, paragraphs, commitments, public status updates, "
        "milestones, actors, themes, public events) as CSV and JSON into the folder DIR, with "
        "datapackage.json, a README defining every field, and a zip of it all with its SHA-256. "
        "DIR must be new, empty, or an earlier bundle (replaced whole). With --publish instead "
        "of DIR: publish the latest bundle on the open-data page, as the nightly task does."
    )

    def add_arguments(self, parser):
        parser.add_argument("dir", nargs="?", help="The folder to write the bundle into.")
        parser.add_argument(
            "--publish",
            action="store_true",
            help="Publish the zip into OPEN_DATA_DIR for the open-data page (no DIR then).",
        )

    def handle(self, *args, dir, publish, **options):
        if bool(dir) == publish:
            raise CommandError("Give either the folder DIR to write into, or --publish.")
        try:
            manifest = open_data_publish() if publish else open_data_export(target=Path(dir))
        except OpenDataError as error:
            raise CommandError(f"Cannot write the bundle: {error} Nothing was written.") from None
        for table, count in manifest["rows"].items():
            self.stdout.write(f"{count:>8}  {table}")
        self.stdout.write(f"{manifest['name']}  SHA-256 {manifest['sha256']}")
        where = settings.OPEN_DATA_DIR if publish else dir
        self.stdout.write(self.style.SUCCESS(f"Wrote the open-data bundle into {where}"))
