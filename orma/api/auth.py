"""Partner authentication: HTTP Basic against HMAC-hashed secrets, with lockout of guessers.

Every 401 is the same (no header, wrong scheme, bad base64, no colon, non-UTF-8, control characters, unknown
user, wrong secret) so that nothing tells an attacker which part was wrong, and an unknown username costs the
same work as a known one with a wrong secret (one cache round trip, no query once cached, one hash, two
constant-time comparisons), so neither does the time. After too many failures within the window, the
username at that client address, or the address, answers 429 with ``Retry-After`` until the window ends.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import re
from dataclasses import replace

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from orma import nearcache
from orma.crypto import hash_secret
from tenancy.selectors import (
    STALE,
    PartnerCredentials,
    cached_value,
    partner_cache_tag,
    partner_credentials_cache_key,
    partner_credentials_from_cache,
    partner_credentials_load,
    partner_generation,
    partner_generation_cache_key,
    partner_grant_cache_key,
)

from .access import AccessState, failure_key_for_address, failure_key_for_user, rate_key, read_access_state
from .counters import batched, counters
from .permissions import needs_grant, path_department
from .throttling import partner_rate, rate_window

REALM = 'Basic realm="OrMa"'
# No partner's hash: compared against when there is no real one, so every path compares twice.
_NO_HASH = "0" * 64
# C0 controls and DEL: no username has them; NUL answered 500 on PostgreSQL, which cannot compare it.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class LockedOut(exceptions.Throttled):
    """Too many failed authentications for this username at this address, or for this address."""


def client_address(request: HttpRequest) -> str:
    """``REMOTE_ADDR``, or the nearest untrusted hop of ``X-Forwarded-For`` behind a trusted proxy."""
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    trusted = settings.ORMA_TRUSTED_PROXIES
    if not trusted or remote not in trusted:
        return remote
    forwarded = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    # Walk from the nearest hop back; the first one that is not one of our proxies is the client.
    for hop in reversed(forwarded):
        if hop not in trusted:
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return remote  # a forged, unparsable hop: fall back to the proxy itself
    return remote


def parse_basic_credentials(header: str | None) -> tuple[str, str] | None:
    """(username, secret) from an ``Authorization: Basic ...`` header, or None when it is not well formed."""
    if not header:
        return None
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    username, colon, secret = decoded.partition(":")
    if not colon or not username or _CONTROL.search(username):
        return None
    return username, secret


def _secret_is_valid(credentials: PartnerCredentials | None, secret: str) -> bool:
    """The same work whoever asks: one hash, two constant-time comparisons (the current and the previous
    secret's hashes, or the stand-in when there is none), then the verdict."""
    presented = hash_secret(secret)
    current = credentials.secret_hash if credentials is not None else _NO_HASH
    previous = (credentials.previous_secret_hash if credentials is not None else "") or _NO_HASH
    matches_current = hmac.compare_digest(presented, current)
    matches_previous = hmac.compare_digest(presented, previous)
    if credentials is None:
        return False
    if matches_current:
        return True
    valid_until = credentials.previous_secret_valid_until
    return bool(
        matches_previous
        and credentials.previous_secret_hash
        and valid_until is not None
        and timezone.now() < valid_until
    )


class PartnerBasicAuthentication(BaseAuthentication):
    """HTTP Basic for partners; request.user becomes the partner's :class:`PartnerCredentials`.

    One cache round trip reads the lockout counters, the cached credentials (or the cached absence of a
    partner), the cached grant on the path's department with the partner's generation that says whether
    both are current (:mod:`tenancy.selectors`), and counts the request for the rate limit
    (:mod:`orma.api.access`); the throttle then only compares, and the permission only looks.
    """

    def authenticate_header(self, request: Request) -> str:
        return REALM

    def authenticate(self, request: Request) -> tuple[PartnerCredentials, None]:
        header = request.META.get("HTTP_AUTHORIZATION")
        presented = parse_basic_credentials(header)
        username = presented[0] if presented else None
        address = client_address(request)
        window = rate_window()
        state = read_access_state(
            username=username,
            address=address,
            credentials_key=partner_credentials_cache_key(username) if username is not None else None,
            generation_key=partner_generation_cache_key(username) if username is not None else None,
            # the grant the permission will check, read now in the same round trip
            grant_key=(
                partner_grant_cache_key(username, path_department(request))
                if username is not None and needs_grant(request)
                else None
            ),
            partner_tag=partner_cache_tag(username) if username is not None else None,
            window=window,
        )
        self._refuse_if_locked_out(state)
        if presented is None:
            if header is not None:  # a malformed header is a guess; no header at all is not
                self._count_failure(None, address)
            raise exceptions.AuthenticationFailed()
        username, secret = presented
        cached = cached_value(state.credentials, state.generation)
        if cached is not STALE:
            credentials = partner_credentials_from_cache(cached)
        else:
            generation = partner_generation(username=username, seen=state.generation)
            credentials = partner_credentials_load(username=username, generation=generation)
            state = replace(state, generation=generation)
        if not _secret_is_valid(credentials, secret) or credentials is None:
            self._count_failure(username, address)
            raise exceptions.AuthenticationFailed()
        requests = state.requests
        if requests is None:  # this process held everything: the request is counted here, in batches
            limit, window = partner_rate(credentials)
            requests = batched.hit(rate_key(username, window), window, limit)
        request._request.orma_rate = (window, requests)  # type: ignore[attr-defined]  # for the throttle
        request._request.orma_access = state  # type: ignore[attr-defined]  # the cached grant, for the permission
        return credentials, None

    def _refuse_if_locked_out(self, state: AccessState) -> None:
        count, seconds_left = state.user_failures
        if count >= settings.ORMA_AUTH_FAIL_LIMIT_USERNAME:
            raise LockedOut(wait=seconds_left)
        count, seconds_left = state.address_failures
        if count >= settings.ORMA_AUTH_FAIL_LIMIT_ADDRESS:
            raise LockedOut(wait=seconds_left)

    def _count_failure(self, username: str | None, address: str) -> None:
        window = settings.ORMA_AUTH_FAIL_WINDOW_SECONDS
        keys = [failure_key_for_address(address)]
        if username is not None:
            keys.append(failure_key_for_user(username, address))
        for key in keys:
            counters.hit(key, window)
        nearcache.announce(keys)  # every process drops the counts it held of these
