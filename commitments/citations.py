"""Stable, citable addresses of the record and their "Cite this" lines (docs/public-site.md).

A document is cited at its page, a paragraph at the page's `#para-<number>` anchor, a
commitment at its page and a status update at `#update-<pk>` on its commitment's page. The
address is absolute, from settings.TRACKER_SITE_URL, so a citation copied from any page (or
from a proxy's cached copy) points at the site itself.
"""

from django.conf import settings


def paragraph_anchor(number: str) -> str:
    """The id of a paragraph on its document's page, as legal document markup names them."""
    return f"para-{number}"


def update_anchor(pk: int) -> str:
    """The id of a status update on its commitment's page."""
    return f"update-{pk}"


def absolute_url(path: str) -> str:
    """`path` (from get_absolute_url or reverse) on the site's public address."""
    return settings.TRACKER_SITE_URL.rstrip("/") + path
