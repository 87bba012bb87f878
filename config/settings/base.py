"""Settings shared by every environment; each value can be set from the environment.

docs/deployment.md ("Settings") lists every variable read here.
"""

import datetime
import hashlib
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# A `.env` file beside manage.py is read when present, so a deployment can keep its secrets there.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("DJANGO_SECRET_KEY", default="insecure-only-for-local-use-change-me")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # The public site's sitemap (tracker.sitemaps).
    "django.contrib.sitemaps",
    "django_filters",
    "django_tables2",
    "csp",
    "axes",
    "auditlog",
    # Two-factor authentication (tracker.two_factor): an authenticator app's codes (TOTP) and
    # recovery codes (static tokens).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    # The JSON API (the api app, docs/api.md) and its OpenAPI schema; Swagger UI's files from
    # the sidecar package, served by this site.
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",
    "tracker",
    "commitments",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # django-csp's, the settings' policy built once per process (tracker.security).
    "tracker.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # An ETag on every page and API read that can repeat (not one with a CSRF token, masked anew
    # each time: tracker.security), and 304 Not Modified when If-None-Match matches it.
    "tracker.security.ConditionalGetMiddleware",
    # Responses are private to their reader unless their view says otherwise (tracker.security).
    # Outside the session, CSRF and language middleware, so it sees every cookie they set or
    # delete (a stale session cookie is deleted on a public page); inside ConditionalGet, so a
    # 304 carries the same Cache-Control.
    "tracker.security.PrivateCacheMiddleware",
    # Django's, saving an unchanged session only when its expiry must slide (core.sessions).
    "core.sessions.SlidingSessionMiddleware",
    # English or Russian: the language switch's cookie, else the browser's Accept-Language.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A logged-in user's own language (tracker.language) wins over the cookie and the browser.
    "tracker.language.UserLanguageMiddleware",
    # A form too big to read: a page that says so (before the CSRF check reads it).
    "tracker.middleware.FormTooLargeMiddleware",
    # Changes made during a request are recorded in the audit trail under the request's user,
    # with the client's address (tracker.security.client_address).
    "tracker.audit.AuditMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # request.user.is_verified(): whether this session entered a two-factor code (django-otp).
    "django_otp.middleware.OTPMiddleware",
    # A session that owes a two-factor code, or a manager without a device, reaches only the
    # pages that settle it (tracker.two_factor.TwoFactorMiddleware).
    "tracker.two_factor.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a refused login of a locked-out account into its page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "core.public_site.public_site_context",
            ],
        },
    },
]


def _postgres(database: dict) -> bool:
    engine = database.get("ENGINE") or ""
    return "postgresql" in engine or "postgis" in engine


