"""Cached reads that are costly to compute and change only on writes.

Each cached family (the dashboard, the record pages, the calendar feeds) has a generation token in
the cache; each entry is kept with the token it was computed under, and served only while that
token is still the family's, so a write that changes them bumps the token and every older entry
stops being served (and is replaced, or expires on its own, TRACKER_CACHE_TIMEOUT). The token and
the entry are read in one round trip (MGET). The token is bumped at once and again when the
transaction commits: a reader that filled the cache in between, from the rows as they were
before the commit, is invalidated too.

The cache is a convenience, never a dependency: with Redis stopped or hung the cache backend
(core.cache_backends) answers "not cached" after at most one socket timeout, then skips
Redis for a while, so reads compute from the database and writes still save.

A bump that cannot reach Redis must not be lost: Redis may come back with the older entries
(after CLIENT PAUSE, a stopped process, a network cut), and serve them for TRACKER_CACHE_TIMEOUT.
So when the bump after a commit fails, the write marks the loss in the database
(CacheState.invalidation_lost), which every process reads: a cached entry is served only after
checking that no loss is marked (one query per request served from the cache: a request that
found no loss trusts the cache until it ends), and the first reader that finds Redis answering
again bumps every family and clears the mark.

With a read replica (core.replica), every bump that counts (after a commit, on recovery) first
records the primary's WAL position beside the tokens, and a part computed after its tokens were
read is computed from a replica that has replayed that far, or from the primary.
"""

import contextvars
import hashlib
import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import DatabaseError, connection, transaction
from django.utils.safestring import SafeString, mark_safe

from core import replica

DASHBOARD = "dashboard"
CALENDAR = "calendar"
# The record pages as rendered: the commitments table's filters and rows, a commitment's
# history and an actor's commitments and updates.
RECORD = "record"
# What the record holds apart from the state of its commitments: which commitments there are
# (retired or not) and their documents, paragraphs, actors, themes and owners. The commitments
# table's filter dropdowns and the row counts of its filters on these are kept in it, so a
# status update (which changes none of it) does not make them read and written out again:
# 2,000 documents and 2,000 owners at ten times the benchmark's data. Every row it comes from
# is one RECORD comes from too: a write that tells it tells RECORD.
CATALOGUE = "catalogue"

FAMILIES = (DASHBOARD, CALENDAR, RECORD, CATALOGUE)
# Tokens expire too, so that every key in the cache has a time to live (docs/performance.md,
# Caching, on eviction). An expired token is replaced by a new random one: its family's entries
# are computed anew, nothing older is found.
GENERATION_TIMEOUT = 24 * 60 * 60

T = TypeVar("T")
logger = logging.getLogger(__name__)


def _generation_key(family: str) -> str:
    return f"tracker:{family}:generation"


def generation(family: str) -> str:
    """The family's current token; a new one if the cache lost it (nothing older is reused)."""
    key = _generation_key(family)
    token = cache.get(key)
    if token is None:
        cache.add(key, uuid.uuid4().hex, timeout=GENERATION_TIMEOUT)
        # Still none: the cache cannot be reached. A token nobody has used finds nothing.
        token = cache.get(key) or uuid.uuid4().hex
    return token


def _bump_now(*families: str) -> bool:
    """New tokens for the families; True once the cache has them (set_many names the keys it
    could not set)."""
    tokens = {_generation_key(family): uuid.uuid4().hex for family in families}
    return not cache.set_many(tokens, GENERATION_TIMEOUT)


def invalidate(*families: str) -> None:
    """Forget every cached entry of the families, now and once the transaction commits (or,
    inside invalidations_deferred, when its flush runs)."""
    deferred = _deferred.get()
    if deferred is not None:
        deferred.update(families)
    else:
        _send(families)


def _send(families: tuple[str, ...]) -> None:
    _bump_now(*families)
    transaction.on_commit(lambda: _bump_after_commit(families))


# The families noted by invalidate() inside invalidations_deferred, or None outside it.
_deferred: contextvars.ContextVar[set | None] = contextvars.ContextVar("deferred", default=None)


@contextmanager
def invalidations_deferred() -> Iterator[Callable[[], None]]:
    """Note invalidations instead of sending them, and send each family once: when the
    flush handed over is called, and when the block ends (an error too). For a long run of
    small transactions (a bulk import: seven bumps a row otherwise); until a flush, pages may
    show the record as it was before the run's last writes, never after the block ends."""
    noted: set[str] = set()
    token = _deferred.set(noted)

    def flush() -> None:
        families = tuple(sorted(noted))
        noted.clear()
        if families:
            _send(families)

    try:
        yield flush
    finally:
        _deferred.reset(token)
        flush()


