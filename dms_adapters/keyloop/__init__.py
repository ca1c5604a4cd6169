"""The Keyloop adapter: seed 002's Parts Orders API, spoken to the dealer's DMS (DESIGN §6).

- The store's base is seed 002's server ``{base}/{enterpriseId}/{storeId}/v1``: the enterprise is the
  dealer's UUID and the store the department's ``dms_id`` (its id in the DMS; by default its UUID), as
  DESIGN §5 maps them. A base URL that spells seed 002's server variables (``.../{enterpriseId}/{storeId}/v1``)
  gets them filled in instead.
- ``POST parts-orders`` with seed 002's request (:func:`parts_order_request`), Basic auth with the dealer's
  DMS credentials, ``Idempotency-Key: <partsOrderUUID>`` so a repeated submit is recognised.
  ``201`` (the whole order with line statuses) gives an accepted receipt; ``202 {"partsOrderId"}`` a queued
  one, to be polled. The DMS's ``partsOrderId`` (a number) is the receipt's ``dms_order_number``.
- ``GET parts-orders/{partsOrderId}``: the lines' ``partsOrderLineStatus`` mapped to OrMa's lines, by OrMa's
  ``orderLineId`` when the DMS answers it, else by position (the DMS lists lines in the order they were
  sent; OrMa sends one request line per stored line, a split line as two). Seed 002's line statuses are
  ``parts.choices.PartsOrderLineStatus`` one for one; a status outside them, or a line OrMa did not send,
  is left out and named in the receipt's ``unmapped``. ``parts`` may be one object (as seed 002's sample
  shows) or a list.
- Errors (seed 002: ``{correlationId, message, details: [{field, value, issue}], links}``): a 4xx is a
  refusal, permanent, keeping ``details``. One exception: a poll's ``404`` is transient, because right after
  a 202 the DMS may not show the order yet, and an order it never shows runs out of retries (FAILED,
  resendable) rather than being reported to the partner as refused.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

from parts.choices import PartsOrderLineStatus, PartsOrderStatus
from tenancy.choices import DmsKind

from ..base import DmsError, PartsOrderReceipt, Reason, records_attempt
from ..http import HttpDmsAdapter

__all__ = ["KeyloopAdapter", "parts_order_request"]

_SERVER_VARIABLES = ("{enterpriseId}", "{storeId}")


def _present(source: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {name: source[name] for name in names if source.get(name) not in (None, "")}


def parts_order_request(parts_order: Any, lines: list[Any]) -> dict[str, Any]:
    """Seed 002's ``PartsOrderCreateRequest`` for a stored parts order and its lines (each with its part).

    The delivery address is always sent, as ``alternateDeliveryAddress``: OrMa stored where the order goes
    (the partner's address, or the customer's invoice address when none was given) and answered it to the
    partner, so the DMS must not fall back to an invoice address of its own. ``partCode`` and ``postalCode``
    are sent as strings, though seed 002's sample shows numbers: a part code such as ``06L115562B`` or a
    postal code such as ``01067`` is no number.
    """
    contact = _present(dict(parts_order.contact or {}), ("name", "phone", "email", "companyName"))
    address = _present(
        {
            "streetName": parts_order.delivery_street_name,
            "postalCode": parts_order.delivery_postal_code,
            "city": parts_order.delivery_city,
            "countryCode": parts_order.delivery_country_code,
        },
        ("streetName", "postalCode", "city", "countryCode"),
    )
    body: dict[str, Any] = {"customerId": str(parts_order.customer.uuid)}
    if parts_order.company_id:
        body["companyId"] = str(parts_order.company.uuid)
    if contact:
        body["orderContact"] = contact
    if address:
        body["alternateDeliveryAddress"] = address
    body["orderType"] = parts_order.order_type
    if parts_order.order_reference:
        body["orderReference"] = parts_order.order_reference
    body["parts"] = [_request_line(line) for line in lines]
    return body


def _request_line(line: Any) -> dict[str, Any]:
    request_line: dict[str, Any] = {
        "part": {"partId": line.part_number, "brandCode": line.part.brand_code, "partCode": line.part.part_code},
        "quantity": line.quantity,
    }
    references = [{"type": ref["type"], "value": ref["value"]} for ref in line.vehicle_references or ()]
    if references:
        request_line["mandatoryVehicleReferences"] = references
    return request_line


def _details(response: requests.Response, answer: dict[str, Any] | None) -> tuple[str, list[dict[str, Any]]]:
    """Seed 002's error ``message`` and ``details``, or what stands in for them when the body is not that."""
    answer = answer or {}
    message = str(answer.get("message") or response.reason or f"HTTP {response.status_code}")
    details = answer.get("details")
    kept = [detail for detail in details if isinstance(detail, dict)] if isinstance(details, list) else []
    return message, kept or [{"field": "", "value": "", "issue": message if answer else response.text[:500]}]


