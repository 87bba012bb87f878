"""`manage.py import_document PATH`: bring an outcome document's text into the tracker."""

from django.core.management.base import BaseCommand, CommandError

from commitments.importers import DocumentImportError, document_import_file


class Command(BaseCommand):
    help = (
        "Import an outcome document from a UTF-8 text file: title, preamble and numbered "
        "paragraphs. Running it again on the same text changes nothing; a changed text is "
        "reported and applied."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="The document's text as a UTF-8 .txt file.")
        parser.add_argument(
            "--short-name",
            help="Slug the document is known by, e.g. ashgabat-2020. "
            "Default: place and year of adoption, read from the text; a text whose title "
            "differs from the recorded document of that default is refused until named here "
            "(the recorded short name to replace its text, a new one for another document).",
        )
        parser.add_argument("--source-url", default="", help="Where the text was published.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would change; write nothing."
        )

    def handle(self, *args, path, short_name, source_url, dry_run, **options):
        try:
            report = document_import_file(
                path=path, short_name=short_name, source_url=source_url, dry_run=dry_run
            )
        except DocumentImportError as error:
            raise CommandError(str(error)) from error
        style = self.style.SUCCESS if not report.up_to_date else self.style.NOTICE
        self.stdout.write(style(report.summary))
        for line in report.lines()[1:]:
            self.stdout.write(line)
