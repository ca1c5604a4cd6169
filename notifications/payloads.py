"""What a webhook carries (DESIGN §7): ``{"id", "type", "occurredAt", "departmentUUID", "data"}``.

``data`` is the thin form, stored on the event when it happens: the object's UUID, number, version and status
(and what the event adds: the DMS's errors, the old and new status). The full form adds the object as its GET
answered it at that moment (``Event.document``), under ``order`` or ``partsOrder``. The body is rendered per
delivery from the stored event, so a retry or a redelivery sends the same bytes' content (only the
``webhook-timestamp`` and the signature change).
"""

from __future__ import annotations

import json
from typing import Any

from orders.api.representations import order_representation
from parts.api.representations import parts_order_accepted_json, parts_order_json

from .models import Event, PayloadForm

# The kind of object a subject key names, and the key its full representation goes under in ``data``.
DOCUMENT_KEYS = {"order": "order", "parts_order": "partsOrder"}


def order_subject(repair_order: Any) -> str:
    return f"order:{repair_order.uuid}"


def parts_order_subject(parts_order: Any) -> str:
    return f"parts_order:{parts_order.uuid}"


def order_data(repair_order: Any, *, errors: bool = False) -> dict[str, Any]:
    """The thin form of a repair order: ids, number, version, status, where it stands with the DMS; ``errors``:
    the DMS's business errors too (``order.dms_rejected``)."""
    data: dict[str, Any] = {
        "orderUUID": str(repair_order.uuid),
        "orderNumber": repair_order.order_number,
        "version": repair_order.version,
        "status": repair_order.status,
        "dms": {"status": repair_order.dms_status, "orderNumber": repair_order.dms_order_number or None},
    }
    if errors:
        data["errors"] = list(repair_order.dms_errors or [])
    return data


def order_document(repair_order: Any) -> dict[str, Any]:
    """The full form's object: the order as ``GET order/{orderUUID}`` answers it."""
    return order_representation(repair_order)


def parts_order_data(
    parts_order: Any, *, old_status: str | None = None, new_status: str | None = None
) -> dict[str, Any]:
    """The thin form of a parts order: its id as the parts API answers it, status, version (and the change)."""
    data: dict[str, Any] = {
        "partsOrderId": parts_order_accepted_json(parts_order)["partsOrderId"],
        "orderStatus": parts_order.status,
        "version": parts_order.version,
    }
    if old_status is not None or new_status is not None:
        data["oldStatus"] = old_status
        data["newStatus"] = new_status
    return data


def parts_order_document(parts_order: Any) -> dict[str, Any]:
    """The full form's object: the parts order as ``GET parts-orders/{partsOrderId}`` answers it."""
    return parts_order_json(parts_order)


def payload(event: Event, form: str) -> dict[str, Any]:
    """The message of one delivery: the event in the subscription's payload form."""
    data = dict(event.data)
    if form == PayloadForm.FULL and event.document is not None:
        kind = event.subject_key.partition(":")[0]
        data[DOCUMENT_KEYS.get(kind, kind)] = event.document
    department = event.department
    return {
        "id": str(event.uuid),
        "type": event.type,
        "occurredAt": event.occurred_at.isoformat(),
        "departmentUUID": str(department.uuid) if department is not None else None,
        "data": data,
    }


def body(event: Event, form: str) -> bytes:
    """The request body: the payload as compact UTF-8 JSON (what is signed is exactly these bytes)."""
    return json.dumps(payload(event, form), separators=(",", ":"), ensure_ascii=False).encode()
