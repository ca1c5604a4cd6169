"""API clients of partners for the tests of every app (the only test helpers that know DRF)."""

from __future__ import annotations

import base64
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
