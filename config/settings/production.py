"""For a server: a real secret, PostgreSQL, Redis, hashed static files, secure cookies.

Every variable below without a default must be set; REQUIRED_ENVIRONMENT names them, and
tests/test_deployment.py checks that list against this code and against docker-compose.yml.
"""

from .base import *  # noqa: F403
from .base import database_settings, env, replica_databases

REQUIRED_ENVIRONMENT = ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL")

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
DATABASES = replica_databases(
    {"default": database_settings(env.db("DATABASE_URL"), conn_max_age=60)}, conn_max_age=60
)

# A server's web, worker and beat talk through Redis (base.py builds the broker settings from
# it), never through files on one machine's disk: refuse to start without it.
REDIS_URL = env("REDIS_URL")

# Hashed names let browsers keep static files for a year; whitenoise serves them from gunicorn.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# TLS ends at the reverse proxy in front of gunicorn, which must set X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
LANGUAGE_COOKIE_SECURE = True
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
