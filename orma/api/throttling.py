"""The per-partner request rate limit (default 600/minute, overridable per partner)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from tenancy.selectors import PartnerCredentials

from .access import rate_key
from .counters import counters

_PERIODS = {"second": 1, "minute": 60, "hour": 3600}


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
        limit, period = parse_rate(settings.ORMA_PARTNER_RATE_LIMIT)
        if partner.rate_limit_per_minute is not None:
            limit, period = partner.rate_limit_per_minute, 60
        counted_window, counted = getattr(request._request, "orma_rate", (None, None))
        if counted is None or counted_window != period:
            counted = counters.hit(rate_key(partner.username, period), period)
        count, seconds_left = counted
        if count > limit:
            self._wait = seconds_left
            return False
        return True

    def wait(self) -> float:
        return self._wait
