"""Atom feeds of the public record's changes (docs/feeds.md): the whole record, one commitment,
the commitments of one actor.

A feed reader is shared (a feed service fetches once for many people), so a feed is always the
public record, whoever asks, the secretariat included: public updates, their corrections and
withdrawals (commitments.selectors.public_change_list); a correction's or withdrawal's reason
only where the secretariat made it public; as the author, the secretariat or the actor that
reported, never a person's name or address. Addresses start with TRACKER_SITE_URL, like the
emails', never with the request's Host.
"""

import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import format_html, linebreaks
from django.utils.translation import gettext

from core.local_time import format_day
from core.public_site import public_record

from . import selectors
from .changes import public_change_text
from .models import Actor, Commitment, Source, StatusUpdate
from .views import READ_METHODS, allow_methods

# How long a shared cache (a proxy, a feed service) may keep a feed, in seconds: new entries
# reach readers within five minutes.
FEED_MAX_AGE = 300


def site_url(path: str) -> str:
    return settings.TRACKER_SITE_URL.rstrip("/") + path


class ChangesFeed(Feed):
    """The whole record's changes; the commitment's and the actor's feeds narrow it."""

    feed_type = Atom1Feed
    url_name = "commitments:changes_feed"

    def get_object(self, request, **kwargs):
        return None

    def url_kwargs(self, obj) -> dict:
        return {}

    def title(self, obj) -> str:
        return gettext("Changes to the public record")

    def link(self, obj) -> str:
        return site_url(reverse("dashboard"))

    def feed_url(self, obj) -> str:
        return site_url(reverse(self.url_name, kwargs=self.url_kwargs(obj)))

    def feed_guid(self, obj) -> str:
        return self.feed_url(obj)

    def author_name(self, obj) -> str:
        return gettext("The secretariat")

    def items(self, obj) -> list[StatusUpdate]:
        return selectors.public_change_list()

    def item_title(self, item: StatusUpdate) -> str:
        """Opens with the day it happened: a reader must not take an update of 2021, recorded
        today (as the demo's all are), for today's news."""
        return f"{format_day(entry_day(item))}: {item.commitment.title}: {public_change_text(item)}"

    def item_link(self, item: StatusUpdate) -> str:
        # A withdrawal is shown on the update it withdraws.
        shown = item.amends_id if item.amendment == StatusUpdate.Amendment.WITHDRAWAL else item.pk
        return site_url(f"{item.commitment.get_absolute_url()}#update-{shown}")

    def item_guid(self, item: StatusUpdate) -> str:
        """A tag URI (RFC 4151): the site's host and the day the entry was recorded, which
        stay the same when a commitment's title or address changes."""
        host = urlsplit(settings.TRACKER_SITE_URL).hostname or "localhost"
        return f"tag:{host},{item.recorded_at:%Y-%m-%d}:status-update-{item.pk}"

    item_guid_is_permalink = False

    def item_updateddate(self, item: StatusUpdate):
        return item.recorded_at

    def item_pubdate(self, item: StatusUpdate):
        return item.recorded_at

    def item_author_name(self, item: StatusUpdate) -> str:
        if item.source == Source.CONTRIBUTOR:
            return item.reported_by.name if item.reported_by else gettext("Other source")
        return gettext("The secretariat")

    def item_description(self, item: StatusUpdate) -> str:
        """The entry's summary, as HTML: what the commitment's page says of it to a visitor."""
        return "".join(part for part in entry_summary(item) if part)


def entry_day(item: StatusUpdate) -> datetime.date:
    """The day an update happened; a correction or withdrawal happened when it was recorded
    (its summary names the day of the update it amends)."""
    if item.amendment == StatusUpdate.Amendment.NONE:
        return item.happened_on
    return timezone.localdate(item.recorded_at)  # the site's zone: a feed is for everyone


def entry_summary(item: StatusUpdate):
    if item.reported_by:
        reporter = {"reporter": item.reported_by.name}
        yield format_html("<p>{}</p>", gettext("Reported by %(reporter)s.") % reporter)
    if item.amendment == StatusUpdate.Amendment.WITHDRAWAL:
        day = {"day": format_day(item.happened_on)}
        yield format_html("<p>{}</p>", gettext("The update of %(day)s was withdrawn.") % day)
        if item.source == Source.OFFICIAL:
            yield format_html(
                "<p>{}</p>", gettext("It no longer counts for the commitment's state.")
            )
    else:
        if item.amendment == StatusUpdate.Amendment.CORRECTION:
            day = {"day": format_day(item.happened_on)}
            yield format_html("<p>{}</p>", gettext("Corrects the update of %(day)s.") % day)
        yield linebreaks(item.narrative, autoescape=True)
        if item.progress_reason:
            yield format_html(
                "<p>{} {}</p>", gettext("Reason for the figure:"), item.progress_reason
            )
    if item.reason and item.reason_shown_to(internal_reader=False):
        yield format_html("<p>{} {}</p>", gettext("Reason:"), item.reason)


class OneRecordChangesFeed(ChangesFeed):
    """The changes of one commitment or actor, found by the slug in the address (404 if none)."""

    model: type[Commitment] | type[Actor]

    def get_object(self, request, slug):
        return get_object_or_404(self.model, slug=slug)

    def url_kwargs(self, obj) -> dict:
        return {"slug": obj.slug}

    def link(self, obj) -> str:
        return site_url(obj.get_absolute_url())


class CommitmentChangesFeed(OneRecordChangesFeed):
    model = Commitment
    url_name = "commitments:commitment_changes_feed"

    def title(self, obj) -> str:
        return gettext("Changes to %(title)s") % {"title": obj.title}

    def items(self, obj) -> list[StatusUpdate]:
        return selectors.public_change_list(commitment=obj)


class ActorChangesFeed(OneRecordChangesFeed):
    model = Actor
    url_name = "commitments:actor_changes_feed"

    def title(self, obj) -> str:
        return gettext("Changes to the commitments of %(name)s") % {"name": obj.name}

    def items(self, obj) -> list[StatusUpdate]:
        return selectors.public_change_list(actor=obj)


def _served(feed: Feed):
    """A feed as a page of the public record, which a shared cache may keep a while (a
    logged-in reader's copy is made private by tracker.security.PrivateCacheMiddleware)."""

    @public_record
    @allow_methods(*READ_METHODS)
    def view(request, **kwargs):
        response = feed(request, **kwargs)
        patch_cache_control(response, public=True, max_age=FEED_MAX_AGE)
        return response

    return view


changes_feed = _served(ChangesFeed())
commitment_changes_feed = _served(CommitmentChangesFeed())
actor_changes_feed = _served(ActorChangesFeed())
