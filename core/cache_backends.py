"""A Redis cache that degrades to "nothing cached" when Redis is down or hung.

Django's RedisCache raises on a connection error, and its template `{% cache %}` tag and our
core.caching would turn that into a failed page or a failed save. Caching here only ever
saves work, so a failed cache call is logged and answered as a miss (reads) or ignored
(writes).

A hung Redis would still cost every cache call its socket timeout (a status update makes four,
a cold dashboard dozens). So a timeout or connection error also opens this process's breaker for
that Redis: for `breaker_seconds` (OPTIONS; CACHE_REDIS_BREAKER_SECONDS) no call is made at all,
reads answer "not cached" and writes report their keys as not set, then the next call probes
Redis again. A request under a hung Redis thus waits for at most one socket timeout per process
and period. Writes that were not set tell core.caching that an invalidation may be lost.
"""

import logging
import threading
import time

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# What a stopped, hung or unreachable Redis raises; any other error is a single failed call.
OUTAGE_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)
DEFAULT_BREAKER_SECONDS = 10.0


class Breaker:
    """Open for `seconds` after an outage error: calls to that Redis are not made meanwhile."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.open_until = 0.0

    def is_open(self) -> bool:
        return time.monotonic() < self.open_until

    def trip(self) -> None:
        self.open_until = time.monotonic() + self.seconds

    def close(self) -> None:
        self.open_until = 0.0


# Per process, not per cache object: Django makes a cache object per thread, and every thread
# of a process would otherwise pay its own timeout to learn what another already knows.
_breakers: dict[str, Breaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(location: str, *, seconds: float = DEFAULT_BREAKER_SECONDS) -> Breaker:
    with _breakers_lock:
        breaker = _breakers.get(location)
        if breaker is None:
            breaker = _breakers[location] = Breaker(seconds)
        breaker.seconds = seconds
        return breaker


def breakers_close() -> None:
    """Call every Redis again at once (tests; a process that knows Redis is back)."""
    with _breakers_lock:
        for breaker in _breakers.values():
            breaker.close()


def _forgiving(name: str, fallback, method=None):
    method = method or getattr(RedisCache, name)

    def answer(args, kwargs):
        return fallback(*args, **kwargs) if callable(fallback) else fallback

    def call(self, *args, **kwargs):
        if self.breaker.is_open():
            return answer(args, kwargs)
        try:
            return method(self, *args, **kwargs)
        except OUTAGE_ERRORS as error:
            self.breaker.trip()
            logger.warning(
                "Cache unreachable for %s (%s); not calling it for %s s.",
                name,
                error,
                self.breaker.seconds,
            )
        except Exception:  # a reply it could not use: this call alone goes without the cache
            logger.warning("Cache unavailable for %s; going on without it.", name, exc_info=True)
        return answer(args, kwargs)

    call.__name__ = name
    return call


def _default(key, default=None, *args, **kwargs):
    return default


# Sets the key to the number unless it holds a greater one, in one step (Redis runs a script
# alone): a read then a write would let two writers leave the smaller number. Both are written
# in decimal, so the longer is the greater (no rounding through Lua's doubles).
_KEEP_GREATEST = """
local kept = redis.call('GET', KEYS[1])
if not kept or #ARGV[1] > #kept or (#ARGV[1] == #kept and ARGV[1] > kept) then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
else
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 1
"""


def _keep_greatest(self, key, number: int, timeout: int, version=None) -> bool:
    """Keep the greater of the number and the one kept under key (core.replica's position);
    a plain integer, which Django's Redis cache stores as its digits and reads back."""
    key = self.make_and_validate_key(key, version=version)
    client = self._cache.get_client(key, write=True)
    client.eval(_KEEP_GREATEST, 1, key, int(number), int(timeout))
    return True


def _count_in_window(self, key, timeout: int, version=None) -> int:
    """Add one to the count under key, made 0 with `timeout` seconds to live if there is none,
    in one round trip (MULTI: SET NX EX, INCRBY) and one step: the API's rate limits
    (api.throttling) counted with Django's add() then incr() made three (SET NX, EXISTS,
    INCRBY) on every request. Django's Redis cache keeps an integer as its digits, so
    get() reads the count back."""
    key = self.make_and_validate_key(key, version=version)
    client = self._cache.get_client(key, write=True)
    pipeline = client.pipeline(transaction=True)
    pipeline.set(key, 0, nx=True, ex=int(timeout))
    pipeline.incrby(key, 1)
    return pipeline.execute()[1]


class ReusingRedisCacheClient(RedisCacheClient):
    """Django's client builds a new redis.Redis object for every cache call, which copies its
    table of about 170 response callbacks (0.4 ms of a 10 ms cached dashboard, py-spy). One
    per connection pool does the same: a redis.Redis takes a pooled connection per command and
    is safe to share between threads."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class ForgivingRedisCache(RedisCache):
    def __init__(self, server, params):
        options = dict(params.get("OPTIONS", {}))
        seconds = float(options.pop("breaker_seconds", DEFAULT_BREAKER_SECONDS))
        super().__init__(server, {**params, "OPTIONS": options})
        self._class = ReusingRedisCacheClient
        self.breaker = breaker_for(",".join(self._servers), seconds=seconds)

    get = _forgiving("get", _default)
    get_many = _forgiving("get_many", {})
    has_key = _forgiving("has_key", False)
    add = _forgiving("add", False)
    set = _forgiving("set", None)
    # The keys not set, as Django's set_many reports them: all of them.
    set_many = _forgiving("set_many", lambda data, *a, **k: list(data))
    touch = _forgiving("touch", False)
    delete = _forgiving("delete", False)
    delete_many = _forgiving("delete_many", None)
    incr = _forgiving("incr", None)
    clear = _forgiving("clear", None)
    keep_greatest = _forgiving("keep_greatest", False, _keep_greatest)
    count_in_window = _forgiving("count_in_window", None, _count_in_window)