def database_settings(database: dict, *, conn_max_age: int) -> dict:
    """DATABASES["default"] from DATABASE_URL's parts (env.db)."""
    database["ATOMIC_REQUESTS"] = False
    database["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=conn_max_age)
    # A connection that died (PostgreSQL restarted) is replaced before the next request uses it.
    database["CONN_HEALTH_CHECKS"] = True
    if _postgres(database) and not env.bool("DATABASE_POSTGRES_JIT", default=False):
        # PostgreSQL's JIT compiles a query it estimates to be costly, which the table's sorts
        # over every commitment are: compiling took 0.6 s of a 0.8 s page at 20,000
        # commitments (EXPLAIN ANALYZE, make bench), for queries that run in milliseconds.
        # A jit setting given in DATABASE_URL's ?options= is left as it is.
        options = database.setdefault("OPTIONS", {})
        if "jit" not in options.get("options", ""):
            options["options"] = f"{options.get('options', '')} -c jit=off".strip()
    return database


# Seconds a connection to the read replica may take (replica_databases).
REPLICA_CONNECT_TIMEOUT = 2


def replica_databases(databases: dict, *, conn_max_age: int) -> dict:
    """DATABASES with the "replica" alias when DATABASE_REPLICA_URL names a PostgreSQL
    streaming standby of DATABASE_URL's server (core.replica); unset, exactly as given."""
    url = env("DATABASE_REPLICA_URL", default="")
    if not url:
        return databases
    try:
        replica = env.db_url_config(url)
    except Exception:  # django-environ raises whatever its parsing met
        replica = {}
    if not _postgres(replica):
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL must be the address of a PostgreSQL standby, like "
            "postgres://user@host:5432/tracker: pages check how far it has replayed the primary's "
            f"WAL before reading it (its scheme is {urlsplit(url).scheme or 'missing'!r})."
        )
    if not _postgres(databases["default"]):
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL needs DATABASE_URL to be PostgreSQL too (its streaming "
            "primary); unset DATABASE_REPLICA_URL to run on one database."
        )
    replica = database_settings(replica, conn_max_age=conn_max_age)
    # A standby that accepts connections but never answers (a stopped server, a proxy with
    # nothing behind it) fails the freshness gate after this long instead of holding the page
    # until the worker is killed, which would lose the process's back-off with it (core.replica).
    # A connect_timeout given in the URL is kept.
    replica.setdefault("OPTIONS", {}).setdefault("connect_timeout", REPLICA_CONNECT_TIMEOUT)
    return databases | {"replica": replica}


