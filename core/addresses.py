"""Where a request comes from (docs/security.md#the-clients-address-behind-a-proxy): the one
answer, used by the log-in lockout and the audit trail (through tracker.security), the API's
rate limits and the limit on visitors' downloads (core.public_downloads); and whether a request
named the site by one of its own names (site_host), for what is kept in the cache with the
site's address in it."""

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings


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


def site_host(host: str) -> bool:
    """Whether `host` (with its port, as sent) is one of the site's own names: TRACKER_SITE_URL's,
    or an ALLOWED_HOSTS entry spelt exactly (not a wildcard). What names the site as the request
    reached it (a calendar feed, the API's links) is kept in the cache only for these: any Host
    a client sends (another port, other letter case) would otherwise add entries."""
    site = urlsplit(settings.TRACKER_SITE_URL).netloc
    return host == site or (host in settings.ALLOWED_HOSTS and host[:1] not in (".", "*"))
