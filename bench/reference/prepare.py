"""Make the reference's database ready and print a logged-in session key for its one user.

    BENCH_REFERENCE_DATABASE_URL=postgres://... python -m bench.reference.prepare

Run in its own process by bench.run (one process can hold only one Django settings module).
The database is migrated, not rebuilt: it holds one user and the sessions of past runs.
"""

import os

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.reference.settings"

import django  # noqa: E402

django.setup()

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.core.management import call_command  # noqa: E402

USERNAME = "bench-reference"


def session_key() -> str:
    """A logged-in session written straight to the store, as bench.generator.session_for."""
    call_command("migrate", verbosity=0, interactive=False)
    user, _ = User.objects.get_or_create(username=USERNAME)
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


if __name__ == "__main__":
    print(session_key())