def _bump_after_commit(families: tuple[str, ...]) -> None:
    # The bump that counts: the rows are committed. If Redis did not take it, the database
    # keeps the loss until a reader makes everything stale (_cache_trusted). The replica's
    # position first: a reader that sees the new tokens must find a position that covers them.
    recorded = replica.position_record()
    if not (_bump_now(*families) and recorded):
        _invalidation_loss_record()


def _invalidation_loss_record() -> None:
    from core.models import CacheState

    if _trusted_in_request.get():
        _trusted_in_request.set(False)  # this request's later entries read the record again
    try:
        CacheState.objects.update_or_create(pk=1, defaults={"invalidation_lost": uuid.uuid4()})
    except DatabaseError:  # the write is committed; its page shows after TRACKER_CACHE_TIMEOUT
        logger.exception("Could not record a lost cache invalidation.")
    else:
        logger.warning(
            "A cache invalidation was lost; cached entries are not served until Redis is back."
        )


# Inside a request: True once the request found no loss recorded, else False; None outside a
# request (a task, a command), where every entry found reads the record. A page with several
# cached parts (the table's counts, filters and rows) reads it once: a loss recorded by another
# process meanwhile shows from its next request on, as if this one had come a moment earlier.
_trusted_in_request: contextvars.ContextVar[bool | None] = contextvars.ContextVar(
    "trusted_in_request", default=None
)


def _request_started(**kwargs) -> None:
    _trusted_in_request.set(False)


def _request_finished(**kwargs) -> None:
    _trusted_in_request.set(None)


