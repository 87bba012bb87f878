"""Where a request comes from, and which responses may be kept by caches (docs/security.md).

client_address() is the one answer to "who sent this request": django-axes locks log-ins by
(account, this address) and the audit trail records it (tracker.audit.AuditMiddleware).
PrivateCacheMiddleware keeps the tracker's pages out of shared caches.
"""

import ipaddress

from django.conf import settings
from django.utils.cache import patch_cache_control, patch_vary_headers


def client_address(request) -> str | None:
    """The address the request came from, as the nearest of the trusted proxies saw it.

    Each of the settings.TRACKER_TRUSTED_PROXY_COUNT proxies in front of the tracker appends the
    address it was connected from to X-Forwarded-For (nginx: $proxy_add_x_forwarded_for), so the
    client is that many entries from the right. Entries further left were sent by the client and
    can say anything: they are never read. Without a trusted proxy the header is ignored.

    django-ipware is not used: it counts proxies inside the header (the last one is only in
    REMOTE_ADDR here) and picks among headers by how routable an address looks, so the locked
    address would depend on the address itself.
    """
    count = settings.TRACKER_TRUSTED_PROXY_COUNT
    hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    connected = _address(request.META.get("REMOTE_ADDR", ""))
    if count > 0 and len(hops) >= count:
        # A header shorter than the chain, or an entry that is no address, did not come
        # through every trusted proxy: the address that connected is the one we know.
        return _address(hops[-count]) or connected
    return connected


def _address(text: str) -> str | None:
    """An IP address in its standard spelling, without a port; None if `text` is none."""
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [2001:db8::1]:443
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # 203.0.113.9:51234
        text = text.split(":")[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


class PrivateCacheMiddleware:
    """Keep what the tracker serves to a person out of shared caches and off disks.

    A response whose view set no Cache-Control gets `private, no-cache`: a browser may keep it but
    asks again before showing it, and no proxy keeps it. A logged-in user's response is private
    whatever its view said, and varies with the session cookie. A file handed over (Content-
    Disposition: exports, the PDF report, evidence files) is never stored. Static files are
    served by whitenoise before this middleware and keep their own long cache.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        logged_in = user is not None and user.is_authenticated
        if response.has_header("Content-Disposition"):
            patch_cache_control(response, private=True, no_store=True)
        elif not response.has_header("Cache-Control"):
            patch_cache_control(response, private=True, no_cache=True)
        elif logged_in:
            patch_cache_control(response, private=True)
        if logged_in:
            patch_vary_headers(response, ["Cookie"])
        return response