class KeyloopAdapter(HttpDmsAdapter):
    """A Keyloop DMS (see the module's docstring)."""

    kind = DmsKind.KEYLOOP
    takes_parts_orders = True

    def store_url(self, department: Any) -> str:
        """Seed 002's server URL for one store of this dealer."""
        enterprise = quote(str(self.dealer.uuid), safe="")
        store = quote(department.dms_id or str(department.uuid), safe="")
        if any(variable in self.base_url for variable in _SERVER_VARIABLES):
            return self.base_url.replace("{enterpriseId}", enterprise).replace("{storeId}", store)
        return f"{self.base_url}/{enterprise}/{store}/v1"

    @property
    def reachability_url(self) -> str:
        return self.dealer.dms_base_url.split("{", 1)[0]

    @records_attempt
    def submit_parts_order(self, parts_order: Any) -> PartsOrderReceipt:
        lines = list(parts_order.lines.select_related("part").order_by("position"))
        response = self.request(
            "POST",
            f"{self.store_url(parts_order.department)}/parts-orders",
            json=parts_order_request(parts_order, lines),
            headers={"Idempotency-Key": str(parts_order.uuid)},
        )
        answer = self._answer(response, "the DMS refused the parts order")
        if response.status_code == 202 or "parts" not in answer:  # queued: the lines come from a poll
            return PartsOrderReceipt(accepted=False, dms_order_number=self._order_id(response, answer))
        return self._receipt(response, answer, lines)

    @records_attempt
    def poll_parts_order(self, parts_order: Any) -> PartsOrderReceipt:
        if not parts_order.dms_order_number:
            raise DmsError(
                f"parts order {parts_order.uuid} has no DMS partsOrderId to poll: it was never submitted",
                permanent=True,
                reason=Reason.PROTOCOL,
            )
        response = self.request(
            "GET",
            f"{self.store_url(parts_order.department)}/parts-orders/{quote(parts_order.dms_order_number, safe='')}",
        )
        if response.status_code == 404:
            message, details = _details(response, self.json_object(response))
            raise DmsError(
                f"the DMS does not show parts order {parts_order.dms_order_number} (yet): {message}",
                errors=details,
                reason=Reason.PROTOCOL,
                status_code=404,
            )
        answer = self._answer(response, "the DMS refused the poll")
        return self._receipt(response, answer, list(parts_order.lines.order_by("position")))

    def _answer(self, response: requests.Response, refusal: str) -> dict[str, Any]:
        """The 2xx body as a JSON object; a 4xx raises a permanent error keeping the DMS's ``details``."""
        answer = self.json_object(response)
        if response.status_code >= 400:
            message, details = _details(response, answer)
            raise DmsError(
                f"{refusal} (HTTP {response.status_code}): {message}",
                permanent=True,
                errors=details,
                reason=Reason.BUSINESS,
                status_code=response.status_code,
            )
        if answer is None:
            raise DmsError(
                f"the DMS answered HTTP {response.status_code} without a JSON object",
                reason=Reason.PROTOCOL,
                status_code=response.status_code,
            )
        return answer

    @staticmethod
    def _order_id(response: requests.Response, answer: dict[str, Any]) -> str:
        order_id = answer.get("partsOrderId")
        if order_id in (None, ""):
            raise DmsError(
                f"the DMS answered HTTP {response.status_code} without a partsOrderId",
                reason=Reason.PROTOCOL,
                status_code=response.status_code,
            )
        return str(order_id)

    def _receipt(self, response: requests.Response, answer: dict[str, Any], lines: list[Any]) -> PartsOrderReceipt:
        """An accepted receipt from seed 002's ``PartsOrder`` body (201 or a poll's 200)."""
        dms_lines = answer.get("parts")
        if isinstance(dms_lines, dict):  # seed 002's sample shows one line as an object
            dms_lines = [dms_lines]
        if not isinstance(dms_lines, list):
            dms_lines = []
        ours = {str(line.uuid) for line in lines}
        statuses: dict[str, str] = {}
        unmapped: list[str] = []
        for position, dms_line in enumerate(dms_lines):
            if not isinstance(dms_line, dict):
                unmapped.append(f"parts[{position}] is not an object")
                continue
            line_id = str(dms_line.get("orderLineId") or "")
            if line_id not in ours:
                line_id = str(lines[position].uuid) if position < len(lines) else ""
            status = dms_line.get("partsOrderLineStatus")
            if not line_id:
                unmapped.append(f"parts[{position}] is a line OrMa did not send")
            elif status not in PartsOrderLineStatus.values:
                unmapped.append(f"parts[{position}] has an unknown partsOrderLineStatus {status!r}")
            else:
                statuses[line_id] = status
        order_status = answer.get("orderStatus")
        if order_status is not None and order_status not in PartsOrderStatus.values:
            unmapped.append(f"unknown orderStatus {order_status!r}")
            order_status = None
        return PartsOrderReceipt(
            accepted=True,
            dms_order_number=self._order_id(response, answer),
            line_statuses=statuses,
            order_status=order_status or "",
            unmapped=tuple(unmapped),
        )
