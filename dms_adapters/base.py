"""The interface every DMS adapter implements, and the error it raises.

One adapter per protocol (``dms_adapters.<kind>``), chosen per dealer by ``dms_adapters.registry``. An
adapter makes one attempt and reports its outcome; it never loops or sleeps to retry: retrying, backoff
and giving up belong to the outbox that calls it (healthchecks' transports follow the same split, and
its issue 212 shows why).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class DmsError(Exception):
    """An attempt that did not succeed: ``permanent`` for a business refusal (retrying cannot help), else
    transient (a timeout, a refused connection, a 5xx): worth another attempt later."""

    def __init__(self, message: str, *, permanent: bool = False, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.errors = errors or []  # the DMS's own business errors, kept for the partner


@dataclass(frozen=True)
class PartsOrderReceipt:
    """The DMS's answer to a parts order: ``accepted`` when it took the order now, else it will later."""

    accepted: bool
    dms_order_number: str = ""
    line_statuses: dict[str, str] = field(default_factory=dict)  # orderLineId -> status, when the DMS says


class DmsAdapter:
    """One dealer's DMS. Subclasses implement what their protocol supports."""

    kind: str = ""
    # True for a DMS inside OrMa's own process (the sandbox): it may be asked within a request and a
    # transaction. Every real DMS is reached over the network, only ever from a worker.
    in_process: bool = False

    def __init__(self, dealer: Any) -> None:
        self.dealer = dealer

    def reachability(self) -> str:
        """ "ok", or "down: <reason>" (``orma_check``)."""
        raise NotImplementedError

    def submit_parts_order(self, parts_order: Any) -> PartsOrderReceipt:
        """Hand a stored parts order to the DMS; raises :class:`DmsError` when it did not take it."""
        raise NotImplementedError
