"""Where a request comes from, and which responses may be kept by caches (docs/security.md).

client_address() is the one answer to "who sent this request" (core.addresses, so that the
record's downloads can limit visitors by it too): django-axes locks log-ins by (account, this
address) and the audit trail records it (tracker.audit.AuditMiddleware).
PrivateCacheMiddleware keeps the tracker's pages out of shared caches; ConditionalGetMiddleware
gives a page an ETag only when it can ever be answered with 304; ContentSecurityPolicyMiddleware
writes the settings' policy built once per process.
"""

from csp.constants import HEADER
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.middleware.http import ConditionalGetMiddleware as DjangoConditionalGetMiddleware
from django.utils.cache import patch_cache_control, patch_vary_headers

from core.addresses import client_address
from core.public_site import is_public_record, public_site_on

__all__ = [
    "ConditionalGetMiddleware",
    "ContentSecurityPolicyMiddleware",
    "PrivateCacheMiddleware",
    "client_address",
]


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


class ConditionalGetMiddleware(DjangoConditionalGetMiddleware):
    """Django's ETag and 304 Not Modified, without hashing a page that hands out a CSRF token,
    and with no Content-Length on a 304.

    Django masks the token anew each time a page asks for it (every logged-in page has one in
    its logout and language forms), so such a page is never the same twice and its ETag could
    never match: hashing it (85 KB for the dashboard, 0.13 ms a request) bought nothing. A
    response that sets the CSRF cookie is one that asked for the token (CsrfViewMiddleware sets
    it each time, inside this middleware). Pages without one keep their ETag and their 304: the
    public site's pages for visitors, the API's reads, the feeds.
    """

    def process_response(self, request, response):
        if settings.CSRF_COOKIE_NAME in response.cookies and not response.has_header("ETag"):
            response.csrf_token_in_page = True
        response = super().process_response(request, response)
        if response.status_code == 304:
            # A view's own 304 (the calendar feeds') got CommonMiddleware's Content-Length: 0,
            # which RFC 9110 (8.6) forbids: it would be the length of the body not sent.
            del response["Content-Length"]
        return response

    def needs_etag(self, response) -> bool:
        return not getattr(response, "csrf_token_in_page", False) and super().needs_etag(response)


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's, without building the same policy for every response.

    django-csp builds the header from settings.CONTENT_SECURITY_POLICY twice a response (the
    policy and the report-only one), about 5% of the CPU of the tracker's bare page (valgrind's
    instruction count, bench.floor). A response whose view changed nothing (no csp_update,
    csp_replace or csp_exempt, no nonce used) gets the same text each time: it is built once per
    settings object and reused. Anything else, and a report-only policy, goes through
    django-csp as before.
    """

    _built: tuple[object, str] | None = None

    def process_response(self, request, response):
        if not _takes_settings_policy(request, response):
            return super().process_response(request, response)
        excluded = settings.CONTENT_SECURITY_POLICY.get("EXCLUDE_URL_PREFIXES") or ()
        if HEADER not in response and not request.path_info.startswith(tuple(excluded)):
            response[HEADER] = self._settings_policy()
        # As django-csp: a nonce asked for after the header is written is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response

    def _settings_policy(self) -> str:
        # Kept with the settings' own object, so a changed setting (a test's) is built anew.
        policy = settings.CONTENT_SECURITY_POLICY
        if self._built is None or self._built[0] is not policy:
            self._built = (policy, build_policy())
        return self._built[1]


def _takes_settings_policy(request, response) -> bool:
    """Whether django-csp would write settings.CONTENT_SECURITY_POLICY as it is, and nothing
    report-only: no view's change, no exemption, no nonce, not a debug page it leaves alone."""
    return (
        bool(getattr(settings, "CONTENT_SECURITY_POLICY", None))
        and not getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
        and not (settings.DEBUG and response.status_code in (404, 500))
        and getattr(request, "_csp_nonce", None) is None
        and not getattr(response, "_csp_exempt", False)
        and all(
            getattr(response, name, None) is None
            for name in ("_csp_config", "_csp_update", "_csp_replace")
        )
    )
