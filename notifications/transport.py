"""One webhook request (DESIGN §7): Standard Webhooks headers, a hard deadline, SSRF checked at connect time.

- One ``requests.Session`` per process (pooled keep-alive connections), never the environment's proxies or
  ``.netrc`` (``trust_env = False``: a proxy would make the peer address meaningless, and credentials must
  not leak to partners).
- Headers: ``webhook-id`` (the delivery's, the same on every retry and redelivery), ``webhook-timestamp`` (this
  attempt's), ``webhook-signature`` (one ``v1,`` signature per secret in use: both during a rotation's
  overlap), ``content-type: application/json``, a ``User-Agent``.
- Redirects are not followed: a 3xx is a failure like any other non-2xx.
- The whole request (connect, send, headers, body) is cut at ``ORMA_WEBHOOK_TIMEOUT_SECONDS``: a socket
  timeout alone bounds each read, not their sum, so an endpoint dripping a byte a second would hold a worker
  for ever. A watchdog thread shuts the connection's socket down at the deadline, which ends any read
  blocked on it. At most 64 KiB of the answer is read (the log keeps that much); the rest is not drained
  (that connection is closed; one whose answer was read to its end goes back to the pool, kept alive).
- Connect-time SSRF: the address the socket is actually connected to (``getpeername``, right after the TCP
  connect and before a byte is sent, TLS included) is judged by ``notifications.ssrf.address_refusal``. A name
  that resolved to a public address when the subscription was saved and to an internal one now (DNS
  rebinding) is refused here. TLS SNI and ``Host`` keep the name.
"""

from __future__ import annotations

import email.utils
import heapq
import itertools
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from .signing import signature_header

USER_AGENT = "OrMa-Webhooks/1.0 (+https://www.standardwebhooks.com/)"
BODY_LIMIT = 64 * 1024  # the answer's bytes read and kept in the delivery log


@dataclass(frozen=True)
class Result:
    """What one request came to: the status (None without an HTTP answer), the first 64 KiB of the answer,
    why it failed, how long it took, and the endpoint's ``Retry-After`` in seconds when it gave one."""

    status_code: int | None
    body: str = ""
    error: str = ""
    duration_ms: int = 0
    retry_after: float | None = None
    timed_out: bool = False  # cut at the deadline: the endpoint hangs (or drips)

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300 and not self.error

    def summary(self) -> str:
        """One line for ``Delivery.last_error``."""
        if self.error:
            return self.error[:2000]
        return f"HTTP {self.status_code}"


class RefusedAddress(Exception):
    """The socket reached an address OrMa must not connect to (checked before a byte was sent)."""


# --- the deadline ------------------------------------------------------------------------------------


class _Request:
    """One request under a deadline: the connection it runs on (set when it is sent), whether it was cut."""

    __slots__ = ("connection", "cut", "done", "deadline")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.connection: Any = None
        self.cut = False
        self.done = False


class _Watchdog:
    """One thread per process that shuts down the socket of each request still running at its deadline."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._heap: list[tuple[float, int, _Request]] = []
        self._counter = itertools.count()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def watch(self, request: _Request) -> None:
        with self._condition:
            if self._thread is None or self._pid != os.getpid():  # a forked child starts its own
                self._heap = []
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="webhook-deadlines", daemon=True)
                self._thread.start()
            heapq.heappush(self._heap, (request.deadline, next(self._counter), request))
            # Woken only when this deadline comes first: the thread sleeps until the earliest one anyway, and a
            # wake-up per request (to find nothing due) costs each request a switch of threads.
            if self._heap[0][2] is request:
                self._condition.notify()

    def _run(self) -> None:
        while True:
            with self._condition:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._condition.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._condition.wait(wait)
                    continue
                _, _, request = heapq.heappop(self._heap)
            _cut(request)


def _cut(request: _Request) -> None:
    if request.done:
        return
    request.cut = True
    sock = getattr(request.connection, "sock", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)  # wakes the read blocked on it; close() alone would not
        except OSError:
            pass


_watchdog = _Watchdog()
_current = threading.local()


# --- connections that check the address they reached ----------------------------------------------


class _CheckedConnectionMixin:
    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        try:
            address = sock.getpeername()[0]
        except OSError as exc:
            sock.close()
            raise RefusedAddress(f"connected socket has no peer address ({exc})") from exc
        from .ssrf import address_refusal

        refusal = address_refusal(address.split("%", 1)[0])  # an IPv6 zone id is not part of the address
        if refusal:
            sock.close()
            raise RefusedAddress(f"refused address {address}: {refusal}")
        return sock

    def request(self, *args: Any, **kwargs: Any) -> Any:
        request = getattr(_current, "request", None)
        if request is not None:
            request.connection = self  # the watchdog cuts this connection's socket at the deadline
        return super().request(*args, **kwargs)  # type: ignore[misc]


class CheckedHTTPConnection(_CheckedConnectionMixin, HTTPConnection):
    pass


class CheckedHTTPSConnection(_CheckedConnectionMixin, HTTPSConnection):
    pass


class CheckedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = CheckedHTTPConnection


class CheckedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = CheckedHTTPSConnection


class CheckedAdapter(HTTPAdapter):
    """requests' adapter on pools whose connections judge the address they reached."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": CheckedHTTPConnectionPool,
            "https": CheckedHTTPSConnectionPool,
        }


