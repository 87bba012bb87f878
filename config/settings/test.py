"""For the test suite (`make test`). DATABASE_URL and REDIS_URL still apply: CI uses PostgreSQL."""

import os
import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import CELERY_BROKER_URL, DATABASES, MIDDLEWARE, VAR_DIR, celery_transport_options

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MEDIA_ROOT = VAR_DIR / "test-media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Static files are served by the test client from the app folders, not from a collected root.
WHITENOISE_AUTOREFRESH = True

# A DATABASE_REPLICA_URL in the environment names a developer's own standby: the test database
# is not on it (and a standby takes no writes to make one). Tests that read a replica set up
# their own (tests/core/test_replica.py, tests/reliability/test_read_replica.py).
DATABASES.pop("replica", None)
DATABASE_ROUTERS = []
MIDDLEWARE = [name for name in MIDDLEWARE if name != "core.replica.ReplicaReadsMiddleware"]

# The reminder tests start a real Celery worker in another process. On SQLite it must be able
# to open the test database, so that is a file (in memory it would be private to this process),
# one per test run so that runs side by side do not share it; so is the filesystem broker.
VAR_DIR.mkdir(exist_ok=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")}
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 30
CELERY_FILESYSTEM_FOLDER = Path(tempfile.gettempdir()) / f"tracker-celery-test-{os.getpid()}"
# Published open-data bundles (tests/site_urls.World writes one), one folder per test run.
OPEN_DATA_DIR = Path(tempfile.gettempdir()) / f"tracker-open-data-test-{os.getpid()}"
CELERY_BROKER_TRANSPORT_OPTIONS = celery_transport_options(
    CELERY_BROKER_URL, CELERY_FILESYSTEM_FOLDER
)

# Each test starts with an empty cache (tests/conftest.py clears it): a process-local one, so
# that clearing it never empties a Redis database the broker or another run is using.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
