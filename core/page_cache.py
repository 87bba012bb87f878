"""Whole logged-in pages kept as rendered, per reader (docs/performance.md, Caching).

A cached page still paid for its chrome on every request: base.html's menu, links and
translations, about a third of its time. `cached_page` keeps the whole response body of a read
for one reader, and serves it with only what must be new each time put in: the CSRF token (asked
for with get_token, so its cookie is handled as on any page) and the CSP nonce, if the page used
one. The entry's key holds everything the page shows that could differ from one request to the
next without a record write:
- the reader: their pk and a digest of their whole user row (name, role, state, language, time
  zone, unread notifications, staff flag...), which the session's user read brings anyway;
- the address (path and query string as asked), the language and the reader's day;
and it is kept with the tokens of the families the page is made from (core.caching), plus the
reader's own family (`caching.reader_family`: their follows), and the loss record is read as for
every cached part. Two readers never share an entry, so an entry can never show anyone what
another may see.

Not kept or served: a request that is not a GET, from a visitor (the public site has its own
shared caching, docs/public-site.md), with messages waiting to be shown; a response that is not
a 200 HTML page, sets a cookie, or added messages; an address with a query string its view did
not call canonical (`query_canonical`), so junk in an address or a free-text search never grows
the cache. A two-factor step owed is settled by tracker.two_factor's middleware before any view.
"""

import hashlib
import re
from functools import cache as cache_for_process
from functools import wraps

from django.conf import settings
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.utils.functional import LazyObject
from django.utils.translation import get_language

from core import caching
from core.local_time import reader_today

CSRF_HOLE = b"@@tracker-page-csrf-token@@"
NONCE_HOLE = b"@@tracker-page-csp-nonce@@"
# How Django's {% csrf_token %} (and tracker/_follow_button.html) write the masked token.
_CSRF_FIELD = re.compile(rb'(name="csrfmiddlewaretoken" value=")[A-Za-z0-9]{64}(")')
_HOLES = re.compile(b"(" + re.escape(CSRF_HOLE) + b"|" + re.escape(NONCE_HOLE) + b")")
# The entry holds the response's bytes as sent, cut at its holes (a hole at every odd place):
# kept as one text, a hit decoded it from the cache, searched it three times for the holes
# and encoded it again, each pass over the whole page (80, 110 and more µs for a state's 106
# KB page; one em dash makes Python hold it two bytes a character). Part of the key, so an
# entry kept in an older form is never read as this one.
ENTRY_FORMAT = "bytes cut at holes"
# Headers the view sets that the kept page is served with again (middleware adds the rest).
_KEPT_HEADERS = ("Content-Type", "Content-Language", "Vary")


def query_canonical(request, canonical: str) -> None:
    """The query string the view reads the page from, written its one way: the page is kept only
    when the address asked for is exactly that (not a variant that parses the same, with extra
    "&" or %-escapes, each of which would be a key of its own). Without this, only an address
    without a query string is kept."""
    request.page_query_canonical = canonical


def reader_digest(user) -> str:
    """A digest of every value on the reader's row: any change to it makes a new key."""
    row = vars(_unwrapped(user))
    values = tuple(row.get(name) for name in _row_names(user._meta.concrete_model))
    return hashlib.blake2b(repr(values).encode(), digest_size=16).hexdigest()


def _unwrapped(user):
    """The user itself: request.user is a lazy proxy (Django's), of a lazy proxy (django-otp's)."""
    user.pk  # noqa: B018 (sets up every proxy in the chain)
    while isinstance(user, LazyObject):
        user = user._wrapped
    return user


@cache_for_process
def _row_names(model) -> tuple[str, ...]:
    return tuple(field.attname for field in model._meta.concrete_fields)


def _key(request, name: str) -> str:
    user = request.user
    parts = (
        name,
        request.path,
        request.META.get("QUERY_STRING", ""),
        get_language(),
        reader_today(user),
        reader_digest(user),
        ENTRY_FORMAT,
    )
    address = hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()
    return f"tracker:page:{user.pk}:{address}"


def _may_use(request) -> bool:
    return (
        request.method == "GET" and request.user.is_authenticated and not len(get_messages(request))
    )


def _may_keep(request, response) -> bool:
    asked = request.META.get("QUERY_STRING", "")
    return (
        response.status_code == 200
        and not response.streaming
        and response.get("Content-Type", "").startswith("text/html")
        and not response.cookies
        and not response.has_header("Content-Disposition")
        and not getattr(get_messages(request), "added_new", False)
        and asked in ("", getattr(request, "page_query_canonical", ""))
    )


def _served(request, entry: dict) -> HttpResponse:
    parts = entry["parts"]
    if len(parts) > 1:
        holes = set(parts[1::2])
        token = get_token(request).encode() if CSRF_HOLE in holes else b""
        nonce = str(request.csp_nonce).encode() if NONCE_HOLE in holes else b""
        parts = parts.copy()
        for place in range(1, len(parts), 2):
            parts[place] = token if parts[place] == CSRF_HOLE else nonce
    response = HttpResponse(b"".join(parts))
    for header, value in entry["headers"]:
        response[header] = value
    return response


def _kept(request, response) -> dict | None:
    """The entry to keep; None when the page's own text holds a hole's marker (a title that
    quotes it), which serving would replace with a token or a nonce."""
    body = response.content  # markers, token and nonce: ASCII, in UTF-8 as sent
    if CSRF_HOLE in body or NONCE_HOLE in body:
        return None
    body = _CSRF_FIELD.sub(rb"\g<1>" + CSRF_HOLE + rb"\g<2>", body)
    nonce = getattr(request, "_csp_nonce", None)
    if isinstance(nonce, str):
        body = body.replace(nonce.encode(), NONCE_HOLE)
    headers = [
        (header, response[header]) for header in _KEPT_HEADERS if response.has_header(header)
    ]
    return {"parts": _HOLES.split(body), "headers": headers}


def cached_page(name: str, *families: str):
    """Keep the view's pages per reader, served while the families' tokens (and the reader's)
    stay the same: a write to anything the page is made of shows on the next request."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not _may_use(request):
                return view(request, *args, **kwargs)
            kept_with = (*families, caching.reader_family(request.user.pk))
            key = _key(request, name)
            entry, tokens = caching.entry_with_tokens(kept_with, key)
            if entry is not None:
                return _served(request, entry)
            response = view(request, *args, **kwargs)
            if _may_keep(request, response) and (kept := _kept(request, response)):
                cache.set(key, (tokens, kept), settings.TRACKER_CACHE_TIMEOUT)
            return response

        return wrapper

    return decorator
