"""Where a request comes from, and which responses may be kept by caches (docs/security.md).

client_address() is the one answer to "who sent this request" (core.addresses, so that the
record's downloads can limit visitors by it too): django-axes locks log-ins by (account, this
address) and the audit trail records it (tracker.audit.AuditMiddleware).
PrivateCacheMiddleware keeps the tracker's pages out of shared caches.
"""

from django.conf import settings
from django.utils.cache import patch_cache_control, patch_vary_headers

from core.addresses import client_address
from core.public_site import is_public_record, public_site_on

__all__ = ["PrivateCacheMiddleware", "client_address"]


class PrivateCacheMiddleware:
    """Keep what the tracker serves to a person out of shared caches and off disks.

    A response whose view set no Cache-Control gets `private, no-cache`: a browser may keep it but
    asks again before showing it, and no proxy keeps it. A logged-in user's response is private
    whatever its view said, and varies with the session cookie. A file handed over (Content-
    Disposition: exports, the PDF report, evidence files) is never stored. Static files are
    served by whitenoise before this middleware and keep their own long cache.

    The one exception: a page of the public record read by an anonymous visitor while the
    public site is on (core.public_site) is `public, max-age=TRACKER_PUBLIC_MAX_AGE`, so a shared
    proxy may serve it to every visitor; it varies with the language (Accept-Language, the
    language cookie) and with Cookie, as a logged-in reader's session cookie asks for their own.
    Only when nothing on it is personal: no CSRF token asked for, no session, and no cookie set
    or deleted. It stands outside the session, CSRF and language middleware
    (config.settings.base MIDDLEWARE) so that response.cookies holds every cookie they set: a
    stale session cookie, deleted in the answer, makes it private like any other cookie.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def process_view(self, request, view_func, view_args, view_kwargs):
        request.public_record_page = is_public_record(view_func)

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        logged_in = user is not None and user.is_authenticated
        if not logged_in and _shared_with_every_visitor(request, response):
            patch_cache_control(response, public=True, max_age=settings.TRACKER_PUBLIC_MAX_AGE)
            patch_vary_headers(response, ["Accept-Language", "Cookie"])
        elif response.has_header("Content-Disposition"):
            patch_cache_control(response, private=True, no_store=True)
        elif not response.has_header("Cache-Control"):
            patch_cache_control(response, private=True, no_cache=True)
        elif logged_in:
            patch_cache_control(response, private=True)
        if logged_in:
            patch_vary_headers(response, ["Cookie"])
        return response


def _shared_with_every_visitor(request, response) -> bool:
    """Whether an anonymous visitor's response is a public page every visitor gets alike: a
    read of a page marked public_record, answered in full, with the public site on, and
    nothing personal in it or with it (a CSRF token, a cookie, a session, a file handed over)."""
    session = getattr(request, "session", None)
    return (
        getattr(request, "public_record_page", False)
        and public_site_on()
        and request.method in ("GET", "HEAD")
        and response.status_code == 200
        and not response.has_header("Cache-Control")
        and not response.has_header("Content-Disposition")
        and not response.cookies
        and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
        and (session is None or session.is_empty())
    )
