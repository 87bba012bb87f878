"""For someone trying the tracker on their own machine: `make run`."""

from .base import *  # noqa: F403
from .base import VAR_DIR, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# Mail goes to files a person can open instead of to a server.
EMAIL_BACKEND = env(
    "DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend"
)
EMAIL_FILE_PATH = env.path("EMAIL_FILE_PATH", default=VAR_DIR / "mail")
# The demo shows the public site: anonymous visitors read the public record (docs/public-site.md).
TRACKER_PUBLIC_SITE = env.bool("TRACKER_PUBLIC_SITE", default=True)
