"""For someone trying the tracker on their own machine: `make run`."""

import hashlib

from .base import *  # noqa: F403
from .base import CODE_VERSION, DATABASES, REDIS_CACHE_URL, VAR_DIR, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# Mail goes to files a person can open instead of to a server.
EMAIL_BACKEND = env(
    "DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend"
)
EMAIL_FILE_PATH = env.path("EMAIL_FILE_PATH", default=VAR_DIR / "mail")
# The demo shows the public site: anonymous visitors read the public record (docs/public-site.md).
TRACKER_PUBLIC_SITE = env.bool("TRACKER_PUBLIC_SITE", default=True)

# Without Redis the web app, the Celery worker and beat share one cache in files: each kept its
# own in memory before, so the web app served pages from before a write the worker made (an
# applied bulk import, a reminder marked sent) until their timeout. bin/run-local empties it
# at each start, as a restart emptied the memory: a run never serves what an earlier one kept.
# Its keys name the database, so a server started on another one never reads them.
if not REDIS_CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": env.path("TRACKER_LOCAL_CACHE_DIR", default=VAR_DIR / "cache"),
            "VERSION": CODE_VERSION,
            "KEY_PREFIX": hashlib.blake2b(
                str(DATABASES["default"]["NAME"]).encode(), digest_size=8
            ).hexdigest(),
            "OPTIONS": {"MAX_ENTRIES": 10_000},
        }
    }
