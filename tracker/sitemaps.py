"""The public site's sitemap (/sitemap.xml, docs/public-site.md#robots-and-sitemap): the pages
an anonymous visitor may read, at the site's public address (TRACKER_SITE_URL).

Retired commitments are listed: they keep their page and stay citable. Events are those a
visitor sees (tracker.events.events_visible_to for no one: the public ones).
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from commitments.models import Actor, Commitment, Document

from .events import events_visible_to


class PublicSitemap(Sitemap):
    """At TRACKER_SITE_URL, whatever host the request came by (a proxy may rewrite it)."""

    def get_domain(self, site=None) -> str:
        return urlsplit(settings.TRACKER_SITE_URL).netloc

    def get_protocol(self, protocol=None) -> str:
        return urlsplit(settings.TRACKER_SITE_URL).scheme or "https"


class OverviewSitemap(PublicSitemap):
    """The public menu's pages."""

    PAGES = (
        "dashboard",
        "commitments:commitment_list",
        "commitments:document_list",
        "commitments:actor_list",
        "event_list",
    )

    def items(self):
        return list(self.PAGES)

    def location(self, item: str) -> str:
        return reverse(item)


class DocumentSitemap(PublicSitemap):
    def items(self):
        return Document.objects.only("short_name").order_by("pk")


class CommitmentSitemap(PublicSitemap):
    def items(self):
        return Commitment.objects.only("slug").order_by("pk")


class ActorSitemap(PublicSitemap):
    def items(self):
        return Actor.objects.only("slug").order_by("pk")


class EventSitemap(PublicSitemap):
    def items(self):
        return events_visible_to(user=AnonymousUser()).only("slug").order_by("pk")


SITEMAPS = {
    "overview": OverviewSitemap,
    "documents": DocumentSitemap,
    "commitments": CommitmentSitemap,
    "actors": ActorSitemap,
    "events": EventSitemap,
}
