"""Windowed counters on the cache, for authentication lockouts and partner rate limits.

A window starts at its first hit and lasts ``window`` seconds; ``hit`` answers the count so far and the
seconds until the window ends (the ``Retry-After``). On Redis each call is one pipelined round trip; on
any other Django cache (files under var/cache in the embedded default) it is a few calls through Django's
cache API (not atomic across processes: a count may lose a hit under a race, which the embedded default can
afford).
"""

from __future__ import annotations

import time

from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache

from orma.cache import raw_key, redis_client


def _seconds_left(end: float | None, now: float) -> int:
    return max(1, int(end - now + 0.999)) if end else 1


class WindowCounters:
    """Fixed windows, starting at the first hit, on Django's default cache."""

    def hit(self, key: str, window: int) -> tuple[int, int]:
        """Count one event; answer (count in the window, seconds left in it)."""
        client = redis_client()
        if client is not None:
            stored_key = raw_key(key)
            pipe = client.pipeline(transaction=False)
            pipe.incr(stored_key)
            pipe.expire(stored_key, window, nx=True)
            pipe.ttl(stored_key)
            count, _, ttl = pipe.execute()
            return int(count), max(1, int(ttl))
        now = time.time()
        cache.add(f"{key}:end", now + window, window)
        end = cache.get(f"{key}:end") or now + window
        if isinstance(
            caches["default"], LocMemCache
        ):  # its incr keeps the entry's expiry, atomically within the process
            cache.add(key, 0, window)
            try:
                count = cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, window)
                count = 1
        else:
            # Django's generic incr (the file cache's) re-sets the value with the default timeout, so the
            # window would never end: the count is written with what is left of the window instead
            count = int(cache.get(key) or 0) + 1
            cache.set(key, count, max(0.001, end - now))
        return count, _seconds_left(end, now)

    def peek(self, keys: list[str]) -> dict[str, tuple[int, int]]:
        """Current (count, seconds left) of each key, without counting; absent keys answer (0, 0)."""
        client = redis_client()
        if client is not None:
            pipe = client.pipeline(transaction=False)
            for key in keys:
                pipe.get(raw_key(key))
                pipe.ttl(raw_key(key))
            values = pipe.execute()
            return {key: (int(values[2 * i] or 0), max(0, int(values[2 * i + 1]))) for i, key in enumerate(keys)}
        now = time.time()
        found = cache.get_many([*keys, *(f"{key}:end" for key in keys)])
        return {key: (int(found.get(key, 0)), _seconds_left(found.get(f"{key}:end"), now)) for key in keys}

    def clear(self, key: str) -> None:
        cache.delete_many([key, f"{key}:end"])


counters = WindowCounters()
