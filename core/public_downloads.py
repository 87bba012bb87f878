"""The public record's expensive downloads, limited per client address for anonymous visitors
(docs/public-site.md#downloads).

The table's CSV and Excel exports and the PDF report are built afresh for each request (a PDF
costs about 0.7 s, an export of 20,000 rows several seconds) and are never kept by a proxy, so a
few visitors asking for them again and again could keep every web worker busy. Each client
address (core.addresses) may start TRACKER_PUBLIC_DOWNLOADS_PER_MINUTE of them a minute; over
that it gets a 429 page saying when to try again, with `Retry-After`. People who are logged in
are not limited here. The count is kept on the default cache, like the API's rate limits: with
the cache down nobody is limited rather than everybody refused.
"""

import datetime
import math
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.shortcuts import render
from django.utils import timezone

from .addresses import client_address

WINDOW_SECONDS = 60


def download_refusal(request):
    """None if this request may download now; else the 429 page to answer it with."""
    if request.user.is_authenticated:
        return None
    wait = _seconds_to_wait(client_address(request) or "unknown")
    return None if wait is None else _too_many_page(request, wait)


def limited_download(view):
    """A view whose every answer is an expensive download: limited as above."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        return download_refusal(request) or view(request, *args, **kwargs)

    return wrapper


def _seconds_to_wait(address: str) -> int | None:
    """Count this download in the address's current minute; None while within the limit, else
    the seconds until the next minute starts."""
    limit = settings.TRACKER_PUBLIC_DOWNLOADS_PER_MINUTE
    if limit <= 0:  # 0 turns the limit off
        return None
    now = timezone.now().timestamp()
    window = int(now // WINDOW_SECONDS)
    key = f"public-downloads:{address}:{window}"
    # add() then incr() counts atomically on Redis; the key outlives its minute a little.
    cache.add(key, 0, timeout=WINDOW_SECONDS * 2)
    try:
        count = cache.incr(key)
    except ValueError:  # gone between the two calls (an evicted key): not counted
        return None
    if count is None or count <= limit:  # None: the cache is down (core.cache_backends)
        return None
    return max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))


def _too_many_page(request, seconds: int):
    retry_at = timezone.now() + datetime.timedelta(seconds=seconds)
    context = {
        "seconds": seconds,
        "retry_at": retry_at.astimezone(datetime.UTC).strftime("%H:%M:%S"),
        "limit": settings.TRACKER_PUBLIC_DOWNLOADS_PER_MINUTE,
    }
    response = render(request, "429.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response
