"""API clients of partners for the tests of every app (the only test helpers that know DRF)."""

from __future__ import annotations

import base64
import re
from typing import Any

from rest_framework.test import APIClient


def basic_auth(username: str, secret: str) -> str:
    """An ``Authorization`` header value for HTTP Basic."""
    return "Basic " + base64.b64encode(f"{username}:{secret}".encode()).decode()


def client_for(partner: Any) -> APIClient:
    """An API client authenticated as ``partner`` (made by :class:`PartnerFactory`)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic_auth(partner.username, partner.secret))
    return client


def without_error_uids(content: bytes) -> bytes:
    """A body with its errorUIDs blanked: they are unique per error (DESIGN §4), so two answers that must
    not tell one case from another (a foreign id, a missing one) are equal but for them."""
    return re.sub(rb'"errorUID": ?"[^"]*"', b'"errorUID": ""', content)


def comparable_headers(response: Any) -> list[tuple[str, str]]:
    """A response's headers but the rate limit's count and reset, which every answer moves on."""
    return sorted((k, v) for k, v in response.items() if k not in ("RateLimit-Remaining", "RateLimit-Reset"))