# SQLite in the project folder unless DATABASE_URL names another (PostgreSQL in production).
DATABASES = replica_databases(
    {
        "default": database_settings(
            env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"), conn_max_age=0
        )
    },
    conn_max_age=0,
)
if "replica" in DATABASES:
    # The record's pages read from the replica while it has replayed every write the cache
    # shows (core.replica); the middleware marks the requests that may.
    DATABASE_ROUTERS = ["core.replica.ReplicaRouter"]
    MIDDLEWARE.insert(
        MIDDLEWARE.index("core.sessions.SlidingSessionMiddleware"),
        "core.replica.ReplicaReadsMiddleware",
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Columns an index stores beside its keys (Commitment.Meta's, for the dashboard's counts read
# from indexes alone) are PostgreSQL's; SQLite makes the index without them and counts by the
# rows (commitments.deadlines.state_counts), so its warning says nothing to act on.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

AUTH_USER_MODEL = "tracker.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
# The interface's languages; documents stay in the language they were imported in.
LANGUAGES = [("en", "English"), ("ru", "Русский")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=VAR_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Evidence uploads live outside the code and are served only through a view that checks access.
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=VAR_DIR / "media")
MEDIA_URL = "/evidence-files/"

# Evidence uploads: what the secretariat may attach to a status update.
EVIDENCE_MAX_UPLOAD_BYTES = env.int("EVIDENCE_MAX_UPLOAD_BYTES", default=10 * 1024 * 1024)
EVIDENCE_ALLOWED_EXTENSIONS = env.list(
    "EVIDENCE_ALLOWED_EXTENSIONS",
    default=["pdf", "png", "jpg", "jpeg", "docx", "xlsx", "odt", "txt", "csv"],
)
# Longest status-update narrative, in characters: a longer one comes back in the form with a
# message (commitments.forms.StatusUpdateForm).
NARRATIVE_MAX_CHARACTERS = env.int("NARRATIVE_MAX_CHARACTERS", default=100_000)
# Largest form body read into memory, files aside (Django's default is 2.5 MB). Above it Django
# refuses the request before any view (the CSRF check reads the form), so it is kept well
# above what NARRATIVE_MAX_CHARACTERS allows: an overlong narrative, even pasted by mistake
# several megabytes long, reaches the form and returns with its text and a message.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=10 * 1024 * 1024)

# A target date or milestone due within this many days from today makes a commitment "due soon"
# (commitments.deadlines).
TRACKER_DUE_SOON_DAYS = env.int("TRACKER_DUE_SOON_DAYS", default=30)

# The calendar feeds list the events on at some day from this many months before today to this
# many years after it (tracker.calendar_feeds.calendar_window): a year back keeps last year's
# events and the deadlines just missed; five years ahead always holds the next five-yearly forum.
TRACKER_CALENDAR_PAST_MONTHS = env.int("TRACKER_CALENDAR_PAST_MONTHS", default=12)
TRACKER_CALENDAR_FUTURE_YEARS = env.int("TRACKER_CALENDAR_FUTURE_YEARS", default=5)
if not (0 <= TRACKER_CALENDAR_PAST_MONTHS <= 1200 and 1 <= TRACKER_CALENDAR_FUTURE_YEARS <= 100):
    raise ImproperlyConfigured(
        "TRACKER_CALENDAR_PAST_MONTHS must be 0 to 1200 and TRACKER_CALENDAR_FUTURE_YEARS 1 to "
        f"100 (they are {TRACKER_CALENDAR_PAST_MONTHS} and {TRACKER_CALENDAR_FUTURE_YEARS})."
    )

# The dashboard's aggregates and the calendar feeds are cached (core.caching) and forgotten
# on every write that changes them; the short timeout bounds what a missed write could cost.
# With REDIS_URL the cache is shared by all workers; without it each process keeps its own.
TRACKER_CACHE_TIMEOUT = env.int("TRACKER_CACHE_TIMEOUT", default=60)


# Redis's `databases` setting unless its configuration raises it.
REDIS_DEFAULT_DATABASES = 16


def cache_redis_url(redis_url: str) -> str:
    """REDIS_URL with the next database number (redis://host:6379/0 gives .../1): the cache's
    keys never mix with the broker's queues, and clearing it never empties them."""
    parts = urlsplit(redis_url)
    database = parts.path.strip("/") or "0"
    if parts.scheme not in ("redis", "rediss") or not database.isdigit():
        raise ImproperlyConfigured(
            f"REDIS_CACHE_URL is not set and cannot be derived from REDIS_URL {redis_url!r}: "
            "set REDIS_CACHE_URL to the cache's own Redis (redis://host:port/db)."
        )
    if int(database) + 1 >= REDIS_DEFAULT_DATABASES:
        # Redis refuses a database past its `databases` setting: every read would quietly
        # find nothing cached.
        raise ImproperlyConfigured(
            f"REDIS_URL {redis_url!r} names database {database}, the last of Redis's "
            f"{REDIS_DEFAULT_DATABASES}, so the cache cannot take the next one: use a lower "
            "database in REDIS_URL, or set REDIS_CACHE_URL to the cache's own Redis."
        )
    return urlunsplit(parts._replace(path=f"/{int(database) + 1}"))


# Its own Redis in production (docker-compose.yml: an instance that evicts, the broker's never
# does); else REDIS_URL's next database, which shares that instance's memory and policy.
REDIS_CACHE_URL = env("REDIS_CACHE_URL", default="") or (
    cache_redis_url(env("REDIS_URL")) if env("REDIS_URL", default="") else ""
)

# What the cache keeps is made by the code: objects pickled from its classes, pages rendered from
# its templates and catalogues. Keys carry a digest of that code (Django's cache VERSION), so a
# process never reads an entry written by another version of it, as during an upgrade, when old
# and new workers share Redis and a new field would be missing from an old entry.
CODE_FOLDERS = ("api", "commitments", "config", "core", "tracker", "templates", "locale")
CODE_SUFFIXES = frozenset({".py", ".html", ".txt", ".xml", ".mo"})


def code_digest(base: Path, folders=CODE_FOLDERS) -> str:
    """A digest of every code file under `folders` of `base`: names and contents."""
    digest = hashlib.blake2b(digest_size=8)
    for folder in folders:
        for path in sorted((base / folder).rglob("*")):
            if path.suffix in CODE_SUFFIXES and path.is_file():
                digest.update(str(path.relative_to(base)).encode() + b"\0")
                digest.update(path.read_bytes())
    return digest.hexdigest()


CODE_VERSION = env("TRACKER_CODE_VERSION", default="") or code_digest(BASE_DIR)
CACHES = {
    "default": (
        {
            "VERSION": CODE_VERSION,
            # Answers "not cached" when Redis is down; a hung Redis costs a request at most one
            # socket timeout, then is not called for CACHE_REDIS_BREAKER_SECONDS, and never
            # stops a save (core.cache_backends).
            "BACKEND": "core.cache_backends.ForgivingRedisCache",
            "LOCATION": REDIS_CACHE_URL,
            "OPTIONS": {
                "socket_timeout": env.float("CACHE_REDIS_SOCKET_TIMEOUT", default=0.5),
                "socket_connect_timeout": env.float("CACHE_REDIS_SOCKET_TIMEOUT", default=0.5),
                "breaker_seconds": env.float("CACHE_REDIS_BREAKER_SECONDS", default=10),
            },
        }
        if REDIS_CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "VERSION": CODE_VERSION}
    )
}

DJANGO_TABLES2_TEMPLATE = "django_tables2/table.html"
DJANGO_TABLES2_TABLE_ATTRS = {"class": "table"}

EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="127.0.0.1")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="tracker@localhost")

