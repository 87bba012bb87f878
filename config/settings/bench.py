"""For `make bench`: production settings served over plain HTTP on loopback, plus the bare
reference view (config.bench_urls). Never deploy with these."""

import os

os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "False")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-not-for-any-server-0123456789")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
# Redis database 9 is the benchmark's: its broker queue and cache never meet the tests' or a demo's.
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/9")
# wrk reads the API's lists thousands of times a minute from one address with one token: the
# rate limits (docs/api.md) would answer 429 after the first 600. Still counted in the cache, as
# on a real server, only never reached.
os.environ.setdefault("API_RATE_PER_TOKEN", "100000000/minute")
os.environ.setdefault("API_RATE_PER_ADDRESS", "100000000/minute")

from .base import VAR_DIR, env  # noqa: E402
from .production import *  # noqa: E402, F403

DEBUG = False
SECURE_SSL_REDIRECT = False
ROOT_URLCONF = "config.bench_urls"
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=VAR_DIR / "bench-static")
# One log line per request from 2 workers under load would measure the terminal, not Django.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
