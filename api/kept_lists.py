"""The API's lists kept as sent (docs/performance.md, Caching): a list's JSON is the same for
every reader of one audience until a write, so it is kept once per audience rather than
computed per request (the commitments list: 30 ms of Python; the updates list counted all
500,000 updates).

A list's entry is kept with the tokens of the families it is made from (core.caching: a write
to any of its rows shows on the next request), under everything its bytes depend on:
- the audience (the secretariat's record or the public one; for events, a liaison's state),
  never the person, so no reader is served what another audience may read;
- the language, the address the site was reached at (its links are absolute) and the path;
- the query string, once parsed (the pagination's `next` and `previous` repeat it, sorted);
- what the view adds (the commitments list: the reader's day, for its deadlines).
Authentication, the permission check and the rate limits run on every request before this
(REST framework's `initial`): an entry is only ever served to a reader allowed to read it.

Kept only for JSON as REST framework writes it by default (`application/json`, no `indent`),
at one of the site's own names (core.addresses.site_host), and when every parameter is one
the list reads, given once, spelt the one way the list reads it (`kept_parameters`): junk in
an address, a free-text search or a value the list would refuse is computed each time and
never grows the cache.
"""

import hashlib
import re
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.utils.translation import get_language
from rest_framework.renderers import JSONRenderer

from core import caching
from core.addresses import site_host
from core.pagination import MAX_PAGE_NUMBER, PAGE_SIZES
from core.roles import reader_audience

JSON = "application/json"
Check = Callable[[str], bool]

_NUMBER = re.compile(r"[1-9][0-9]{0,9}").fullmatch
# A slug or a document's short name, as the lists look them up (exactly: another spelling is
# refused as unknown, so it is never kept).
SLUG: Check = re.compile(r"[-\w]{1,100}", re.ASCII).fullmatch


def number(value: str) -> bool:
    """A whole number from 1, written without leading zeros or spaces."""
    return bool(_NUMBER(value)) and int(value) <= MAX_PAGE_NUMBER


def one_of(values) -> Check:
    return frozenset(values).__contains__


PAGES: dict[str, Check] = {"page": number, "per_page": one_of(str(n) for n in PAGE_SIZES)}


class KeptListMixin:
    """A ListAPIView's answers kept per audience (module docstring). `kept_families`: what the
    list is made from; `kept_parameters`: the query parameters it reads, each with the check a
    value must pass to be kept; `kept_details(request)`: what else the bytes depend on."""

    kept_families: tuple[str, ...] = (caching.RECORD,)
    kept_parameters: dict[str, Check] = PAGES

    def kept_audience(self, request) -> tuple:
        return (reader_audience(request.user),)

    def kept_details(self, request) -> tuple:
        return ()

    def list(self, request, *args, **kwargs):
        key = self._kept_key(request)
        if key is None:
            return super().list(request, *args, **kwargs)
        body, tokens = caching.entry_with_tokens(self.kept_families, key)
        if body is not None:
            return HttpResponse(body, content_type=JSON)
        response = super().list(request, *args, **kwargs)
        cache.set(key, (tokens, self._rendered(request, response)), settings.TRACKER_CACHE_TIMEOUT)
        return response

    def _kept_key(self, request) -> str | None:
        query = self._kept_query(request)
        host = request.get_host()
        if query is None or not site_host(host) or not self._plain_json(request):
            return None
        parts = (
            type(self).__name__,
            self.kept_audience(request),
            get_language(),
            request.scheme,
            host,
            request.path,
            query,
            self.kept_details(request),
        )
        return "tracker:api:" + hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()

    def _kept_query(self, request) -> tuple | None:
        """The parameters, sorted, if each is read by the list, given once and spelt as kept."""
        params = request.query_params
        for name, values in params.lists():
            check = self.kept_parameters.get(name)
            if check is None or len(values) != 1 or not check(values[0]):
                return None
        return tuple(sorted(params.items()))

    @staticmethod
    def _plain_json(request) -> bool:
        renderer = getattr(request, "accepted_renderer", None)
        return type(renderer) is JSONRenderer and request.accepted_media_type == JSON

    def _rendered(self, request, response) -> bytes:
        """The response's body, rendered now as REST framework would after the view."""
        response.accepted_renderer = request.accepted_renderer
        response.accepted_media_type = request.accepted_media_type
        response.renderer_context = self.get_renderer_context()
        return response.render().content
