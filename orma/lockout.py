"""Admin login lockout (django-axes): the backend, and what the support command lifts.

Failures are counted per (username, client address) and per client address, the address as the API sees it
(``orma.api.auth.client_address``: ``X-Forwarded-For`` only behind ``ORMA_TRUSTED_PROXIES``). Without this,
25 wrong passwords and then the right one logged in.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.utils import reset

from orma.api.auth import client_address


class AdminLockoutBackend(AxesStandaloneBackend):
    """Axes' check before Django's ModelBackend. An ``authenticate()`` without a request never comes from a
    login page (the test client's ``login()``, a shell): it is left to the next backend instead of raising."""

    def authenticate(
        self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def admin_client_address(request: Any) -> str:
    """The client address as the API resolves it, as an IP address (axes stores one): a request without a
    peer address (the test client's, a unix socket's) counts as 0.0.0.0."""
    address = client_address(request)
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return "0.0.0.0"
    return address


def admin_lockout_lift(*, username: str | None = None, address: str | None = None) -> int:
    """Forget the failed admin logins of a username, an address, or both together; answers how many."""
    if username is None and address is None:
        raise ValueError("name a username, an address, or both")
    return reset(ip=address, username=username)
