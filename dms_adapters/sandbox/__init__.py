"""The built-in sandbox DMS: in-process and deterministic, for the embedded default, demos and tests.

Rules it follows today:

- it is always reachable;
- a parts order of a dealer in synchronous mode is accepted at once (the API answers 201); one of a
  dealer in asynchronous mode is left for later (the API answers 202 and the order stays PENDING).
"""

from __future__ import annotations

from typing import Any

from tenancy.choices import DmsKind, DmsMode

from ..base import DmsAdapter, PartsOrderReceipt


class SandboxAdapter(DmsAdapter):
    """The sandbox DMS (see the module's docstring for its rules)."""

    kind = DmsKind.SANDBOX
    in_process = True

    def reachability(self) -> str:
        return "ok"

    def submit_parts_order(self, parts_order: Any) -> PartsOrderReceipt:
        return PartsOrderReceipt(accepted=self.dealer.dms_mode != DmsMode.ASYNC)
