"""What authentication needs from the shared cache, read in one round trip.

For one request: the failure counts of the username at this client address and of the address (the lockout), the
partner's cached credentials, and the username's request count in the current rate-limit window
(counted now; a failed authentication counts too, which the lockout caps at a handful per window).
On Redis this is one pipeline; on any other Django cache (files in the embedded default) the
same answers come from a few in-process calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orma.cache import decode_json, get_json, raw_key, redis_client
from orma.crypto import cache_key_part

from .counters import counters

_UNCACHED = object()


@dataclass(frozen=True)
class AccessState:
    """The cache's view of one request's credentials."""

    user_failures: tuple[int, int]  # (count, seconds left in the window) of this username at this address
    address_failures: tuple[int, int]
    credentials: Any  # the partner's cached credentials (their JSON form), or None when not cached
    requests: tuple[int, int] | None  # (count, seconds left) in the rate window, None without a username


def failure_key_for_user(username: str, address: str) -> str:
    """The failures of one username from one client address: a guesser elsewhere never locks a partner out
    (a username alone was lockable by anyone who learnt it, for as long as they kept guessing)."""
    return f"authfail:user-addr:{cache_key_part(f'{address} {username}')}"


def failure_key_for_address(address: str) -> str:
    return f"authfail:addr:{cache_key_part(address)}"


def rate_key(username: str, window: int) -> str:
    return f"rate:user:{cache_key_part(username)}:{window}"


def read_access_state(*, username: str | None, address: str, credentials_key: str | None, window: int) -> AccessState:
    """Lockout counts, cached credentials and this request's rate count, in one round trip on Redis."""
    address_key = failure_key_for_address(address)
    if username is None:
        return AccessState((0, 0), counters.peek([address_key])[address_key], None, None)
    user_key = failure_key_for_user(username, address)
    requests_key = rate_key(username, window)
    client = redis_client()
    if client is None:
        failures = counters.peek([user_key, address_key])
        credentials = get_json(credentials_key) if credentials_key else None
        return AccessState(failures[user_key], failures[address_key], credentials, counters.hit(requests_key, window))

    raw = {key: raw_key(key) for key in (user_key, address_key, requests_key)}
    pipe = client.pipeline(transaction=False)
    for key in (user_key, address_key):
        pipe.get(raw[key])
        pipe.ttl(raw[key])
    pipe.get(raw_key(credentials_key) if credentials_key else raw[user_key])  # same work either way
    pipe.incr(raw[requests_key])
    pipe.expire(raw[requests_key], window, nx=True)
    pipe.ttl(raw[requests_key])
    user_count, user_ttl, address_count, address_ttl, cached, count, _, ttl = pipe.execute()
    credentials = decode_json(cached) if credentials_key else None
    return AccessState(
        (int(user_count or 0), max(0, int(user_ttl))),
        (int(address_count or 0), max(0, int(address_ttl))),
        credentials,
        (int(count), max(1, int(ttl))),
    )
