"""The per-partner request rate limit (default 600/minute, overridable per partner), announced on every
partner answer in the IETF draft's separate headers (draft-ietf-httpapi-ratelimit-headers, the form of
its versions up to -06, which most clients read):

    RateLimit-Limit: 600          the requests of the window
    RateLimit-Remaining: 599      left in the current window
    RateLimit-Reset: 42           seconds until the window ends
    RateLimit-Policy: 600;w=60    the quota policy: 600 per 60-second window

and the limit of anonymous requests to the open pages (the schema and its docs), per client address.
"""

from __future__ import annotations

import functools
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from orma.crypto import cache_key_part
from tenancy.selectors import PartnerCredentials

from .access import rate_key
from .counters import counters

_PERIODS = {"second": 1, "minute": 60, "hour": 3600}


@functools.lru_cache(maxsize=64)
def parse_rate(rate: str) -> tuple[int, int]:
    """``"600/minute"`` -> (600, 60)."""
    count, _, period = rate.partition("/")
    try:
        return int(count), _PERIODS[period.strip().lower()]
    except (ValueError, KeyError):
        raise ImproperlyConfigured(f"a rate is N/second, N/minute or N/hour, not {rate!r}") from None


def rate_window() -> int:
    """The length in seconds of the default rate-limit window (60 for "600/minute")."""
    return parse_rate(settings.ORMA_PARTNER_RATE_LIMIT)[1]


def partner_rate(partner: PartnerCredentials) -> tuple[int, int]:
    """The partner's (requests, window seconds): its own per-minute limit, or the default."""
    if partner.rate_limit_per_minute is not None:
        return partner.rate_limit_per_minute, 60
    return parse_rate(settings.ORMA_PARTNER_RATE_LIMIT)


class PartnerRateThrottle(BaseThrottle):
    """Fixed windows per partner, counted in the shared cache (all workers see one count).

    Authentication already counted the request in the default window (same round trip); a partner
    whose own limit is per minute while the default window is not gets one more count here.
    """

    def __init__(self) -> None:
        self._wait = 0

    def allow_request(self, request: Request, view: Any) -> bool:
        partner: PartnerCredentials | None = request.user  # type: ignore[assignment]
        if partner is None:
            return True
        limit, period = partner_rate(partner)
        counted_window, counted = getattr(request._request, "orma_rate", (None, None))
        if counted is None or counted_window != period:
            counted = counters.hit(rate_key(partner.username, period), period)
        count, seconds_left = counted
        request._request.orma_rate_headers = rate_limit_headers(limit, period, count, seconds_left)  # type: ignore[attr-defined]
        if count > limit:
            self._wait = seconds_left
            return False
        return True

    def wait(self) -> float:
        return self._wait


def rate_limit_headers(limit: int, period: int, count: int, seconds_left: int) -> dict[str, str]:
    """The ``RateLimit-*`` headers of an answer counted as the ``count``-th of its window."""
    return {
        "RateLimit-Limit": str(limit),
        "RateLimit-Remaining": str(max(0, limit - count)),
        "RateLimit-Reset": str(max(0, seconds_left)),
        "RateLimit-Policy": f"{limit};w={period}",
    }


class AnonymousRateThrottle(BaseThrottle):
    """Anonymous requests to the open pages, per client address (``ORMA_ANON_RATE_LIMIT``, 60/minute)."""

    def __init__(self) -> None:
        self._wait = 0

    def allow_request(self, request: Request, view: Any) -> bool:
        from .auth import client_address  # auth imports this module

        limit, period = parse_rate(settings.ORMA_ANON_RATE_LIMIT)
        count, seconds_left = counters.hit(f"rate:anon:{cache_key_part(client_address(request))}", period)
        request._request.orma_rate_headers = rate_limit_headers(limit, period, count, seconds_left)  # type: ignore[attr-defined]
        if count > limit:
            self._wait = seconds_left
            return False
        return True

    def wait(self) -> float:
        return self._wait
