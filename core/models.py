"""What the database knows about the cache (core.caching): it outlives a Redis outage."""

from django.db import models


class CacheState(models.Model):
    """One row (pk 1). `invalidation_lost` is set, to a new value each time, when a write could
    not make the cached pages it changed stale (Redis hung or down at that moment); while it
    is set no cached entry is served, and the first reader that finds Redis answering again
    makes every entry stale and clears it (core.caching._cache_trusted)."""

    invalidation_lost = models.UUIDField(null=True, blank=True)

    def __str__(self) -> str:
        return "cache state"
