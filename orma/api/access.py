"""What authentication needs from the shared cache, read in one round trip.

For one request: the failure counts of the username at this client address and of the address (the lockout), the
partner's cached credentials, its cached grant on the department of the path, its generation (which tells
whether those two are current: tenancy.selectors), and the username's request count in the current rate-limit window
(counted now; a failed authentication counts too, which the lockout caps at a handful per window).
On Redis this is one pipeline; on any other Django cache (files in the embedded default) the
same answers come from a few in-process calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings

from orma.cache import decode_json, get_many_json, raw_key, redis_client
from orma.crypto import cache_key_part
from orma.nearcache import MISSING, NearCache, near_cache
from tenancy.selectors import STALE, cached_value

from .counters import batched, counters


@dataclass(frozen=True)
class AccessState:
    """The cache's view of one request's credentials."""

    user_failures: tuple[int, int]  # (count, seconds left in the window) of this username at this address
    address_failures: tuple[int, int]
    credentials: Any  # the partner's cached credentials (their JSON form), or None when not cached
    requests: tuple[int, int] | None  # (count, seconds left) in the rate window, None without a username
    generation: Any = None  # the partner's generation token (tenancy.selectors), None when there is none
    grant: Any = None  # the partner's cached grant on the path's department (stamped), or None


def failure_key_for_user(username: str, address: str) -> str:
    """The failures of one username from one client address: a guesser elsewhere never locks a partner out
    (a username alone was lockable by anyone who learnt it, for as long as they kept guessing)."""
    return f"authfail:user-addr:{cache_key_part(f'{address} {username}')}"


def failure_key_for_address(address: str) -> str:
    return f"authfail:addr:{cache_key_part(address)}"


def rate_key(username: str, window: int) -> str:
    return f"rate:user:{cache_key_part(username)}:{window}"


def read_access_state(
    *,
    username: str | None,
    address: str,
    credentials_key: str | None,
    generation_key: str | None = None,
    grant_key: str | None = None,
    partner_tag: str | None = None,
    window: int,
) -> AccessState:
    """Lockout counts, the partner's cached entries and generation, and this request's rate count, in one
    round trip on Redis, or none at all when this process holds them all (:mod:`orma.nearcache`; the
    request is then counted by the caller, ``requests`` None)."""
    address_key = failure_key_for_address(address)
    if username is None:
        return AccessState((0, 0), counters.peek([address_key])[address_key], None, None)
    user_key = failure_key_for_user(username, address)
    requests_key = rate_key(username, window)
    entry_keys = [key for key in (credentials_key, generation_key, grant_key) if key]
    near = near_cache() if credentials_key and generation_key and partner_tag else None
    sequence = 0
    if near is not None and near.poll():
        held = [near.get(key) for key in (user_key, address_key, credentials_key, generation_key) if key]
        held.append(near.get(grant_key) if grant_key else None)
        if MISSING not in held:
            user_count, address_count, cached, generation, grant = held
            return AccessState((user_count, 0), (address_count, 0), cached, None, generation, grant)
        sequence = near.sequence
    else:
        near = None
    client = redis_client()
    if client is None:
        failures = counters.peek([user_key, address_key])
        entries = get_many_json(entry_keys) if entry_keys else {}
        return AccessState(
            failures[user_key],
            failures[address_key],
            entries.get(credentials_key) if credentials_key else None,
            counters.hit(requests_key, window),
            entries.get(generation_key) if generation_key else None,
            entries.get(grant_key) if grant_key else None,
        )

    raw = {key: raw_key(key) for key in (user_key, address_key, requests_key)}
    # one MGET for the counts and the entries (an unknown username reads as many keys as a known one)
    keys = [user_key, address_key, credentials_key or user_key, generation_key or user_key, grant_key or user_key]
    pipe = client.pipeline(transaction=False)
    pipe.mget([raw.get(key) or raw_key(key) for key in keys])
    pipe.incr(raw[requests_key])
    pipe.expire(raw[requests_key], window, nx=True)
    pipe.ttl(raw[requests_key])
    (user_count, address_count, cached, generation, grant), count, _, ttl = pipe.execute()
    user_count, address_count = int(user_count or 0), int(address_count or 0)
    # The seconds left of a failure window are only the Retry-After of a lockout: asked for only then.
    user_ttl = address_ttl = 0
    if user_count >= settings.ORMA_AUTH_FAIL_LIMIT_USERNAME or address_count >= settings.ORMA_AUTH_FAIL_LIMIT_ADDRESS:
        user_ttl, address_ttl = client.pipeline(transaction=False).ttl(raw[user_key]).ttl(raw[address_key]).execute()
    state = AccessState(
        (user_count, max(0, int(user_ttl))),
        (address_count, max(0, int(address_ttl))),
        decode_json(cached) if credentials_key else None,
        (int(count), max(1, int(ttl))),
        decode_json(generation) if generation_key else None,
        decode_json(grant) if grant_key else None,
    )
    batched.observe(requests_key, *state.requests)  # type: ignore[misc]
    if near is not None:
        _hold(near, sequence, state, user_key, address_key, credentials_key, generation_key, grant_key, partner_tag)
    return state


def _hold(
    near: NearCache,
    sequence: int,
    state: AccessState,
    user_key: str,
    address_key: str,
    credentials_key: Any,
    generation_key: Any,
    grant_key: Any,
    partner_tag: Any,
) -> None:
    """Keep in this process what the next requests can use as read: counts below their lockout, and the
    partner's entries once they are current (a stale one is reloaded first, by this request)."""
    for key, (count, _), limit in (
        (user_key, state.user_failures, settings.ORMA_AUTH_FAIL_LIMIT_USERNAME),
        (address_key, state.address_failures, settings.ORMA_AUTH_FAIL_LIMIT_ADDRESS),
    ):
        if count < limit:
            near.store({key: count}, tag=key, sequence=sequence)
    if cached_value(state.credentials, state.generation) is STALE:
        return
    entries = {credentials_key: state.credentials, generation_key: state.generation}
    grant = cached_value(state.grant, state.generation) if grant_key else None
    if grant_key and grant is not STALE and grant is not None:
        entries[grant_key] = state.grant
    near.store(entries, tag=partner_tag, sequence=sequence)
