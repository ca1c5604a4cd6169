"""The built-in sandbox DMS: in-process and deterministic, for the embedded default, demos and tests.

It keeps no state: every answer is a function of the order it is given (and, for parts, of the clock), so
a repeated push gets the same answer and a test can name it in advance. Its rules:

- it is always reachable.

Repair orders (``push_repair_order``):

- the DMS order is ``uuid5(SANDBOX_NAMESPACE, orderUUID)`` and its number ``SBX-`` and eight digits of it
  (:func:`sandbox_repair_order`): the same OrMa order always lands on the same DMS order, so a repeated
  create is an update, as an idempotency key would make it;
- it refuses, with seed 001's errors (every one that applies, at once, with a deterministic ``errorUID``):
  - ``UNKNOWN_ADVISOR``: ``header.advisorNumber`` starts with ``X`` or ``UNKNOWN`` (any case): the sandbox
    knows every other advisor, and no such one;
  - ``UNKNOWN_PART``: a part line's ``partNumber`` starts with ``UNKNOWN`` (any case);
  - ``ORDER_CLOSED``: a create (no DMS order yet) of an order whose status is ``CLOSED``: a DMS opens no
    order that is already closed; updating one it holds to CLOSED is fine;
  - ``NOT_FOUND``: an update naming a DMS order the sandbox did not issue for this order;
- it answers no warnings.

Parts orders:

- ``submit_parts_order``: its ``partsOrderId`` is nine digits of ``uuid5(SANDBOX_NAMESPACE, partsOrderUUID)``.
  A dealer in synchronous mode gets the order accepted at once with its lines as OrMa reserved them (the
  API answers 201); one in asynchronous mode gets it queued (Keyloop's 202: the API answers 202, and a
  poll confirms it);
- ``poll_parts_order(parts_order, now=...)`` moves lines along seed 002's statuses as minutes pass since the
  order was created (:data:`PROGRESSION`, :func:`line_status_at`): a ``RESERVED`` line is ``ISSUED`` after
  1 minute, ``PACKED`` after 2, ``INTRANSIT`` after 3, ``DELIVERED`` after 5 and ``INVOICED`` after 10. It
  never moves a line backwards (a line staff moved ahead stays where it is), and never moves ``OPEN``,
  ``BACKORDER`` or ``CANCELLED`` lines: a back-ordered line waits until stock arrives and staff reserve it
  in the admin; from then on it follows the same clock (so it catches up at once).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.utils import timezone

from parts.choices import PartsOrderLineStatus
from parts.rules import derive_order_status
from tenancy.choices import DmsKind, DmsMode

from ..base import DmsAdapter, DmsError, PartsOrderReceipt, RepairOrderReceipt, records_attempt

SANDBOX_NAMESPACE = uuid.UUID("6f0d3c1e-5a7b-4c2d-9e8f-0a1b2c3d4e5f")

L = PartsOrderLineStatus
# (status, minutes after the order's creation from which a line in the chain is at least there)
PROGRESSION: tuple[tuple[str, int], ...] = (
    (L.RESERVED, 0),
    (L.ISSUED, 1),
    (L.PACKED, 2),
    (L.INTRANSIT, 3),
    (L.DELIVERED, 5),
    (L.INVOICED, 10),
)
_CHAIN = [status for status, _ in PROGRESSION]

_REFUSALS = {
    "UNKNOWN_ADVISOR": "Unknown advisor",
    "UNKNOWN_PART": "Unknown part",
    "ORDER_CLOSED": "Order closed",
    "NOT_FOUND": "Order not found",
}


def sandbox_repair_order(order_uuid: Any) -> tuple[str, str]:
    """The sandbox's DMS order UUID and number for an OrMa order UUID."""
    dms_uuid = uuid.uuid5(SANDBOX_NAMESPACE, str(order_uuid))
    return str(dms_uuid), f"SBX-{dms_uuid.int % 10**8:08d}"


def sandbox_parts_order_id(parts_order_uuid: Any) -> str:
    """The sandbox's ``partsOrderId`` (a number, as seed 002's) for an OrMa parts order UUID."""
    return str(10**8 + uuid.uuid5(SANDBOX_NAMESPACE, str(parts_order_uuid)).int % (9 * 10**8))


