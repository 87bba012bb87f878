"""`manage.py load_demo`: the demo record and accounts, for `make run` (see tracker.demo)."""

import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tracker.demo import DemoDataError, demo_load, demo_password_choose
from tracker.open_data import OpenDataError, open_data_publish


class Command(BaseCommand):
    help = (
        "Load the 2020 Ashgabat Final Document with its commitments and history, and the demo "
        "accounts secretariat, liaison and admin (password from DEMO_PASSWORD, else generated). "
        "Safe to run again: what exists is left alone, only the accounts' password is reset."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--accounts-file",
            type=Path,
            help="Also write the accounts and their password here (readable by you alone), "
            "for bin/run-local to show again once the server answers.",
        )

    def handle(self, *args, **options):
        password, generated = demo_password_choose(os.environ)
        if generated:
            self.stdout.write("DEMO_PASSWORD is not set: generated a password for this run.")
        try:
            lines = demo_load(password=password)
        except DemoDataError as error:
            raise CommandError(f"{error} Nothing was loaded.") from None
        for line in lines:
            self.stdout.write(line)
        self.open_data_publish()
        # `make run` sets TRACKER_SITE_URL from its HOST and PORT, so this is where it serves.
        self.stdout.write(self.style.SUCCESS(f"Open {settings.TRACKER_SITE_URL}/"))
        if options["accounts_file"]:
            accounts_write(options["accounts_file"], lines)

    def open_data_publish(self) -> None:
        """The Open data page's first bundle, so a newcomer can download one at once instead
        of waiting for the nightly task. The demo stands without it: a failure only warns."""
        try:
            manifest = open_data_publish()
        except OpenDataError as error:
            self.stderr.write(f"Open data: no bundle published ({error}).")
            return
        self.stdout.write(f"Open data: published {manifest['name']} ({settings.OPEN_DATA_DIR})")


def accounts_write(path: Path, lines: list[str]) -> None:
    """The "Accounts (password: ...)" line and the account lines below it."""
    start = next(n for n, line in enumerate(lines) if line.startswith("Accounts"))
    accounts = lines[start : start + 1]
    for line in lines[start + 1 :]:
        if not line.startswith("  "):
            break
        accounts.append(line)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)  # also when an older file was readable by others
    path.write_text("\n".join(accounts) + "\n")
