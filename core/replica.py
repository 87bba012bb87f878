"""Pages read from a PostgreSQL read replica, never older than the cache believes.

With DATABASE_REPLICA_URL set (config.settings.base.replica_databases) the "replica" alias
exists, ReplicaRouter decides which server answers each query, and ReplicaReadsMiddleware marks
the requests that may read from the replica. The rule:

- Writes always go to the primary ("default").
- Reads go to the replica only inside a GET or HEAD request, outside any transaction on the
  primary, before the request wrote anything, and only for the record's models: those every
  write to which tells a cache family (core.caching.SOURCES and the many-to-many tables it
  watches), less the user model. Sessions, users, groups and permissions, API tokens,
  two-factor devices, axes' lockouts, the audit trail, follows, notifications, reminders and the
  cache's loss record always read from the primary: a logout or a deactivated account bites at
  once. A query on a record model brings the rows it joins (an owner's name) from the replica.
  Celery tasks and management commands run outside any request: the primary.
- The freshness gate. core.caching keeps a part computed after a write's tokens were replaced
  as if it showed that write, until the next write or TRACKER_CACHE_TIMEOUT. So after a commit,
  before the new tokens are set, the primary's WAL position is recorded in the cache beside the
  tokens (position_record; it is only ever raised): every write whose tokens can be seen was
  committed at or before the recorded position. A request checks, at its first read of the
  record, that the replica has replayed that far (pg_last_wal_replay_lsn, one query on the
  replica); if not, or if the cache, the position or the replica cannot be read, the whole
  request reads the primary. A cached part computed later in the request finds the position
  beside its tokens (reads_cover): past the one checked, the replica is asked again, and the
  rest of the request reads the primary if it is behind. So a part computed from the replica
  has seen every write whose tokens it could be kept under. A write whose position could not be
  recorded marks a lost invalidation (core.caching): while it is marked, pages read the primary.
  Connecting to the replica and the check are bounded (a standby that never answers), and a
  server that is not a standby is never asked again by the process.
"""

import contextvars
import dataclasses
import functools
import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

REPLICA = "replica"
POSITION_KEY = "tracker:replica:position"
# Methods that read: a request with any other may write, and reads the primary throughout.
READING_METHODS = frozenset({"GET", "HEAD"})
# After the replica failed to answer, this process reads the primary for so long before asking
# it again: a replica that is down costs one failed connection per period, not one per request.
RETRY_SECONDS = 10.0
# The gate's query gives up after so long, in milliseconds: a standby that answers connections
# but stalls queries costs one page this much, then is left alone for RETRY_SECONDS (connecting
# is bounded by the alias's connect_timeout, config.settings.base.replica_databases). Only the
# gate's query: the pages' own queries on the replica are unbounded, as on the primary, since a
# bound fit for a one-row check would fail a page that is slow rather than stuck.
CHECK_TIMEOUT_MS = 2000
CHECK = "SELECT pg_is_in_recovery(), (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint"

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class _Reads:
    """One request's choice: `open` is None until its first read of the record, then whether
    it reads the replica; `position` is the recorded position the replica was seen past."""

    open: bool | None = None
    position: int = 0


# The request's choice inside a GET or HEAD request (ReplicaReadsMiddleware), else None.
_reads: contextvars.ContextVar[_Reads | None] = contextvars.ContextVar("reads", default=None)
_replica_down_until = 0.0
# Set once the replica was found not to be a standby: this process never reads it again.
_no_standby = False


def configured() -> bool:
    return REPLICA in settings.DATABASES


class ReplicaReadsMiddleware:
    """Lets the record's reads of a GET or HEAD request go to the replica (ReplicaRouter)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in READING_METHODS:
            return self.get_response(request)
        token = _reads.set(_Reads())
        try:
            return self.get_response(request)
        finally:
            # A streamed body (an export) is read after this: from the primary.
            _reads.reset(token)


class ReplicaRouter:
    """Which server answers each query (the module's opening comment gives the rule)."""

    def db_for_read(self, model, **hints) -> str:
        reads = _reads.get()
        if reads is None or reads.open is False or _no_standby or not _of_record(model):
            return DEFAULT_DB_ALIAS
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS
        if reads.open is None:
            _decide(reads)
        return REPLICA if reads.open else DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints) -> str:
        reads = _reads.get()
        if reads is not None:
            reads.open = False  # a request that writes reads what it wrote
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool | None:
        # The same rows on both servers: a replica's commitment may be linked to a new update.
        same = {DEFAULT_DB_ALIAS, REPLICA}
        return True if {obj1._state.db, obj2._state.db} <= same else None

    def allow_migrate(self, db, app_label, **hints) -> bool:
        return db != REPLICA  # a standby replays the primary's migrations


