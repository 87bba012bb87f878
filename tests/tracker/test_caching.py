"""The cache is a convenience, never a dependency: with Redis gone or hung, pages and saves work."""

import datetime
import os
import socket
from unittest import mock

import pytest
from django.test import override_settings

from commitments.statuses import Status
from tests.factories import CommitmentFactory


@pytest.fixture(params=["stopped", "hung"])
def unreachable_redis(request):
    """A Redis address where nothing answers: refused ("stopped") or silent ("hung")."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    if request.param == "stopped":
        listener.close()
    else:
        listener.listen(8)  # the kernel accepts connections; nobody ever replies
    cache = {
        "BACKEND": "core.cache_backends.ForgivingRedisCache",
        "LOCATION": f"redis://127.0.0.1:{port}/0",
        "OPTIONS": {"socket_timeout": 0.2, "socket_connect_timeout": 0.2},
    }
    with override_settings(CACHES={"default": cache}):
        yield
    listener.close()


def test_a_status_update_saves_and_the_dashboard_shows_it_without_the_cache(
    secretariat_client, unreachable_redis
):
    commitment = CommitmentFactory(title="OCHA office in Central Asia")
    form = {
        "status": Status.ACHIEVED,
        "progress": "100",
        "progress_reason": "As the latest report says.",
        "happened_on": datetime.date(2026, 1, 12).isoformat(),
        "narrative": "Office opened.",
        "visibility": "public",
        "version": str(commitment.version),
    }

    saved = secretariat_client.post(commitment.get_absolute_url(), form)
    dashboard = secretariat_client.get("/")

    assert saved.status_code == 302
    commitment.refresh_from_db()
    assert commitment.status == Status.ACHIEVED
    assert dashboard.status_code == 200
    assert "Office opened." in dashboard.content.decode()


def test_the_public_calendar_feed_is_served_without_the_cache(client, db, unreachable_redis):
    response = client.get("/calendar.ics")

    assert response.status_code == 200
    assert response.content.startswith(b"BEGIN:VCALENDAR")


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (CI sets it)")
def test_with_redis_up_the_cache_keeps_what_it_is_given():
    location = os.environ["REDIS_URL"]
    with override_settings(
        CACHES={
            "default": {
                "BACKEND": "core.cache_backends.ForgivingRedisCache",
                "LOCATION": location,
            }
        }
    ):
        from django.core.cache import cache

        cache.set("tracker:test:kept", {"counts": [1, 2]}, 30)
        assert cache.get("tracker:test:kept") == {"counts": [1, 2]}
        cache.delete("tracker:test:kept")


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (CI sets it)")
def test_the_redis_client_is_made_once_and_reused():
    from core.cache_backends import ForgivingRedisCache

    cache = ForgivingRedisCache(os.environ["REDIS_URL"], {})
    cache.set("tracker:test:reused", 1, 30)

    assert cache._cache.get_client() is cache._cache.get_client(write=True)
    assert cache.get("tracker:test:reused") == 1
    cache.delete("tracker:test:reused")


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (CI sets it)")
def test_redis_keeps_the_greatest_number_it_was_given():
    """The read replica's position (core.replica) is only ever raised, in one step, and expires
    like every key."""
    from core.cache_backends import ForgivingRedisCache

    cache, key = ForgivingRedisCache(os.environ["REDIS_URL"], {}), "tracker:test:greatest"
    kept = []
    for number in (500, 400, 1000, 999, 2**62 + 1):
        assert cache.keep_greatest(key, number, 30) is True
        kept.append(cache.get(key))

    assert kept == [500, 500, 1000, 1000, 2**62 + 1]
    assert 0 < cache._cache.get_client().ttl(cache.make_and_validate_key(key)) <= 30
    cache.delete(key)


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (CI sets it)")
def test_redis_counts_a_window_in_one_round_trip():
    """The API's rate limits (api.throttling) count each request with one call to Redis: the
    count starts at 1 with the window's time to live, which later counts do not move."""
    from redis.connection import Connection

    from core.cache_backends import ForgivingRedisCache

    cache, key = ForgivingRedisCache(os.environ["REDIS_URL"], {}), "tracker:test:window"
    cache.delete(key)
    sent = []
    original = Connection.send_packed_command

    def counting(connection, *args, **kwargs):
        sent.append(args)
        return original(connection, *args, **kwargs)

    with mock.patch.object(Connection, "send_packed_command", counting):
        counts = [cache.count_in_window(key, 30) for _request in range(3)]

    assert counts == [1, 2, 3]
    assert len(sent) == 3  # one a count
    assert cache.get(key) == 3
    assert 0 < cache._cache.get_client().ttl(cache.make_and_validate_key(key)) <= 30
    cache.delete(key)
