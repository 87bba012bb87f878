"""Whole public pages kept for anonymous visitors, one copy shared by all of them
(docs/public-site.md, Caching).

A visitor's page of the public record is the same for every visitor who asks for it at the same
address, in the same language, on the same day: tracker.security already lets shared proxies
keep it. `kept_for_visitors` keeps it in the tracker's own cache as well, whole and as sent, so
that a site without a proxy in front (or a proxy's miss) costs one cache read and the loss
record's query instead of the page's reads and rendering (a commitment with 1,000 updates:
8 queries). The entry's key is the page's name, its path, its query string, the language, the
visitor's day (UTC) and TRACKER_SITE_URL (the "Cite this" lines); it is kept with the tokens of
the families the page is made of (core.caching) and served only while they stand, so a write to
anything the page shows makes the next visitor's page anew, and only while no invalidation is
recorded lost.

Kept only what every visitor gets alike, as tracker.security decides for proxies, and built for
a visitor, from the public record alone: a GET by an anonymous visitor without a session or a
message waiting, while the public site is on; answered 200 HTML in full, with no cookie set, no
CSRF token or CSP nonce asked for, nothing written to the session or added to the messages, no
Cache-Control of the view's own, and at an address whose query string is empty or the one its
view calls canonical (core.page_cache.query_canonical): junk in an address never grows the
cache. A logged-in reader never reads or fills these entries (core.page_cache keeps theirs).
"""

import hashlib
from functools import wraps

from django.conf import settings
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.http import HttpResponse
from django.utils.cache import set_response_etag
from django.utils.translation import get_language

from core import caching
from core.local_time import reader_today
from core.public_site import public_site_on

# What the view sets that a kept page is served with again (the middleware adds the rest, its
# Cache-Control and Vary among them); the ETag, so that it is not hashed again on every hit.
_KEPT_HEADERS = ("Content-Type", "ETag")


def _for_every_visitor(request) -> bool:
    session = getattr(request, "session", None)
    return (
        request.method in ("GET", "HEAD")
        and not request.user.is_authenticated
        and public_site_on()
        and (session is None or session.is_empty())
        and not len(get_messages(request))
    )


def _key(request, name: str) -> str:
    parts = (
        request.path,
        request.META.get("QUERY_STRING", ""),
        get_language(),
        reader_today(request.user),
        settings.TRACKER_SITE_URL,
    )
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()
    return f"tracker:visitor-page:{name}:{digest}"


def _may_keep(request, response) -> bool:
    session = getattr(request, "session", None)
    asked = request.META.get("QUERY_STRING", "")
    return (
        request.method == "GET"
        and response.status_code == 200
        and not response.streaming
        and response.get("Content-Type", "").startswith("text/html")
        and not response.cookies
        and not response.has_header("Cache-Control")
        and not response.has_header("Content-Disposition")
        and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
        and getattr(request, "_csp_nonce", None) is None
        and (session is None or (session.is_empty() and not session.modified))
        and not getattr(get_messages(request), "added_new", False)
        and asked in ("", getattr(request, "page_query_canonical", ""))
    )


def _kept(response) -> dict:
    set_response_etag(response)  # as ConditionalGetMiddleware would, once for every hit
    headers = [(name, response[name]) for name in _KEPT_HEADERS if response.has_header(name)]
    return {"body": response.content, "headers": headers}


def _served(entry: dict) -> HttpResponse:
    response = HttpResponse(entry["body"])
    for name, value in entry["headers"]:
        response[name] = value
    return response


def kept_for_visitors(name: str, *families: str):
    """Keep the view's pages for visitors, one copy for all, served while the families'
    tokens stay the same; readers who are logged in go straight to the view."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not _for_every_visitor(request):
                return view(request, *args, **kwargs)
            key = _key(request, name)
            entry, tokens = caching.entry_with_tokens(families, key)
            if entry is not None:
                return _served(entry)
            response = view(request, *args, **kwargs)
            if _may_keep(request, response):
                cache.set(key, (tokens, _kept(response)), settings.TRACKER_CACHE_TIMEOUT)
            return response

        return wrapper

    return decorator