def new_session() -> requests.Session:
    """A session of checked, pooled connections that ignores the environment (proxies, ``.netrc``)."""
    session = requests.Session()
    session.trust_env = False
    adapter = CheckedAdapter(pool_connections=64, pool_maxsize=32, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers.update({"User-Agent": USER_AGENT, "Accept": "*/*", "Accept-Encoding": "identity"})
    return session


_session: requests.Session | None = None
_session_lock = threading.Lock()


def session() -> requests.Session:
    """This process's session (made on first use, so a forked worker never shares its parent's sockets)."""
    global _session
    if _session is None:
        with _session_lock:
            if _session is None:
                _session = new_session()
    return _session


# --- one request -------------------------------------------------------------------------------------


def secrets_in_use(subscription: Any, now: datetime) -> list[str]:
    """The secrets that sign now: the current one, and the previous one during a rotation's overlap."""
    in_use = [subscription.secret]
    if subscription.previous_secret and subscription.previous_secret_until and subscription.previous_secret_until > now:
        in_use.append(subscription.previous_secret)
    return in_use


def headers(*, webhook_id: str, secrets: list[str], body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets, webhook_id, timestamp, body),
        "content-type": "application/json",
    }


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` in seconds (delay-seconds or an HTTP-date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def send(*, url: str, body: bytes, webhook_id: str, secrets: list[str], timeout: float) -> Result:
    """POST one signed message; never raises: every failure is a :class:`Result` with its ``error``."""
    started = time.monotonic()

    def elapsed_ms() -> int:
        return round((time.monotonic() - started) * 1000)

    scheme = urlsplit(url).scheme.lower()
    if scheme != "https" and not (scheme == "http" and settings.ORMA_WEBHOOK_ALLOW_PRIVATE):
        return Result(None, error=f"refused: {scheme or 'no'} scheme (https only)")
    request = _Request(started + timeout)
    _current.request = request
    _watchdog.watch(request)
    response = None
    try:
        response = session().post(
            url,
            data=body,
            headers=headers(webhook_id=webhook_id, secrets=secrets, body=body),
            timeout=(timeout, timeout),
            allow_redirects=False,
            stream=True,
        )
        answer, complete = _read_limited(response, request)
        if request.cut:
            raise TimeoutError
        if complete:
            # Read to its end: the connection goes back to the pool for the endpoint's next request (a batch's
            # requests, and the next batch's, reuse it), instead of a TCP (and TLS) handshake each time.
            response._content_consumed = True
        status = response.status_code
        error = ""
        if 300 <= status < 400:
            error = f"HTTP {status}: redirect to {response.headers.get('location', '?')[:500]} not followed"
        return Result(
            status,
            body=answer,
            error=error,
            duration_ms=elapsed_ms(),
            retry_after=parse_retry_after(response.headers.get("retry-after")),
        )
    except RefusedAddress as exc:
        return Result(None, error=str(exc), duration_ms=elapsed_ms())
    except Exception as exc:  # timeouts, refused connections, TLS, resets, a cut socket: all retried
        if request.cut or isinstance(exc, requests.Timeout | TimeoutError):
            return Result(
                None,
                error=f"timeout: no complete answer within {timeout:g} s",
                duration_ms=elapsed_ms(),
                timed_out=True,
            )
        return Result(None, error=f"{type(exc).__name__}: {_reason(exc)}"[:2000], duration_ms=elapsed_ms())
    finally:
        request.done = True
        _current.request = None
        if response is not None:
            response.close()  # a connection with an unread rest is closed, one read to its end pooled


def _read_limited(response: requests.Response, request: _Request) -> tuple[str, bool]:
    """The answer's first 64 KiB, and whether that was all of it (the connection may then be reused)."""
    chunks: list[bytes] = []
    size = 0
    complete = False
    while size < BODY_LIMIT and not request.cut:
        chunk = response.raw.read(min(16384, BODY_LIMIT - size))
        if not chunk:
            complete = True
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks).decode("utf-8", errors="replace"), complete and not request.cut


def _reason(exc: BaseException) -> str:
    """The innermost cause of a requests/urllib3 error, which names what really happened."""
    seen = exc
    for _ in range(5):
        inner = getattr(seen, "reason", None) or seen.__context__
        if inner is None or inner is seen:
            break
        seen = inner
    return str(seen) or type(seen).__name__