def _invalidation_lost():
    """The loss record's value (None: no loss). Plain SQL: the ORM's building of this one-row
    query cost more than the round trip (0.4 ms of a 3.8 ms cached dashboard, in-process)."""
    from core.models import CacheState

    table = connection.ops.quote_name(CacheState._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT invalidation_lost FROM {table} WHERE id = %s", [1])  # noqa: S608
        row = cursor.fetchone()
    return row[0] if row else None


def _cache_trusted() -> bool:
    """False while an invalidation may be missing from the cache. Recovery bumps every family
    (the entries of any write whose bump was lost go with them) and clears the mark only if no
    newer loss was marked meanwhile; the entry in hand is older than that bump either way.
    The replica's gate asks it too (core.replica._decide): a lost position is a lost bump."""
    from core.models import CacheState

    if _trusted_in_request.get():
        return True
    lost = _invalidation_lost()
    if lost is None:
        if _trusted_in_request.get() is False:
            _trusted_in_request.set(True)
        return True
    if replica.position_record() and _bump_now(*FAMILIES):
        CacheState.objects.filter(pk=1, invalidation_lost=lost).update(invalidation_lost=None)
    return False


def cached(family: str, parts: tuple, compute: Callable[[], T]) -> T:
    """compute()'s value, kept under the given key parts with the family's generation token
    (read with the entry in one round trip), and served while that token is the family's."""
    token_key = _generation_key(family)
    key = ":".join(["tracker", family, "entry", *map(str, parts)])
    found = cache.get_many(_with_position([token_key, key]))
    token = found.get(token_key) or generation(family)
    entry = found.get(key)
    if entry is not None and entry[0] == token and _cache_trusted():
        return entry[1]
    _reads_cover(found)
    value = compute()
    cache.set(key, (token, value), settings.TRACKER_CACHE_TIMEOUT)
    return value


def reader_family(pk) -> str:
    """The family of one reader's whole pages (core.page_cache): what they follow shows in the
    pages' buttons, and changes without any write to the record."""
    return f"reader-{pk}"


def entry_with_tokens(families: Sequence[str], key: str):
    """The entry kept under key if it was kept with every family's current token, else None;
    and those current tokens, to keep a new entry with. One round trip (MGET), then the loss
    record as for cached()."""
    token_keys = [_generation_key(family) for family in families]
    found = cache.get_many(_with_position([*token_keys, key]))
    tokens = tuple(
        found.get(token_key) or generation(family)
        for token_key, family in zip(token_keys, families, strict=True)
    )
    entry = found.get(key)
    if entry is not None and entry[0] == tokens and _cache_trusted():
        return entry[1], tokens
    _reads_cover(found)
    return None, tokens


def _with_position(keys: list[str]) -> list[str]:
    """The keys, and the replica's recorded position when there is a replica (core.replica):
    read in the same round trip as the tokens, so it covers every write they show."""
    return [*keys, replica.POSITION_KEY] if replica.configured() else keys


def _reads_cover(found: dict) -> None:
    if replica.configured():  # what is computed next has seen every write the tokens show
        replica.reads_cover(found.get(replica.POSITION_KEY))


def cached_html(family: str, parts: tuple, render: Callable[[], str]) -> SafeString:
    """A page's part rendered by render() from the tracker's own templates (which escape what
    they show), kept as text like cached(), and handed back as HTML to put in the page."""
    return mark_safe(cached(family, parts, render))


def cached_each(
    name: str, items: Sequence, content: Callable, compute: Callable[..., T]
) -> list[T]:
    """compute(item) for each item, each kept under a digest of content(item): every value
    compute reads. Such an entry is never stale, so it needs no family token and outlives a
    write: after one, only the items it changed are computed again (a feed's 2,000 events after
    a write to one of them). Read and kept in one round trip each.

    The whole list is also kept, for TRACKER_CACHE_TIMEOUT, under a digest of every item's:
    after a write that changed none of the items (a commitment saved with the same target date,
    an event saved unchanged) one entry is read instead of one per item, which cost 0.3 s for a
    feed of 15,000 events (issue 16)."""
    keys = [f"tracker:{name}:{_digest(content(item))}" for item in items]
    whole_key = f"tracker:{name}:all:{_digest(tuple(keys))}"
    whole = cache.get(whole_key)
    if whole is not None:
        return whole
    found = cache.get_many(keys)
    made = {key: compute(item) for key, item in zip(keys, items, strict=True) if key not in found}
    if made:
        cache.set_many(made, GENERATION_TIMEOUT)
    values = [found[key] if key in found else made[key] for key in keys]
    cache.set(whole_key, values, settings.TRACKER_CACHE_TIMEOUT)
    return values


def _digest(content: tuple) -> str:
    return hashlib.blake2b(repr(content).encode(), digest_size=16).hexdigest()


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
        "commitments.DocumentLink",  # a document's page lists its links (both kept pages)
        "commitments.Paragraph",
        "commitments.Commitment",
        "commitments.CommitmentRelation",  # a commitment's page lists its relations
        "commitments.StatusUpdate",
        "commitments.Actor",
        "commitments.Theme",
        "tracker.User",  # owners and authors (names), the owner filter (roles)
        "commitments.EvidenceLink",  # a commitment's history
        "commitments.EvidenceFile",
        # A commitment's page lists its milestones (their services also tell the families, as
        # they move positions with UPDATEs).
        "commitments.Milestone",
    ),
    # Not the status updates, their evidence, milestones, relations or document links.
    CATALOGUE: (
        "commitments.Document",
        "commitments.Paragraph",
        "commitments.Commitment",
        "commitments.Actor",
        "commitments.Theme",
        "tracker.User",
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
    """Forget cached entries whenever a row they come from is saved or deleted; read the loss
    record once per request."""
    from django.apps import apps
    from django.db.models.signals import m2m_changed, post_delete, post_save

    request_started.connect(_request_started, dispatch_uid="cache-trust-request-started")
    request_finished.connect(_request_finished, dispatch_uid="cache-trust-request-finished")

    models: dict[str, list[str]] = {}
    for family, labels in SOURCES.items():
        for label in labels:
            models.setdefault(label, []).append(family)
    for label, families in models.items():
        receiver = _receiver(tuple(families))
        sender = apps.get_model(label)
        for signal in (post_save, post_delete):
            signal.connect(receiver, sender=sender, weak=False, dispatch_uid=f"cache-{label}")
    for name, (through, families) in watched_links().items():
        m2m_changed.connect(
            _receiver(families), sender=through, weak=False, dispatch_uid=f"cache-{name}"
        )
    # What a reader follows: the follow buttons on their kept pages (core.page_cache).
    for signal in (post_save, post_delete):
        signal.connect(
            _follow_changed,
            sender=apps.get_model("tracker.Follow"),
            weak=False,
            dispatch_uid="cache-follow",
        )


def watched_links() -> dict[str, tuple]:
    """The many-to-many tables whose changes forget families, each with those families: the
    paragraphs the matrix counts by; the events and actors that decide which events a liaison's
    feed and dashboard list; all the commitments table shows."""
    from django.apps import apps

    commitment, event = apps.get_model("commitments.Commitment"), apps.get_model("tracker.Event")
    return {
        "commitment-paragraphs": (commitment.paragraphs.through, (DASHBOARD, RECORD, CATALOGUE)),
        "commitment-leads": (
            commitment.lead_actors.through,
            (DASHBOARD, CALENDAR, RECORD, CATALOGUE),
        ),
        "commitment-supporters": (
            commitment.supporting_actors.through,
            (DASHBOARD, CALENDAR, RECORD, CATALOGUE),
        ),
        "commitment-themes": (commitment.themes.through, (RECORD, CATALOGUE)),
        "event-commitments": (event.commitments.through, (DASHBOARD, CALENDAR)),
    }


def _follow_changed(instance, **kwargs) -> None:
    invalidate(reader_family(instance.user_id))
