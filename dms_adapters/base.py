"""The interface every DMS adapter implements, what it answers, and the error it raises.

One adapter per protocol (``dms_adapters.<kind>``), chosen per dealer by ``dms_adapters.registry``. An
adapter makes one attempt and reports its outcome; it never loops or sleeps to retry: retrying, backoff
and giving up belong to the outbox that calls it (healthchecks' transports follow the same split, and
its issue 212 shows why). One attempt may be more than one HTTP request (myKaarma's duplicate answer is
followed by the update of the order it names), never a repeat of the same one.

Every receipt and every :class:`DmsError` carries the :class:`AttemptSummary` of the call (each request's
method, path, status and duration, and the correlation id sent), for the attempt log.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, TypeVar

from orma.context import current_correlation_id, new_correlation_id


class Reason(StrEnum):
    """Why an attempt failed, for the outbox's circuit breaker and the attempt log."""

    CONNECTION = "connection"  # refused, reset, DNS: nothing answered
    TIMEOUT = "timeout"  # no answer within the connect or read timeout
    SERVER = "server"  # a 5xx
    RATE_LIMITED = "rate_limited"  # 429 (``retry_after`` says when to come back)
    CONFIGURATION = "configuration"  # OrMa's connection to this DMS is wrong: credentials, base URL, redirect
    PROTOCOL = "protocol"  # an answer that is not the protocol's (a 2xx without the expected body)
    BUSINESS = "business"  # the DMS refused this order: retrying cannot help


class DmsError(Exception):
    """An attempt that did not succeed: ``permanent`` for a business refusal (retrying cannot help), else
    transient (a timeout, a refused connection, a 5xx, a 429): worth another attempt later, not before
    ``retry_after`` seconds when the DMS said so."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        errors: list[dict[str, Any]] | None = None,
        retry_after: float | None = None,
        reason: Reason | None = None,
        status_code: int | None = None,
        dms_order_uuid: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.errors = errors or []  # the DMS's own business errors, kept for the partner
        self.retry_after = retry_after
        self.reason = reason or (Reason.BUSINESS if permanent else Reason.SERVER)
        self.status_code = status_code
        # The DMS order this attempt linked OrMa's order to before it failed (myKaarma's duplicate answer),
        # so the next attempt can update that order directly.
        self.dms_order_uuid = dms_order_uuid
        self.attempt: AttemptSummary | None = None  # set on the way out of the adapter call


@dataclass(frozen=True)
class RequestSummary:
    """One request of an attempt: what the attempt log keeps of it (never the body or the credentials)."""

    method: str
    path: str  # the URL's path and query, without scheme and host
    status: int | None  # None when nothing answered
    duration_ms: int
    error: str = ""  # what went wrong below HTTP (``ReadTimeout``), if anything

    def __str__(self) -> str:
        outcome = str(self.status) if self.status is not None else (self.error or "no answer")
        return f"{self.method} {self.path} -> {outcome} in {self.duration_ms} ms"


@dataclass(frozen=True)
class AttemptSummary:
    """The requests one adapter call made, in order, and the correlation id they carried."""

    correlation_id: str
    requests: tuple[RequestSummary, ...] = ()
    duration_ms: int = 0  # the whole call, requests and the adapter's own work

    @property
    def status(self) -> int | None:
        """The last request's HTTP status (None when nothing answered or no request was made)."""
        return self.requests[-1].status if self.requests else None

    def __str__(self) -> str:
        return "; ".join(str(request) for request in self.requests) or f"no request ({self.duration_ms} ms)"

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready form for the attempt log's row."""
        return {
            "correlationId": self.correlation_id,
            "durationMs": self.duration_ms,
            "requests": [
                {"method": r.method, "path": r.path, "status": r.status, "durationMs": r.duration_ms, "error": r.error}
                for r in self.requests
            ],
        }


@dataclass(frozen=True)
class RepairOrderReceipt:
    """The DMS's answer to a repair-order push: the DMS order OrMa's order now belongs to."""

    dms_order_uuid: str
    dms_order_number: str = ""  # the DMS's order number when it says one
    warnings: tuple[dict[str, Any], ...] = ()  # the DMS's own warnings, as it worded them
    created: bool = False  # this attempt created the DMS order (else it updated one)
    linked: bool = False  # the DMS said the order was already there (its duplicate rule), and it was updated
    attempt: AttemptSummary | None = None