# Celery: with REDIS_URL set the broker is Redis; without it, messages are kept as files on the
# local disk so that `make run` needs no server. The database, not the broker, decides what is due.
REDIS_URL = env("REDIS_URL", default="")
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
CELERY_TIMEZONE = "UTC"

# A worker killed mid-task gives its message back (acks_late, reject_on_worker_lost) and takes
# one message at a time; still, the database rows are what make each reminder go out once
# (tracker.reminders), so a redelivered or duplicated message sends nothing twice.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Where the filesystem transport keeps its messages (only used without Redis).
CELERY_FILESYSTEM_FOLDER = Path(env("CELERY_FILESYSTEM_FOLDER", default=str(VAR_DIR / "celery")))


def celery_transport_options(broker_url: str, folder: Path) -> dict:
    """Folders for the filesystem transport; for Redis, a short visibility timeout so that a
    message held by a dead worker comes back within minutes, not the default hour."""
    if broker_url.startswith("filesystem"):
        queue = str(folder / "queue")
        return {
            "data_folder_in": queue,
            "data_folder_out": queue,
            "processed_folder": str(folder / "processed"),
            # Its exchange tables; by default a "control" folder in the working directory.
            "control_folder": str(folder / "control"),
            "store_processed": False,
        }
    return {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=300),
        # A hung Redis must not stall the dispatcher forever: a publish gives up after this, the
        # claimed rows are put back after REMINDER_CLAIM_TIMEOUT_SECONDS and sent later.
        "socket_timeout": env.int("CELERY_REDIS_SOCKET_TIMEOUT", default=10),
        "socket_connect_timeout": env.int("CELERY_REDIS_SOCKET_TIMEOUT", default=10),
    }


CELERY_BROKER_TRANSPORT_OPTIONS = celery_transport_options(
    CELERY_BROKER_URL, CELERY_FILESYSTEM_FOLDER
)
# Bulk import (commitments.bulk_import; docs/bulk-import.md): the most rows and bytes a file may
# have; how often beat looks for an import to apply (the page only marks it: it never publishes
# to the broker), and after how long an apply that stopped moving is taken over.
BULK_IMPORT_MAX_ROWS = env.int("BULK_IMPORT_MAX_ROWS", default=50_000)
BULK_IMPORT_MAX_UPLOAD_BYTES = env.int("BULK_IMPORT_MAX_UPLOAD_BYTES", default=20 * 1024 * 1024)
BULK_IMPORT_POLL_SECONDS = env.int("BULK_IMPORT_POLL_SECONDS", default=5)
BULK_IMPORT_STALL_SECONDS = env.int("BULK_IMPORT_STALL_SECONDS", default=300)