def line_status_at(status: str, minutes: float) -> str:
    """Where the sandbox has a line of ``status`` ``minutes`` after its order was created."""
    if status not in _CHAIN:
        return status
    due = [chained for chained, after in PROGRESSION if minutes >= after][-1] if minutes >= 0 else _CHAIN[0]
    return due if _CHAIN.index(due) > _CHAIN.index(status) else status


def repair_order_refusals(
    document: dict[str, Any], *, order_uuid: Any, version: int, dms_order_uuid: str | None
) -> list[dict[str, Any]]:
    """The sandbox's business errors for a push of an order (none: it takes it), in seed 001's shape."""
    header = document.get("header") or {}
    found: list[tuple[str, str]] = []
    advisor = str(header.get("advisorNumber") or "")
    if advisor.upper().startswith(("X", "UNKNOWN")):
        found.append(("UNKNOWN_ADVISOR", f"order.header.advisorNumber {advisor} is not an advisor of this department"))
    for job_index, job in enumerate(document.get("jobs") or ()):
        for part_index, part in enumerate(job.get("parts") or ()):
            number = str(part.get("partNumber") or "")
            if number.upper().startswith("UNKNOWN"):
                path = f"order.jobs[{job_index}].parts[{part_index}].partNumber"
                found.append(("UNKNOWN_PART", f"{path} {number} is not a part this DMS knows"))
    if not dms_order_uuid and header.get("status") == "CLOSED":
        found.append(("ORDER_CLOSED", "order.header.status CLOSED: the DMS does not open an order that is closed"))
    if dms_order_uuid and dms_order_uuid != sandbox_repair_order(order_uuid)[0]:
        found.append(("NOT_FOUND", f"order {dms_order_uuid} is not an order of this department"))
    return [
        {
            "errorCode": code,
            "errorTitle": _REFUSALS[code],
            "errorDescription": description,
            "errorUID": str(uuid.uuid5(SANDBOX_NAMESPACE, f"{order_uuid}:{version}:{index}:{code}")),
        }
        for index, (code, description) in enumerate(found)
    ]


class SandboxAdapter(DmsAdapter):
    """The sandbox DMS (see the module's docstring for its rules)."""

    kind = DmsKind.SANDBOX
    in_process = True
    takes_repair_orders = True
    takes_parts_orders = True

    def reachability(self) -> str:
        return "ok"

    @records_attempt
    def push_repair_order(self, repair_order: Any, *, dms_order_uuid: str | None) -> RepairOrderReceipt:
        own_uuid, number = sandbox_repair_order(repair_order.uuid)
        errors = repair_order_refusals(
            repair_order.document,
            order_uuid=repair_order.uuid,
            version=repair_order.version,
            dms_order_uuid=dms_order_uuid,
        )
        if errors:
            codes = ", ".join(error["errorCode"] for error in errors)
            raise DmsError(f"the sandbox DMS refused the order: {codes}", permanent=True, errors=errors)
        return RepairOrderReceipt(dms_order_uuid=own_uuid, dms_order_number=number, created=not dms_order_uuid)

    @records_attempt
    def submit_parts_order(self, parts_order: Any) -> PartsOrderReceipt:
        # No line statuses: the sandbox takes the lines as OrMa reserved them, and asks the database nothing
        # (it answers inside the API request, whose query count is pinned).
        return PartsOrderReceipt(
            accepted=self.dealer.dms_mode != DmsMode.ASYNC, dms_order_number=sandbox_parts_order_id(parts_order.uuid)
        )

    @records_attempt
    def poll_parts_order(self, parts_order: Any, *, now: dt.datetime | None = None) -> PartsOrderReceipt:
        minutes = ((now or timezone.now()) - parts_order.created_at).total_seconds() / 60
        statuses = {str(line.uuid): line_status_at(line.status, minutes) for line in parts_order.lines.all()}
        return PartsOrderReceipt(
            accepted=True,
            dms_order_number=sandbox_parts_order_id(parts_order.uuid),
            line_statuses=statuses,
            order_status=derive_order_status(statuses.values()),
        )