@dataclass(frozen=True)
class PartsOrderReceipt:
    """The DMS's answer to a parts order or a poll of it.

    ``accepted``: the DMS confirmed the order and its lines now (Keyloop's 201, or a poll that found it);
    else it queued the order (Keyloop's 202) under ``dms_order_number`` and :meth:`DmsAdapter.poll_parts_order`
    tells the rest later. ``line_statuses`` maps OrMa's ``orderLineId`` to the line's status
    (``parts.choices.PartsOrderLineStatus``) for the lines the DMS reported; a line it did not report keeps
    its status.
    """

    accepted: bool
    dms_order_number: str = ""
    line_statuses: dict[str, str] = field(default_factory=dict)
    order_status: str = ""  # the DMS's own order status, when it says one (OrMa re-derives its own)
    unmapped: tuple[str, ...] = ()  # what the adapter could not map (an unknown line status, an extra line)
    attempt: AttemptSummary | None = None


# The attempt the current adapter call is recording: a context variable, so one adapter instance may serve
# several threads and the HTTP base need not be handed it on every request.
_current_attempt: ContextVar[_AttemptRecorder | None] = ContextVar("dms_attempt", default=None)


class _AttemptRecorder:
    """Collects the requests of one adapter call."""

    def __init__(self) -> None:
        self.correlation_id = current_correlation_id() or new_correlation_id()
        self.requests: list[RequestSummary] = []
        self.started = time.monotonic()

    def summary(self) -> AttemptSummary:
        duration_ms = round((time.monotonic() - self.started) * 1000)
        return AttemptSummary(self.correlation_id, tuple(self.requests), duration_ms)


def current_attempt() -> _AttemptRecorder | None:
    """The attempt being recorded (None outside an adapter call, e.g. ``HttpDmsAdapter.request`` alone)."""
    return _current_attempt.get()


@contextmanager
def _recording() -> Iterator[_AttemptRecorder]:
    recorder = _AttemptRecorder()
    token = _current_attempt.set(recorder)
    try:
        yield recorder
    finally:
        _current_attempt.reset(token)


Receipt = TypeVar("Receipt", RepairOrderReceipt, PartsOrderReceipt)


def records_attempt(method: Callable[..., Receipt]) -> Callable[..., Receipt]:
    """Give the receipt, or the :class:`DmsError`, of an adapter call the summary of its requests."""

    @functools.wraps(method)
    def recorded(*args: Any, **kwargs: Any) -> Receipt:
        with _recording() as recorder:
            try:
                receipt = method(*args, **kwargs)
            except DmsError as error:
                error.attempt = recorder.summary()
                raise
            return replace(receipt, attempt=recorder.summary())

    return recorded


class DmsAdapter:
    """One dealer's DMS. Subclasses implement what their protocol supports; each call is one attempt."""

    kind: str = ""
    # True for a DMS inside OrMa's own process (the sandbox): it may be asked within a request and a
    # transaction. Every real DMS is reached over the network, only ever from a worker.
    in_process: bool = False
    # What this DMS's protocol takes, so the caller can leave out what it would only refuse (myKaarma's API
    # is for repair orders, Keyloop's for parts orders).
    takes_repair_orders: bool = False
    takes_parts_orders: bool = False

    def __init__(self, dealer: Any) -> None:
        self.dealer = dealer

    def reachability(self) -> str:
        """ "ok", or "down: <reason>" (``orma_check``)."""
        raise NotImplementedError

    def push_repair_order(self, repair_order: Any, *, dms_order_uuid: str | None) -> RepairOrderReceipt:
        """Create the repair order in the DMS (``dms_order_uuid`` None) or update the DMS order it belongs to,
        with its stored body (``repair_order.document``), its UUID and version; raises :class:`DmsError`."""
        raise self._unsupported("repair orders")

    def submit_parts_order(self, parts_order: Any) -> PartsOrderReceipt:
        """Hand a stored parts order to the DMS; raises :class:`DmsError` when it did not take it."""
        raise self._unsupported("parts orders")

    def poll_parts_order(self, parts_order: Any) -> PartsOrderReceipt:
        """Ask the DMS where a parts order it holds (``parts_order.dms_order_number``) stands, line by line."""
        raise self._unsupported("parts orders")

    def _unsupported(self, what: str) -> DmsError:
        # A permanent error rather than NotImplementedError: a worker handed such an order must record an
        # outcome, not crash and retry it for ever.
        message = f"the dealer's DMS ({self.kind or type(self).__name__}) takes no {what}"
        return DmsError(
            message,
            permanent=True,
            reason=Reason.CONFIGURATION,
            errors=[{"errorCode": "NOT_SUPPORTED", "errorTitle": "Not supported", "errorDescription": message}],
        )