CELERY_BEAT_SCHEDULE = {
    "dispatch-reminders": {
        "task": "tracker.tasks.dispatch_reminders",
        "schedule": 60.0,
        # A run that waited in the queue past the next one is dropped: the next one does its work.
        "options": {"expires": 55},
    },
    "apply-bulk-imports": {
        "task": "commitments.tasks.apply_bulk_imports",
        "schedule": float(BULK_IMPORT_POLL_SECONDS),
        "options": {"expires": max(1, BULK_IMPORT_POLL_SECONDS - 1)},
    },
}

# Reminders (tracker.reminders; docs/reminders.md).
REMINDER_LOCAL_HOUR = env.int("REMINDER_LOCAL_HOUR", default=9)
REMINDER_STALE_REPEAT_DAYS = env.int("REMINDER_STALE_REPEAT_DAYS", default=30)
REMINDER_DIGEST_WEEKDAY = env.int("REMINDER_DIGEST_WEEKDAY", default=0)  # Monday
# Days before a milestone's due date its owner is reminded (target dates are deadline events,
# reminded with the event lead times).
REMINDER_MILESTONE_LEAD_DAYS = env.list("REMINDER_MILESTONE_LEAD_DAYS", cast=int, default=[7, 1])
# Days a commitment stays overdue before its supervisor is told (escalation).
TRACKER_ESCALATE_AFTER_DAYS = env.int("TRACKER_ESCALATE_AFTER_DAYS", default=30)
REMINDER_HORIZON_DAYS = env.int("REMINDER_HORIZON_DAYS", default=2)
# How far back a late run records, as skipped, the reminders an outage made useless (of an
# occurrence that passed meanwhile, nudges and digests superseded by a later one). A reminder
# still useful is planned and sent late however long ago it fell due (docs/reminders.md,
# "Catch-up after downtime").
REMINDER_CATCHUP_DAYS = env.int("REMINDER_CATCHUP_DAYS", default=7)
# Rows claimed per statement, and how many claimed rows may wait for a worker before the
# dispatcher stops claiming (tracker.reminders.reminders_claim): raise it with many workers.
REMINDER_BATCH_SIZE = env.int("REMINDER_BATCH_SIZE", default=1000)
# A dispatcher run claims batch after batch for up to this long; the next run goes on from there.
REMINDER_DISPATCH_SECONDS = env.int("REMINDER_DISPATCH_SECONDS", default=40)
# Reminders one send task sends over one SMTP connection; each task pays for its Celery
# message, its connection and its rows' query, spread over more reminders by a bigger chunk.
REMINDER_SEND_CHUNK_SIZE = env.int("REMINDER_SEND_CHUNK_SIZE", default=200)
# Rows of a chunk moved to `sending` in one UPDATE; each is still marked `sent` on its own. A
# group's move, its readers' check (what they may see) and its wait for the disk are paid once
# per group: 10 cost a worker 0.25 ms of CPU a message more than 50, and PostgreSQL 0.2 ms.
REMINDER_SEND_GROUP_SIZE = env.int("REMINDER_SEND_GROUP_SIZE", default=50)
# Longer than EMAIL_TIMEOUT and REMINDER_RETRY_BACKOFF_MAX, or a slow send would look dead;
# a send group stops starting SMTP calls after half of it (tracker.reminders._sending_budget).
REMINDER_CLAIM_TIMEOUT_SECONDS = env.int("REMINDER_CLAIM_TIMEOUT_SECONDS", default=600)
REMINDER_MAX_RETRIES = env.int("REMINDER_MAX_RETRIES", default=5)
REMINDER_RETRY_BACKOFF = env.int("REMINDER_RETRY_BACKOFF", default=30)
REMINDER_RETRY_BACKOFF_MAX = env.int("REMINDER_RETRY_BACKOFF_MAX", default=300)
# A send task whose database connection is lost (a PostgreSQL restart) retries its marks on a
# new connection for up to this long, so a delivered reminder is marked sent, never resent.
REMINDER_DB_RETRY_SECONDS = env.int("REMINDER_DB_RETRY_SECONDS", default=60)
# Each worker process holding reminders updates its heartbeat row this often; rows held by a
# process whose heartbeat is older than the stale limit go back in the queue (tracker.workers).
# Keep the stale limit above REMINDER_DB_RETRY_SECONDS: a database away for longer makes every
# worker look dead.
REMINDER_HEARTBEAT_SECONDS = env.int("REMINDER_HEARTBEAT_SECONDS", default=10)
REMINDER_HEARTBEAT_STALE_SECONDS = env.int("REMINDER_HEARTBEAT_STALE_SECONDS", default=90)
# Links in emails (unsubscribe, the event's page) start with this.
TRACKER_SITE_URL = env("TRACKER_SITE_URL", default="http://127.0.0.1:8000")

