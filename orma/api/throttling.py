"""The per-partner request rate limit (default 600/minute, overridable per partner)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from .counters import counters

_PERIODS = {"second": 1, "minute": 60, "hour": 3600}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"600/minute"`` -> (600, 60)."""
    count, _, period = rate.partition("/")
    try:
        return int(count), _PERIODS[period.strip().lower()]
    except (ValueError, KeyError):
        raise ImproperlyConfigured(f"a rate is N/second, N/minute or N/hour, not {rate!r}") from None


class PartnerRateThrottle(BaseThrottle):
    """Fixed one-period windows per partner, counted in the shared cache (all workers see one count)."""

    def __init__(self) -> None:
        self._wait = 0

    def allow_request(self, request: Request, view: Any) -> bool:
        partner = request.user
        if partner is None:
            return True
        limit, period = parse_rate(settings.ORMA_PARTNER_RATE_LIMIT)
        if partner.rate_limit_per_minute is not None:
            limit, period = partner.rate_limit_per_minute, 60
        count, seconds_left = counters.hit(f"rate:{partner.id}", period)
        if count > limit:
            self._wait = seconds_left
            return False
        return True

    def wait(self) -> float:
        return self._wait
