"""What every HTTP DMS adapter shares: one ``requests.Session`` per adapter, fixed timeouts, status handling.

The base sorts every answer that says nothing about the order itself into a transient :class:`DmsError`,
and hands the rest (2xx and the business 4xx) to the protocol adapter, which reads its body:

- no connection, a reset: ``connection``; a connect or read timeout: ``timeout`` (the push carries an
  idempotency key, so a late success is not doubled by the next attempt);
- 3xx: ``configuration``: redirects are not followed (the credentials must not travel to another host),
  so the base URL is wrong;
- 401, 403, 407: ``configuration``: OrMa's credentials for this dealer are wrong. No fault of the order,
  which goes through once they are fixed, so not a refusal to report to the partner;
- 408, 425, 429: the DMS asks to come back later (429: ``rate_limited``), ``Retry-After`` kept;
- 5xx: ``server``, ``Retry-After`` kept when sent (503);
- any other 4xx and every 2xx: the protocol adapter's to read (a business answer).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings

from .base import DmsAdapter, DmsError, Reason, RequestSummary, current_attempt

CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 30
REACHABILITY_TIMEOUT_SECONDS = 3
CORRELATION_HEADER = "X-Correlation-ID"

_CONFIGURATION_STATUSES = {
    401: "the DMS refused OrMa's credentials for this dealer",
    403: "the DMS refused OrMa's credentials for this dealer",
    407: "a proxy on the way to the DMS asks for credentials",
}
_COME_BACK_LATER_STATUSES = {408: Reason.TIMEOUT, 425: Reason.RATE_LIMITED, 429: Reason.RATE_LIMITED}


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """``Retry-After`` in seconds from now: delta-seconds or an HTTP date (RFC 9110 §10.2.3); None when absent
    or unreadable, 0 for a date in the past."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:  # an HTTP date is GMT; a zone-less one is read as such
        moment = moment.replace(tzinfo=dt.UTC)
    return max(0.0, (moment - (now or dt.datetime.now(dt.UTC))).total_seconds())


def _failure_reason(exc: requests.RequestException) -> Reason:
    # A read timeout while the body streams in reaches us as a ConnectionError wrapping urllib3's
    # ReadTimeoutError: it is still a timeout.
    if isinstance(exc, requests.Timeout) or "timed out" in str(exc).lower():
        return Reason.TIMEOUT
    if isinstance(exc, requests.ConnectionError):
        return Reason.CONNECTION
    return Reason.CONFIGURATION  # an invalid URL, a missing schema: the dealer's settings


def unreachable_reason(exc: requests.RequestException) -> str:
    """Why a DMS gave no answer, as support reads it: "connection refused", "timed out after 3 s", the
    name that does not resolve ... (the innermost cause's own words, not only the exception's class)."""
    cause: BaseException = exc
    while cause.__context__ is not None and cause.__context__ is not cause:
        cause = cause.__context__
    text = str(cause) or str(exc)
    for known, said in (
        ("Connection refused", "connection refused"),
        ("Name or service not known", "the host name does not resolve"),
        ("Temporary failure in name resolution", "the host name does not resolve"),
        ("No route to host", "no route to the host"),
        ("Network is unreachable", "the network is unreachable"),
    ):
        if known in text:
            return said
    if isinstance(exc, requests.Timeout) or "timed out" in text.lower():
        return f"no answer within {REACHABILITY_TIMEOUT_SECONDS} s (timeout)"
    return f"{type(exc).__name__}: {text[:200]}"


class HttpDmsAdapter(DmsAdapter):
    """A DMS spoken to over HTTP at the dealer's base URL, with the dealer's DMS credentials (Basic)."""

    # Instance-overridable, so a test can make a hanging DMS time out in a fraction of a second.
    connect_timeout: float = CONNECT_TIMEOUT_SECONDS
    read_timeout: float = READ_TIMEOUT_SECONDS

    def __init__(self, dealer: Any) -> None:
        super().__init__(dealer)
        # the deployment's timeouts (settings ORMA_DMS_*_TIMEOUT_SECONDS: 5 s and 30 s unless told)
        self.connect_timeout = settings.ORMA_DMS_CONNECT_TIMEOUT_SECONDS
        self.read_timeout = settings.ORMA_DMS_READ_TIMEOUT_SECONDS
        self.session = requests.Session()
        if dealer.dms_username:
            self.session.auth = (dealer.dms_username, dealer.dms_password)

    @property
    def base_url(self) -> str:
        return self.dealer.dms_base_url.rstrip("/")

    @property
    def reachability_url(self) -> str:
        return self.dealer.dms_base_url

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One HTTP exchange to ``path`` under the base URL (or to a whole URL the adapter built from it),
        recorded in the current attempt's summary. Answers a 2xx or a business 4xx; raises a transient
        :class:`DmsError` for everything else (see the module's table)."""
        kwargs.setdefault("timeout", (self.connect_timeout, self.read_timeout))
        kwargs.setdefault("allow_redirects", False)
        url = path if "://" in path else f"{self.base_url}{path}"
        attempt = current_attempt()
        if attempt is not None:
            kwargs["headers"] = {CORRELATION_HEADER: attempt.correlation_id, **kwargs.get("headers", {})}
        split = urlsplit(url)
        summary_path = split.path + (f"?{split.query}" if split.query else "")
        started = time.monotonic()
        try:
            response = self.session.request(method, url, **kwargs)
        except requests.RequestException as exc:
            if attempt is not None:
                attempt.requests.append(
                    RequestSummary(method, summary_path, None, _elapsed_ms(started), type(exc).__name__)
                )
            raise DmsError(f"{type(exc).__name__} calling the DMS", reason=_failure_reason(exc)) from exc
        if attempt is not None:
            attempt.requests.append(RequestSummary(method, summary_path, response.status_code, _elapsed_ms(started)))
        self._raise_for_transient(response)
        return response

    @staticmethod
    def _raise_for_transient(response: requests.Response) -> None:
        status = response.status_code
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if 300 <= status < 400:
            location = response.headers.get("Location", "")
            raise DmsError(
                f"the DMS answered HTTP {status} (a redirect to {location or 'nowhere'}): "
                "check the dealer's DMS base URL",
                reason=Reason.CONFIGURATION,
                status_code=status,
            )
        if status in _CONFIGURATION_STATUSES:
            raise DmsError(
                f"{_CONFIGURATION_STATUSES[status]} (HTTP {status}): check the dealer's DMS username and password",
                reason=Reason.CONFIGURATION,
                status_code=status,
            )
        if status in _COME_BACK_LATER_STATUSES:
            raise DmsError(
                f"the DMS answered HTTP {status}: come back later",
                reason=_COME_BACK_LATER_STATUSES[status],
                retry_after=retry_after,
                status_code=status,
            )
        if status >= 500:
            raise DmsError(
                f"the DMS answered HTTP {status}", reason=Reason.SERVER, retry_after=retry_after, status_code=status
            )

    @staticmethod
    def json_object(response: requests.Response) -> dict[str, Any] | None:
        """The answer's body when it is a JSON object, else None."""
        try:
            body = response.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def reachability(self) -> str:
        if not self.dealer.dms_base_url:
            return "down: no base URL configured"
        try:
            # Any HTTP answer, even 401/404, means the DMS is there; only no answer is "down".
            response = self.session.head(
                self.reachability_url, timeout=REACHABILITY_TIMEOUT_SECONDS, allow_redirects=False
            )
        except requests.RequestException as exc:
            return f"down: {unreachable_reason(exc)}"
        if response.status_code >= 500:
            return f"down: HTTP {response.status_code}"
        return "ok"


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