# --- The open record (docs/public-site.md, docs/api.md) -------------------------------------
# On: anonymous visitors read the public record (documents, commitments with their public
# updates, actors, public events, feeds, the API's reads, the open-data bundle), exactly as a
# liaison sees it without their state's internal events. Off: every page needs a login.
# `make run`'s demo turns it on (config.settings.local).
TRACKER_PUBLIC_SITE = env.bool("TRACKER_PUBLIC_SITE", default=False)
# How long (seconds) a shared proxy or a browser may keep a public page for anonymous visitors
# before asking again (tracker.security.PrivateCacheMiddleware, docs/public-site.md#caching).
TRACKER_PUBLIC_MAX_AGE = env.int("TRACKER_PUBLIC_MAX_AGE", default=300)
# The table's exports and PDF reports an anonymous visitor may start per minute, per client
# address (core.public_downloads, docs/public-site.md#downloads); 0 turns the limit off.
TRACKER_PUBLIC_DOWNLOADS_PER_MINUTE = env.int("TRACKER_PUBLIC_DOWNLOADS_PER_MINUTE", default=10)

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # JSON only, a body nested too deeply refused as 400 rather than a 500 (api.parsers).
    "DEFAULT_PARSER_CLASSES": ["api.parsers.NestingLimitedJSONParser"],
    # The pages' rules (api.permissions): the public record read, writes the secretariat's.
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.RecordPermission"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # A personal API token first (api.authentication: 401 with a Bearer challenge when there
    # is none), then the logged-in browser's session (with its CSRF check on writes); never
    # Basic, which would take a password past the log-in page's lockout and two-factor step.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiTokenAuthentication",
        "api.authentication.VerifiedSessionAuthentication",
    ],
    # Rate limits (api.throttling; docs/api.md#rate-limits): per person logged in (their tokens
    # and session together) and per client address for anonymous readers; a 429 says when.
    "DEFAULT_THROTTLE_CLASSES": [
        "api.throttling.PersonRateThrottle",
        "api.throttling.AddressRateThrottle",
    ],
    # Errors in JSON: a refused CSRF check explained, a 429 with Retry-After (api.exceptions).
    "EXCEPTION_HANDLER": "api.exceptions.api_exception_handler",
}
# The open-data bundle (tracker.open_data, docs/open-data.md): the nightly task writes the latest
# into OPEN_DATA_DIR at OPEN_DATA_HOUR:00 UTC and keeps the latest OPEN_DATA_KEEP dated zips; the
# licence is the one the bundle's datapackage.json and README state.
OPEN_DATA_DIR = env.path("OPEN_DATA_DIR", default=VAR_DIR / "open-data")
OPEN_DATA_HOUR = env.int("OPEN_DATA_HOUR", default=2)
OPEN_DATA_KEEP = env.int("OPEN_DATA_KEEP", default=7)
OPEN_DATA_LICENSE = env("OPEN_DATA_LICENSE", default="CC-BY-4.0")
OPEN_DATA_LICENSE_URL = env(
    "OPEN_DATA_LICENSE_URL", default="https://creativecommons.org/licenses/by/4.0/"
)
CELERY_BEAT_SCHEDULE["publish-open-data"] = {
    "task": "tracker.tasks.publish_open_data",
    "schedule": crontab(minute=0, hour=OPEN_DATA_HOUR),
    # A run that waited past the next hour is dropped: the next night's writes a fresh bundle.
    "options": {"expires": 60 * 60},
}

