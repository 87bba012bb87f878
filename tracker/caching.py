"""Cached reads that are costly to compute and change only on writes.

Each cached family (the dashboard, the record pages, the calendar feeds) has a generation token in
the cache; its entries' keys include the token, so a write that changes them bumps the token
and every older entry stops being found (and expires on its own, TRACKER_CACHE_TIMEOUT). The
token is bumped at once and again when the transaction commits: a reader that filled the
cache in between, from the rows as they were before the commit, is invalidated too.

The cache is a convenience, never a dependency: with Redis stopped or hung the cache backend
(tracker.cache_backends) answers "not cached" after CACHE_REDIS_SOCKET_TIMEOUT, so reads compute
from the database and writes still save. A bump that could not reach Redis leaves older entries
readable once it is back, for at most TRACKER_CACHE_TIMEOUT seconds.
"""

import uuid
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils.safestring import SafeString, mark_safe

DASHBOARD = "dashboard"
CALENDAR = "calendar"
# The record pages as rendered: the commitments table's filters and rows, a commitment's
# history and an actor's commitments and updates.
RECORD = "record"

T = TypeVar("T")


def _generation_key(family: str) -> str:
    return f"tracker:{family}:generation"


def generation(family: str) -> str:
    """The family's current token; a new one if the cache lost it (nothing older is reused)."""
    key = _generation_key(family)
    token = cache.get(key)
    if token is None:
        cache.add(key, uuid.uuid4().hex, timeout=None)
        # Still none: the cache cannot be reached. A token nobody has used finds nothing.
        token = cache.get(key) or uuid.uuid4().hex
    return token


def _bump_now(*families: str) -> None:
    cache.set_many({_generation_key(family): uuid.uuid4().hex for family in families}, None)


def invalidate(*families: str) -> None:
    """Forget every cached entry of the families, now and once the transaction commits."""
    _bump_now(*families)
    transaction.on_commit(lambda: _bump_now(*families))


def cached(family: str, parts: tuple, compute: Callable[[], T]) -> T:
    """compute()'s value, kept under the family's generation and the given key parts."""
    key = ":".join(["tracker", family, generation(family), *map(str, parts)])
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, settings.TRACKER_CACHE_TIMEOUT)
    return value


def cached_html(family: str, parts: tuple, render: Callable[[], str]) -> SafeString:
    """A page's part rendered by render() from the tracker's own templates (which escape what
    they show), kept as text like cached(), and handed back as HTML to put in the page."""
    return mark_safe(cached(family, parts, render))


# What each family's cached entries are computed from; a save or delete of any of these
# forgets the family. Status updates are written by commitments.services, which also refreshes
# the commitment with QuerySet.update() (no signal), so it invalidates the dashboard and the
# table itself.
SOURCES = {
    DASHBOARD: (
        "commitments.Document",
        "commitments.Paragraph",
        "commitments.Commitment",
        "commitments.StatusUpdate",
        "tracker.Event",  # the dashboard lists the next dated items
    ),
    CALENDAR: ("commitments.Commitment", "tracker.Event"),
    RECORD: (
        "commitments.Document",  # the document filter; a re-import changes what `q` finds
        "commitments.Paragraph",
        "commitments.Commitment",
        "commitments.StatusUpdate",
        "commitments.Actor",
        "commitments.Theme",
        "tracker.User",  # owners and authors (names), the owner filter (roles)
        "commitments.EvidenceLink",  # a commitment's history
        "commitments.EvidenceFile",
    ),
}

# Saves of only these fields change no cached page: a login (last_login), a reader's choice
# of language (entries are kept per language anyway) or a new calendar link (the feed is
# found by its token before its cached text is read).
IGNORED_FIELDS = frozenset({"last_login", "language", "calendar_token"})


def _receiver(families: tuple[str, ...]):
    def receiver(**kwargs) -> None:
        update_fields = kwargs.get("update_fields")
        if update_fields and update_fields <= IGNORED_FIELDS:
            return
        invalidate(*families)

    return receiver


def connect_receivers() -> None:
    """Forget cached entries whenever a row they come from is saved or deleted."""
    from django.apps import apps
    from django.db.models.signals import m2m_changed, post_delete, post_save

    models: dict[str, list[str]] = {}
    for family, labels in SOURCES.items():
        for label in labels:
            models.setdefault(label, []).append(family)
    for label, families in models.items():
        receiver = _receiver(tuple(families))
        sender = apps.get_model(label)
        for signal in (post_save, post_delete):
            signal.connect(receiver, sender=sender, weak=False, dispatch_uid=f"cache-{label}")
    # Many-to-many links: the paragraphs the matrix counts by; the events and actors that
    # decide which events a liaison's feed and dashboard list; all the commitments table shows.
    commitment, event = apps.get_model("commitments.Commitment"), apps.get_model("tracker.Event")
    links = {
        "commitment-paragraphs": (commitment.paragraphs.through, (DASHBOARD, RECORD)),
        "commitment-leads": (commitment.lead_actors.through, (DASHBOARD, CALENDAR, RECORD)),
        "commitment-supporters": (
            commitment.supporting_actors.through,
            (DASHBOARD, CALENDAR, RECORD),
        ),
        "commitment-themes": (commitment.themes.through, (RECORD,)),
        "event-commitments": (event.commitments.through, (DASHBOARD, CALENDAR)),
    }
    for name, (through, families) in links.items():
        m2m_changed.connect(
            _receiver(families), sender=through, weak=False, dispatch_uid=f"cache-{name}"
        )
