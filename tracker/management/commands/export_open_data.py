"""`manage.py export_open_data DIR`: the public record as open data (docs/open-data.md)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tracker.open_data import OpenDataError, open_data_export


class Command(BaseCommand):
    help = (
        "Write the public record (documents, paragraphs, commitments, public status updates, "
        "milestones, actors, themes, public events) as CSV and JSON into the folder DIR, with "
        "datapackage.json, a README defining every field, and a zip of it all with its SHA-256. "
        "DIR must be new, empty, or an earlier bundle (replaced whole)."
    )

    def add_arguments(self, parser):
        parser.add_argument("dir", help="The folder to write the bundle into, e.g. open-data.")

    def handle(self, *args, dir, **options):
        try:
            manifest = open_data_export(target=Path(dir))
        except OpenDataError as error:
            raise CommandError(f"Cannot write the bundle: {error} Nothing was written.") from None
        for table, count in manifest["rows"].items():
            self.stdout.write(f"{count:>8}  {table}")
        self.stdout.write(f"{manifest['name']}  SHA-256 {manifest['sha256']}")
        self.stdout.write(self.style.SUCCESS(f"Wrote the open-data bundle into {dir}"))