# Requests allowed per API token, and per client address for anonymous API readers, as
# "<number>/<second|minute|hour|day>".
API_RATE_PER_TOKEN = env("API_RATE_PER_TOKEN", default="600/minute")
API_RATE_PER_ADDRESS = env("API_RATE_PER_ADDRESS", default="120/minute")
SPECTACULAR_SETTINGS = {
    "TITLE": "Commitment tracker API",
    "DESCRIPTION": (
        "The record of what international outcome documents promised: documents, paragraphs, "
        "commitments, status updates, milestones, actors, themes and events (docs/api.md)."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Three models have a "kind" of their own: each its own named enum in the schema.
    "ENUM_NAME_OVERRIDES": {
        "ActorKindEnum": "commitments.models.Actor.Kind",
        "CommitmentKindEnum": "commitments.models.Commitment.Kind",
        "EventKindEnum": "tracker.models.Event.Kind",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
}

# --- Security (docs/security.md) -----------------------------------------------------------
# How many reverse proxies in front of gunicorn each append the address they were connected
# from to X-Forwarded-For. The client's address (tracker.security.client_address, for log-in
# lockouts and the audit trail) is read that many entries from the right; 0 ignores the header.
# Too high a count lets a client choose its own address; too low locks everyone behind a proxy.
TRACKER_TRUSTED_PROXY_COUNT = env.int("TRACKER_TRUSTED_PROXY_COUNT", default=0)

AUTHENTICATION_BACKENDS = [
    # Refuses a login while the account is locked out from this address; ModelBackend checks
    # the password, and treats a disabled account as logged out on its next request (Django's,
    # reading the user of every request with a statement compiled once: core.sessions, which
    # reads sessions made before it, naming Django's ModelBackend, as naming it).
    "axes.backends.AxesStandaloneBackend",
    "core.sessions.ModelBackend",
]
# The lock is on the pair (account, address), not the account alone, and ends by itself after
# the cool-off: someone guessing passwords cannot lock a liaison out of their own office.
# Log-ins and failures are kept in axes' AccessLog and AccessFailureLog tables (the admin shows
# them); its log line for every attempt would only clutter each command's output.
AXES_VERBOSE = False
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "tracker.security.client_address"
AXES_RESET_ON_SUCCESS = True
# Further failures during a lock do not push its end back, so the cool-off always ends.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

# Two-factor authentication (tracker.two_factor; docs/security.md). Required of secretariat
# managers and superusers unless turned off here (a deployment that signs in elsewhere).
TRACKER_TWO_FACTOR_REQUIRED = env.bool("TRACKER_TWO_FACTOR_REQUIRED", default=True)
# The name authenticator apps show beside the account.
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", default="Commitment tracker")
# A wrong code locks the device for 1, 2, 4, 8... seconds (django-otp's throttling).
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1
# The admin lists devices without their secrets.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# A session ends after this many seconds without a request; a request starts the count anew
# (to within SESSION_REFRESH_SECONDS below).
SESSION_COOKIE_AGE = env.int("DJANGO_SESSION_COOKIE_AGE", default=60 * 60)
# Not saved on every request: core.sessions saves an unchanged session when its expiry was last
# moved more than this many seconds ago, so it ends 0-60 s before SESSION_COOKIE_AGE of idleness.
SESSION_ENGINE = "core.sessions"
SESSION_REFRESH_SECONDS = env.int("DJANGO_SESSION_REFRESH_SECONDS", default=60)
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True  # no page script reads it: forms carry the token
# The language switch's cookie (tracker.language): no script reads it either, and it is sent
# on top-level navigation only; production.py makes it Secure like the session cookie.
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
# A refused form gets a page in the reader's language saying how to go on, not Django's bare one.
CSRF_FAILURE_VIEW = "tracker.error_views.csrf_failure"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Pages load only their own scripts, styles, images and fonts: no inline code or style
# attribute, nothing from elsewhere, and no other site may frame them.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "base-uri": [NONE],
        "object-src": [NONE],
        "frame-ancestors": [NONE],
    }
}

