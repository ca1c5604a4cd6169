"""The shared cache as the request's hot path uses it: windowed counters and small JSON values.

On Redis (``CACHE_URL``) OrMa keeps one redis-py client per process, built with redis-py's public
``Redis.from_url`` from the cache's own ``LOCATION`` and ``OPTIONS``, and names its keys with Django's
public ``make_and_validate_key``: Django's ``cache.delete`` and ``cache.clear`` reach them, and nothing
leans on a private attribute of Django's cache backend. (Django's backend builds a new ``redis.Redis`` on
every call, ~180 µs with redis-py 8, three times per request before OrMa kept its own client.) Values
OrMa writes itself are JSON, so they read back the same through either path.

On any other cache (files under var/cache in the embedded default) the same calls go through Django's cache API.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache


@functools.cache
def _client(location: str, options: tuple[tuple[str, Any], ...]) -> redis.Redis:
    return redis.Redis.from_url(location, **dict(options))


_last: tuple[Any, redis.Redis | None] = (None, None)  # (the configuration, its client): asked several times a request


def redis_client() -> redis.Redis | None:
    """The process's Redis client for the default cache, or None when the cache is not Redis."""
    global _last
    config: dict[str, Any] = settings.CACHES["default"]
    if _last[0] is config:
        return _last[1]
    client = None
    if str(config["BACKEND"]).endswith(".RedisCache"):
        location = config["LOCATION"]
        first = location[0] if isinstance(location, list | tuple) else str(location).split(",")[0]
        client = _client(first, tuple(sorted(dict(config.get("OPTIONS", {})).items())))
    _last = (config, client)
    return client


def raw_key(key: str) -> str:
    """The key as the cache stores it (prefix and version applied), for commands sent to Redis directly."""
    return cache.make_and_validate_key(key)


def get_json(key: str) -> Any:
    """A value stored by :func:`set_json`, or None."""
    client = redis_client()
    raw = client.get(raw_key(key)) if client is not None else cache.get(key)
    return decode_json(raw)


def decode_json(raw: bytes | str | None) -> Any:
    return None if raw is None else json.loads(raw)


def set_json(key: str, value: Any, timeout: int) -> None:
    """Store a JSON-serialisable value for ``timeout`` seconds."""
    text = json.dumps(value, separators=(",", ":"))
    client = redis_client()
    if client is not None:
        client.set(raw_key(key), text, ex=timeout)
    else:
        cache.set(key, text, timeout)


def add_json(key: str, value: Any, timeout: int) -> bool:
    """Store a JSON-serialisable value unless the key holds one already; answers whether it was stored."""
    text = json.dumps(value, separators=(",", ":"))
    client = redis_client()
    if client is not None:
        return bool(client.set(raw_key(key), text, ex=timeout, nx=True))
    return cache.add(key, text, timeout)


def get_many_json(keys: list[str]) -> dict[str, Any]:
    """The values :func:`set_json` stored under these keys (None for each absent one), in one round trip."""
    client = redis_client()
    if client is not None:
        raws = client.mget([raw_key(key) for key in keys])
        return {key: decode_json(raw) for key, raw in zip(keys, raws, strict=True)}
    found = cache.get_many(keys)
    return {key: decode_json(found.get(key)) for key in keys}
