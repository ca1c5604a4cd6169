"""Windowed counters on the cache, for authentication lockouts and partner rate limits.

A window starts at its first hit and lasts ``window`` seconds; ``hit`` answers the count so far and the
seconds until the window ends (the ``Retry-After``). On Redis each call is one pipelined round trip; on
any other Django cache (files under var/cache in the embedded default) it is a few calls through Django's
cache API (not atomic across processes: a count may lose a hit under a race, which the embedded default can
afford).
"""

from __future__ import annotations

import threading
import time

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache

from orma import nearcache
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
        nearcache.announce([key])  # a process holding the old count drops it


counters = WindowCounters()


class _Batch:
    """One process's view of one windowed counter: Redis's count at the last flush, and its own hits since."""

    __slots__ = ("known", "pending", "window_end", "flushed_at")

    def __init__(self, known: int, window_end: float, flushed_at: float) -> None:
        self.known, self.pending, self.window_end, self.flushed_at = known, 0, window_end, flushed_at


class BatchedCounters:
    """Rate-limit counts kept per process and added to Redis in batches (``ORMA_RATE_LIMIT_BATCH`` hits, at
    most a tenth of the limit, or every ``FLUSH_SECONDS``), and at every hit once the count is within a batch
    of the limit.

    Counting every request in Redis was a round trip per request. Far from the limit no answer depends on
    the exact count, so a process adds its hits up and sends them in one ``INCRBY``; near the limit it
    sends every hit at once, so one process answers exactly as before (the 601st request of "600/minute"
    gets 429). With several processes the limit is exact to within a batch per other process that has hits
    not yet sent; hits of a process that dies unsent (at most a batch) are not counted. The window still
    starts at its first hit in any process and lasts its length (Redis's expiry).
    """

    FLUSH_SECONDS = 0.1

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._batches: dict[str, _Batch] = {}

    def hit(self, key: str, window: int, limit: int) -> tuple[int, int]:
        """Count one request; answer (count in the window so far, seconds left in it)."""
        client = redis_client()
        # a tenth of the limit at most, so a small limit stays exact across a few processes
        batch_size = min(settings.ORMA_RATE_LIMIT_BATCH, limit // 10)
        if client is None or batch_size <= 1:
            return counters.hit(key, window)
        now = time.monotonic()
        with self._lock:
            batch = self._batches.get(key)
            if batch is not None and now < batch.window_end:
                batch.pending += 1
                count = batch.known + batch.pending
                if (
                    batch.pending < batch_size
                    and count + batch_size < limit
                    and now - batch.flushed_at < self.FLUSH_SECONDS
                ):
                    return count, max(1, int(batch.window_end - now + 0.999))
                pending = batch.pending
            else:
                pending = 1  # the first hit in this process's view of the window: counted at once
            stored_key = raw_key(key)
            pipe = client.pipeline(transaction=False)
            pipe.incrby(stored_key, pending)
            pipe.expire(stored_key, window, nx=True)
            pipe.ttl(stored_key)
            count, _, ttl = pipe.execute()
            ttl = max(1, int(ttl))
            self._batches[key] = _Batch(int(count), now + ttl, now)
            if len(self._batches) > 10_000:  # old windows of partners gone quiet
                self._batches = {k: b for k, b in self._batches.items() if b.window_end > now}
            return int(count), ttl

    def observe(self, key: str, count: int, seconds_left: int) -> None:
        """Redis's count after a hit sent at once (by the request's cache round trip), so the batch agrees."""
        with self._lock:
            batch = self._batches.get(key)
            now = time.monotonic()
            if batch is None or now >= batch.window_end:
                self._batches[key] = _Batch(count, now + seconds_left, now)
            else:
                batch.known = count

    def reset(self) -> None:
        """Forget every unsent hit (between two tests)."""
        with self._lock:
            self._batches.clear()


batched = BatchedCounters()