# The audit trail (tracker.audit): who changed what, when, with old and new values; every
# model the tracker writes, with its many-to-many fields. A commitment's status and progress
# are copies of its latest update, written without a save: commitments.services records them.
# A model listed here needs its fields' names in tracker.audit.FIELD_LABELS (tests check).
AUDITLOG_INCLUDE_TRACKING_MODELS = (
    # The full text is a copy of the file (up to 5 MB): the trail says it changed, via the
    # paragraphs and the preamble, without keeping two copies of it per import.
    {"model": "commitments.Document", "exclude_fields": ["full_text", "updated_at"]},
    {"model": "commitments.Paragraph"},
    {"model": "commitments.DocumentLink"},
    # The rows that point at a commitment or an update one to one (its deadline event, the
    # update that amends it, the report it published) are theirs, not its fields: django-auditlog
    # would read each (a query) to record a new commitment or update, and find none.
    {
        "model": "commitments.Commitment",
        "m2m_fields": ["paragraphs", "lead_actors", "supporting_actors", "themes"],
        "exclude_fields": ["deadline_event"],
    },
    {"model": "commitments.StatusUpdate", "exclude_fields": ["amended_by", "submitted_report"]},
    {"model": "commitments.EvidenceLink"},
    {"model": "commitments.EvidenceFile"},
    {"model": "commitments.Milestone"},
    {"model": "commitments.CommitmentRelation"},
    {"model": "commitments.Actor"},
    {"model": "commitments.Theme"},
    # Reports from states and contributors (commitments.submissions) and their conversations.
    {"model": "commitments.SubmittedReport"},
    {"model": "commitments.ReportLink"},
    {"model": "commitments.ReportFile"},
    {"model": "commitments.ReportComment"},
    {"model": "tracker.Event", "m2m_fields": ["commitments", "paragraphs"]},
    {
        "model": "tracker.User",
        "include_fields": ["role", "actor", "is_active", "is_staff", "is_superuser"],
        # Whether they manage accounts (core.roles.MANAGE_ACCOUNTS), given on the accounts page.
        "m2m_fields": ["user_permissions"],
    },
    # What people follow, each public change and each person's notice of it.
    {"model": "tracker.Follow"},
    {"model": "tracker.Change"},
    {"model": "tracker.Notification"},
    # Only a hash of the link's secret is stored, and it says nothing to a reader.
    {"model": "tracker.Invitation", "exclude_fields": ["token_hash"]},
    # API tokens made and revoked; the token itself is stored nowhere, its digest says nothing
    # to a reader, and the minute of last use is not a change anyone made.
    {"model": "tracker.ApiToken", "exclude_fields": ["digest", "last_used_at"]},
)
AUDITLOG_USE_FK_STRING_REPRESENTATION = True

# Accounts (tracker.accounts; docs/accounts.md): how long an invitation's link and an email
# change's confirmation link work.
TRACKER_INVITATION_DAYS = env.int("TRACKER_INVITATION_DAYS", default=7)
TRACKER_EMAIL_CHANGE_DAYS = env.int("TRACKER_EMAIL_CHANGE_DAYS", default=2)
# Django's password reset links work this long (3 days is Django's default).
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3 * 24 * 60 * 60)