@functools.cache
def _record_models() -> frozenset:
    from django.apps import apps
    from django.contrib.auth import get_user_model

    from core.caching import SOURCES, watched_links

    models = {apps.get_model(label) for labels in SOURCES.values() for label in labels}
    models |= {through for through, _families in watched_links().values()}
    return frozenset(models - {get_user_model()})


def _of_record(model) -> bool:
    return model._meta.concrete_model in _record_models()


def _decide(reads: _Reads) -> None:
    from core import caching

    # A write whose position could not be recorded (the cache was unreachable after its
    # commit) is marked as a lost invalidation: the position found may be short of it. The
    # mark is read before the position: recovery records a new one before clearing the mark.
    if not caching._cache_trusted():
        reads.open = False
        return
    position = cache.get(POSITION_KEY)
    if position is None:
        # Lost with the cache (or never recorded): the primary's position now covers every
        # write committed so far. This request reads the primary; the next ones need not.
        position_record()
        reads.open = False
        return
    reads.open = _replica_reached(position)
    reads.position = position


def reads_cover(position: int | None) -> None:
    """Called by core.caching before a part is computed, with the position found beside the
    tokens it will be kept under: the rest of the request reads the primary unless the replica
    has replayed that far."""
    reads = _reads.get()
    if reads is None or not reads.open or (position is not None and position <= reads.position):
        return  # undecided: the first read will read the position, after these tokens
    if position is not None and _replica_reached(position):
        reads.position = position
    else:
        reads.open = False


def _replica_reached(position: int) -> bool:
    global _replica_down_until
    if time.monotonic() < _replica_down_until:
        return False
    try:
        replayed = _replica_replayed()
    except DatabaseError:
        _replica_down_until = time.monotonic() + RETRY_SECONDS
        logger.warning(
            "The read replica did not answer; pages read the primary for %s s.",
            RETRY_SECONDS,
            exc_info=True,
        )
        return False
    if replayed is None:
        _not_a_standby()
        return False
    return replayed >= position


def _replica_replayed() -> int | None:
    """How far the replica has replayed the primary's WAL, in bytes; None if it is no standby
    (not in recovery)."""
    with connections[REPLICA].cursor() as cursor:
        # SET LOCAL lasts as long as the query string's own transaction: one round trip.
        cursor.execute(f"SET LOCAL statement_timeout = {CHECK_TIMEOUT_MS}; {CHECK}")
        in_recovery, replayed = cursor.fetchone()
    return (replayed or 0) if in_recovery else None


def _not_a_standby() -> None:
    """A server not in recovery replays nothing: the primary's own address, or a standby that
    was promoted, whose rows part from the primary's for good. Left alone until the process
    restarts rather than asked on every page; not refused at start, which would make starting
    the web servers depend on reaching the replica. Positions are still recorded, for processes
    whose DATABASE_REPLICA_URL names a standby."""
    global _no_standby
    _no_standby = True
    logger.warning(
        "DATABASE_REPLICA_URL names a server that is not a standby (not in recovery); this "
        "process reads the primary only until it restarts."
    )


def position_record() -> bool:
    """Raise the recorded position to the primary's WAL position now, before new tokens are set
    (core.caching); True once the cache has it, or when there is no replica."""
    if not configured():
        return True
    try:
        position = _primary_position()
    except DatabaseError:
        logger.warning("Could not read the primary's WAL position.", exc_info=True)
        return False
    return _keep_greatest(position)


def _primary_position() -> int:
    """The primary's WAL insert position, in bytes. Not pg_current_wal_lsn(), how far WAL is
    written: a transaction with synchronous_commit off (a bulk import's rows, reminder marks)
    is committed before its record is written, so that position may be short of its commit."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint")
        return cursor.fetchone()[0]


def _keep_greatest(position: int) -> bool:
    from core.caching import GENERATION_TIMEOUT

    keep = getattr(cache, "keep_greatest", None)
    if keep is not None:  # Redis (core.cache_backends): compared and set in one step
        return keep(POSITION_KEY, position, GENERATION_TIMEOUT)
    # The local-memory cache of development and tests: one process, read then set.
    if (cache.get(POSITION_KEY) or 0) < position:
        cache.set(POSITION_KEY, position, GENERATION_TIMEOUT)
    return True
