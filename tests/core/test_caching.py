"""core.caching: invalidations deferred over a long run of writes (a bulk import)."""

import pytest

from core import caching


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
