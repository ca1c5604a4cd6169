"""The myKaarma adapter: seed 001's repair-order API, spoken to the dealer's DMS (DESIGN §6).

- Create: ``PUT {base}/order/v2/department/{dmsDepartmentUUID}/order`` (the department's ``dms_id``) with
  the body of :mod:`.body`, Basic auth with the dealer's DMS credentials, and
  ``Idempotency-Key: <orderUUID>:<version>``, so a DMS that sees the same push twice (a retry after a lost
  answer) can recognise it and update rather than duplicate. The answer's ``orderUUID`` is the DMS order.
- Update (a later version): ``PUT {base}/order/v2/department/{dmsDepartmentUUID}/order/{dmsOrderUUID}``
  with the same body and key.
- The envelope ``{errors, warnings, orderUUID, statusCode}``: errors (on a 4xx, or on a 2xx that carries
  any) are a business refusal, a permanent :class:`DmsError` keeping them as the DMS worded them; warnings
  ride on the receipt.
- The DMS's duplicate answer (its own ±30-day rule: an error whose ``errorCode`` says DUPLICATE and whose
  ``errorDescription`` names the closest existing order's UUID) means the order is already there: the same
  attempt updates that DMS order and the receipt says it is ``linked`` to it. A duplicate answer to an
  update (the new number or date collides with another DMS order) is a refusal like any other.
- The DMS's answer has no order number of its own: a myKaarma order is known by the number OrMa sent, so
  that is the receipt's ``dms_order_number`` (unless the answer says one).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import requests

from tenancy.choices import DmsKind

from ..base import DmsError, Reason, RepairOrderReceipt, records_attempt
from ..http import HttpDmsAdapter
from .body import repair_order_request

__all__ = ["MyKaarmaAdapter", "idempotency_key"]

_UUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")


def idempotency_key(repair_order: Any) -> str:
    """``<orderUUID>:<version>``: the same push gets the same key, a newer version a newer one."""
    return f"{repair_order.uuid}:{repair_order.version}"


def _errors_of(envelope: dict[str, Any] | None) -> list[dict[str, Any]]:
    errors = (envelope or {}).get("errors") or []
    return [error for error in errors if isinstance(error, dict)] if isinstance(errors, list) else []


def _duplicate_of(status: int, envelope: dict[str, Any] | None) -> str | None:
    """The existing DMS order a duplicate answer names, or None when this is no duplicate answer."""
    if status not in (400, 409):
        return None
    for error in _errors_of(envelope):
        if "DUPLICATE" in str(error.get("errorCode", "")).upper():
            named = _UUID.search(str(error.get("errorDescription", "")))
            if named:
                return named.group(0)
    return None


def _describe(errors: list[dict[str, Any]]) -> str:
    return "; ".join(f"{e.get('errorCode', '?')}: {e.get('errorDescription', '')}".strip() for e in errors[:5])


class MyKaarmaAdapter(HttpDmsAdapter):
    """A myKaarma DMS (see the module's docstring)."""

    kind = DmsKind.MYKAARMA
    takes_repair_orders = True

    @records_attempt
    def push_repair_order(self, repair_order: Any, *, dms_order_uuid: str | None) -> RepairOrderReceipt:
        body = repair_order_request(repair_order.document)
        department = repair_order.department
        orders_path = f"/order/v2/department/{quote(department.dms_id or str(department.uuid), safe='')}/order"
        headers = {"Idempotency-Key": idempotency_key(repair_order)}
        if dms_order_uuid:
            return self._update(orders_path, dms_order_uuid, body, headers, linked=False)
        response = self.request("PUT", orders_path, json=body, headers=headers)
        envelope = self.json_object(response)
        existing = _duplicate_of(response.status_code, envelope)
        if existing:
            return self._update(orders_path, existing, body, headers, linked=True)
        return self._receipt(response, envelope, body, created=True)

    def _update(
        self, orders_path: str, dms_order_uuid: str, body: dict[str, Any], headers: dict[str, str], *, linked: bool
    ) -> RepairOrderReceipt:
        try:
            response = self.request(
                "PUT", f"{orders_path}/{quote(dms_order_uuid, safe='')}", json=body, headers=headers
            )
            return self._receipt(
                response, self.json_object(response), body, dms_order_uuid=dms_order_uuid, linked=linked
            )
        except DmsError as error:
            if linked:  # what the attempt linked to stays known when the update after the link fails
                error.dms_order_uuid = dms_order_uuid
            raise

    def _receipt(
        self,
        response: requests.Response,
        envelope: dict[str, Any] | None,
        body: dict[str, Any],
        *,
        dms_order_uuid: str | None = None,
        created: bool = False,
        linked: bool = False,
    ) -> RepairOrderReceipt:
        """The receipt of a 2xx envelope; a refusal or an answer that is no envelope raises."""
        status = response.status_code
        errors = _errors_of(envelope)
        if status >= 400 or errors:
            errors = errors or [{"errorCode": f"HTTP_{status}", "errorDescription": response.text[:500]}]
            raise DmsError(
                f"the DMS refused the order (HTTP {status}): {_describe(errors)}",
                permanent=True,
                errors=errors,
                reason=Reason.BUSINESS,
                status_code=status,
            )
        answered_uuid = str((envelope or {}).get("orderUUID") or "") or dms_order_uuid
        if envelope is None or not answered_uuid:
            raise DmsError(
                f"the DMS answered HTTP {status} without seed 001's envelope and orderUUID",
                reason=Reason.PROTOCOL,
                status_code=status,
            )
        warnings = envelope.get("warnings") or []
        return RepairOrderReceipt(
            dms_order_uuid=answered_uuid,
            dms_order_number=str(envelope.get("orderNumber") or body["order"]["header"].get("orderNumber", "")),
            warnings=tuple(w for w in warnings if isinstance(w, dict)) if isinstance(warnings, list) else (),
            created=created,
            linked=linked,
        )
