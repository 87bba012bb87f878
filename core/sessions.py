"""Sessions that slide without a write on every request.

The idle timeout (SESSION_COOKIE_AGE, sliding: docs/security.md#sessions) used to be kept by
saving the session on every request (SESSION_SAVE_EVERY_REQUEST): BEGIN, UPDATE, COMMIT before
any page started, and half of the tracker's bare view's time (docs/performance.md). Now a
session is saved when it changed, as Django does anyway, or when its expiry was last moved more
than SESSION_REFRESH_SECONDS ago. A session therefore ends between SESSION_COOKIE_AGE minus
that interval and SESSION_COOKIE_AGE after its last request, instead of exactly at the latter.

Why not a cache-backed store: the session row in the database is what logout, a password change
and deactivation act on at once (logout deletes it; the user row is read on every request),
and a cached copy could outlive a lost cache invalidation (core.caching's breaker).
"""

import datetime
import logging
import re

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, backends, get_user_model
from django.contrib.sessions.backends import db
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.exceptions import SuspiciousOperation
from django.utils import timezone

from core.compiled import CompiledRead

# The two reads every logged-in request makes before its view, the same SQL as Django's,
# compiled once per connection (core.compiled; docs/performance-work.md, "The per-request
# floor": the ORM's building of these two queries was most of what the tracker's bare view
# paid over Django's own).
SESSION_ROW = CompiledRead(
    lambda: SessionStore.get_model_class().objects, "session_key", "expire_date__gt"
)
USER_ROW = CompiledRead(lambda: get_user_model()._default_manager, "pk")


# Sessions made before core.sessions.ModelBackend name Django's; each is read as naming this
# one, so it goes on as it was (not left logged out with its data, two-factor mark included).
FORMER_BACKEND = "django.contrib.auth.backends.ModelBackend"
BACKEND = "core.sessions.ModelBackend"
# A key Django makes: lower-case letters and digits (get_random_string, VALID_KEY_CHARS). Any
# other cookie is no session; a NUL in it made PostgreSQL's driver raise (a 500) before.
SESSION_KEY_FORM = re.compile(r"[a-z0-9]+")


class SessionStore(db.SessionStore):
    """Django's database sessions, remembering the expiry the row had when it was read."""

    stored_expiry: datetime.datetime | None = None

    def load(self):
        data = super().load()
        if data.get(BACKEND_SESSION_KEY) == FORMER_BACKEND:
            data[BACKEND_SESSION_KEY] = BACKEND
        return data

    def _get_session_from_db(self):
        """Django's read of the session's row (a live one: not expired), compiled once."""
        if not SESSION_KEY_FORM.fullmatch(self.session_key or ""):
            self._session_key = None
            self.stored_expiry = None
            return None
        try:
            session = SESSION_ROW.first(
                session_key=self.session_key, expire_date__gt=timezone.now()
            )
        except SuspiciousOperation as error:
            logging.getLogger(f"django.security.{error.__class__.__name__}").warning(str(error))
            session = None
        if session is None:
            self._session_key = None
        self.stored_expiry = session.expire_date if session else None
        return session


class ModelBackend(backends.ModelBackend):
    """Django's ModelBackend, reading a logged-in request's user with a compiled read."""

    def get_user(self, user_id):
        user = USER_ROW.first(pk=user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


def session_expiry_stale(session) -> bool:
    """Whether this session's expiry was last moved more than SESSION_REFRESH_SECONDS ago."""
    stored = getattr(session, "stored_expiry", None)
    if stored is None or session.get_expire_at_browser_close():
        return False  # a new session is saved as modified; a browser-close one never slides
    moved_at = stored - datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    return timezone.now() - moved_at > datetime.timedelta(seconds=settings.SESSION_REFRESH_SECONDS)


class SlidingSessionMiddleware(SessionMiddleware):
    """SessionMiddleware that saves an unchanged session only when its expiry must slide
    (used instead of SESSION_SAVE_EVERY_REQUEST: config.settings.base)."""

    @staticmethod
    def expiry_must_slide(session) -> bool:
        used = session.accessed and not session.is_empty()
        return used and not session.modified and session_expiry_stale(session)

    def process_response(self, request, response):
        session = getattr(request, "session", None)
        if session is not None and self.expiry_must_slide(session):
            session.modified = True  # SessionMiddleware saves it and renews the cookie
        return super().process_response(request, response)
