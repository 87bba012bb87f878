"""core.caching: invalidations deferred over a long run of writes (a bulk import); the read path
(one round trip to the cache, the loss record read once per request)."""

import uuid

import pytest
from django.core.cache import cache

from core import caching
from core.models import CacheState


def test_deferred_invalidations_are_sent_once_at_each_flush_and_at_the_end(db):
    record, calendar = caching.generation(caching.RECORD), caching.generation(caching.CALENDAR)

    with caching.invalidations_deferred() as flush:
        caching.invalidate(caching.RECORD)
        caching.invalidate(caching.RECORD, caching.DASHBOARD)
        assert caching.generation(caching.RECORD) == record  # noted, not sent
        flush()
        flushed = caching.generation(caching.RECORD)
        assert flushed != record
        caching.invalidate(caching.CALENDAR)
        assert caching.generation(caching.CALENDAR) == calendar

    assert caching.generation(caching.CALENDAR) != calendar  # the end sends what is left
    assert caching.generation(caching.RECORD) == flushed  # nothing noted since the flush
    caching.invalidate(caching.RECORD)
    assert caching.generation(caching.RECORD) != flushed  # outside the block: at once again


def test_a_run_that_fails_still_sends_what_it_noted(db):
    record = caching.generation(caching.RECORD)

    with pytest.raises(RuntimeError), caching.invalidations_deferred():
        caching.invalidate(caching.RECORD)
        raise RuntimeError("the worker's run failed after a write")

    assert caching.generation(caching.RECORD) != record


# --- The read path: one round trip to the cache, the loss record read once per request ------


def computed(values: list):
    def compute():
        values.append(len(values))
        return f"entry {values[-1]}"

    return compute


def test_an_entry_is_served_until_its_family_is_invalidated(db):
    values = []
    first = caching.cached(caching.RECORD, ("page", 1), computed(values))

    assert caching.cached(caching.RECORD, ("page", 1), computed(values)) == first
    caching.invalidate(caching.RECORD)
    assert caching.cached(caching.RECORD, ("page", 1), computed(values)) == "entry 1"
    assert caching.cached(caching.DASHBOARD, ("page", 1), computed(values)) == "entry 2"


def test_an_entry_kept_under_an_older_token_is_not_served(db):
    """A reader that computed before a write's bump keeps its entry under the token it read:
    later readers, under the new token, compute again."""
    token = caching.generation(caching.RECORD)
    caching.invalidate(caching.RECORD)
    key = ":".join(["tracker", caching.RECORD, "entry", "page"])
    cache.set(key, (token, "as it was before the write"))

    assert caching.cached(caching.RECORD, ("page",), lambda: "as it is") == "as it is"


def test_a_hit_is_one_round_trip_to_the_cache(db, monkeypatch):
    caching.cached(caching.DASHBOARD, ("content",), lambda: "rendered")
    calls = []

    def counted(name):
        method = getattr(cache, name)

        def call(*args, **kwargs):
            calls.append(name)
            monkeypatch.undo()  # what the call does inside (locmem's get_many gets) is not counted
            try:
                return method(*args, **kwargs)
            finally:
                spy()

        return call

    def spy():
        for name in ("get", "get_many", "set", "add"):
            monkeypatch.setattr(cache, name, counted(name))

    spy()
    assert caching.cached(caching.DASHBOARD, ("content",), lambda: "again") == "rendered"
    monkeypatch.undo()
    assert calls == ["get_many"]


# The request signals' receivers are called directly: sending the signals would also close the
# test's database connection (Django's close_old_connections); the pages' tests send them.
def test_a_request_reads_the_loss_record_once_and_the_next_request_again(
    db, django_assert_num_queries
):
    for part in ("count", "rows"):
        caching.cached(caching.RECORD, (part,), lambda part=part: part)
    caching._request_started()
    try:
        with django_assert_num_queries(1):
            assert caching.cached(caching.RECORD, ("count",), lambda: "again") == "count"
            assert caching.cached(caching.RECORD, ("rows",), lambda: "again") == "rows"
    finally:
        caching._request_finished()
    # Another process lost an invalidation: the next request serves nothing from the cache.
    CacheState.objects.create(pk=1, invalidation_lost=uuid.uuid4())
    caching._request_started()
    try:
        assert caching.cached(caching.RECORD, ("rows",), lambda: "fresh") == "fresh"
    finally:
        caching._request_finished()


def test_outside_a_request_every_entry_found_reads_the_loss_record(db, django_assert_num_queries):
    for part in ("count", "rows"):
        caching.cached(caching.RECORD, (part,), lambda part=part: part)

    with django_assert_num_queries(2):
        caching.cached(caching.RECORD, ("count",), lambda: "again")
        caching.cached(caching.RECORD, ("rows",), lambda: "again")


def test_a_loss_this_request_records_is_read_by_its_later_entries(db, monkeypatch):
    caching.cached(caching.RECORD, ("rows",), lambda: "before the write")
    caching._request_started()
    try:
        assert caching.cached(caching.RECORD, ("rows",), lambda: "x") == "before the write"
        # This request's write: the bump after its commit does not reach the cache.
        monkeypatch.setattr(caching, "_bump_now", lambda *families: False)
        caching._bump_after_commit((caching.RECORD,))

        assert caching.cached(caching.RECORD, ("rows",), lambda: "after") == "after"
    finally:
        caching._request_finished()
