"""Rate limits of the API (docs/api.md#rate-limits), kept on the default cache: so many
requests per person logged in, their tokens and session together (API_RATE_PER_TOKEN) and,
for anonymous readers, per client address (API_RATE_PER_ADDRESS). Every request is counted
by one of them. Over the limit: 429 with `Retry-After` and a message saying when."""

import datetime
import math

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import exception_handler

from tracker.security import client_address


class WindowRateThrottle(SimpleRateThrottle):
    """So many requests per window of the rate's period (a clock minute for "/minute"), counted
    by one number in the cache: REST framework's own throttle keeps a list of every request's
    time within the period, read, unpickled, pickled and written again on each request (15,000
    of them for a script at 250 requests a second: 1.8 ms a request), and two processes
    reading it at once each write back their own, losing a count. A window's count is added
    (SET NX, with the window's time to live) and incremented, in one round trip to Redis
    (ForgivingRedisCache.count_in_window). Retry-After: the window's end."""

    def allow_request(self, request, view) -> bool:
        key = self.get_cache_key(request, view)
        return key is None or self._allowed(key)

    def _allowed(self, key: str) -> bool:
        self.num_requests, self.duration = self.parse_rate(self.get_rate())
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_end = (window + 1) * self.duration
        count = self._counted(f"{key}:{window}")
        # None: the cache cannot count (Redis away, core.cache_backends): let the request in.
        return count is None or count <= self.num_requests

    def _counted(self, key: str) -> int | None:
        window_count = getattr(self.cache, "count_in_window", None)
        if window_count is not None:  # Redis (core.cache_backends): one round trip
            return window_count(key, self.duration + 1)
        if self.cache.add(key, 1, self.duration + 1):
            return 1
        return self.cache.incr(key)

    def wait(self) -> float:
        return self.window_end - self.now


class PersonRateThrottle(WindowRateThrottle):
    """Requests per person logged in, whatever they come with: all their tokens and their
    browser's session share one count (API_RATE_PER_TOKEN). Counted per token, anyone could
    multiply their allowance by making more tokens on their profile page."""

    scope = "person"

    def get_rate(self) -> str:
        # Read at each request (not once at import, as REST framework's own rates are), so a
        # setting changed in a test or by the operator applies at once.
        return settings.API_RATE_PER_TOKEN

    def get_cache_key(self, request, view) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class AddressRateThrottle(WindowRateThrottle):
    """Requests per client address of anonymous readers (tracker.security.client_address:
    the address the nearest trusted proxy saw, not one the client wrote)."""

    scope = "address"

    def get_rate(self) -> str:
        return settings.API_RATE_PER_ADDRESS

    def get_cache_key(self, request, view) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self._address_key(request)

    def _address_key(self, request) -> str:
        address = client_address(request._request) or "unknown"
        return self.cache_format % {"scope": self.scope, "ident": address}

    def refused_token_allowed(self, request) -> bool:
        """Count a request whose token was refused against its address, as an anonymous one:
        it is answered 401 before any rate limit runs, so guessing tokens (each guess a lookup)
        was counted nowhere. Called while the request is being authenticated."""
        return self._allowed(self._address_key(request))


def throttled_answer(exc, context):
    """REST framework's answers, with a 429 that says in words and in `Retry-After` (whole
    seconds, at least one) when to try again."""
    response = exception_handler(exc, context)
    if isinstance(exc, exceptions.Throttled) and response is not None:
        seconds = max(1, math.ceil(exc.wait or 0))
        retry_at = timezone.now() + datetime.timedelta(seconds=seconds)
        response["Retry-After"] = str(seconds)
        response.data = {
            "detail": _("Too many requests. Try again in %(seconds)s seconds, at %(moment)s UTC.")
            % {"seconds": seconds, "moment": retry_at.strftime("%H:%M:%S")},
            "retry_after": seconds,
            "retry_at": retry_at.isoformat(timespec="seconds"),
        }
    return response
