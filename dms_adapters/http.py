"""What every HTTP DMS adapter shares: one ``requests.Session`` per adapter, fixed timeouts, status handling."""

from __future__ import annotations

from typing import Any

import requests

from .base import DmsAdapter, DmsError

CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 30
REACHABILITY_TIMEOUT_SECONDS = 3


class HttpDmsAdapter(DmsAdapter):
    """A DMS spoken to over HTTP at the dealer's base URL, with the dealer's DMS credentials (Basic)."""

    def __init__(self, dealer: Any) -> None:
        super().__init__(dealer)
        self.session = requests.Session()
        if dealer.dms_username:
            self.session.auth = (dealer.dms_username, dealer.dms_password)

    @property
    def base_url(self) -> str:
        return self.dealer.dms_base_url.rstrip("/")

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One HTTP exchange; a connection failure, a timeout or a 5xx is a transient :class:`DmsError`."""
        kwargs.setdefault("timeout", (CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS))
        kwargs.setdefault("allow_redirects", False)
        try:
            response = self.session.request(method, f"{self.base_url}{path}", **kwargs)
        except requests.RequestException as exc:
            raise DmsError(f"{type(exc).__name__} calling the DMS") from exc
        if response.status_code >= 500:
            raise DmsError(f"the DMS answered HTTP {response.status_code}")
        return response

    def reachability(self) -> str:
        if not self.dealer.dms_base_url:
            return "down: no base URL configured"
        try:
            # Any HTTP answer, even 401/404, means the DMS is there; only no answer is "down".
            response = self.session.head(
                self.dealer.dms_base_url, timeout=REACHABILITY_TIMEOUT_SECONDS, allow_redirects=False
            )
        except requests.RequestException as exc:
            return f"down: {type(exc).__name__}"
        if response.status_code >= 500:
            return f"down: HTTP {response.status_code}"
        return "ok"
