"""The JSON the orders family answers for each resource: one function per representation.

The response serializers (``orders.api.serializers``) describe these shapes for the schema.
"""

from __future__ import annotations

import json
from typing import Any

from orders.models import Customer, OrderHistory, RepairOrder, Vehicle
from orders.selectors import PricedPackage
from orders.sql import StoredOrder


def _present(**fields: Any) -> dict[str, Any]:
    """The fields whose value is not empty (absent fields are left out of an answer, not sent empty)."""
    return {key: value for key, value in fields.items() if value not in ("", None)}


def dms_state(order: Any) -> dict[str, Any]:
    """Where an order (repair or parts) stands with the dealer's DMS, as every read answers it."""
    return {
        "status": order.dms_status,
        "orderNumber": order.dms_order_number or None,
        "errors": order.dms_errors,
        "syncedAt": order.dms_synced_at.isoformat() if order.dms_synced_at else None,
    }


def order_representation(repair_order: RepairOrder) -> dict[str, Any]:
    """The order as GET answers it: the stored normalised body plus identity, version and DMS state."""
    return {
        **repair_order.document,
        "orderUUID": str(repair_order.uuid),
        "version": repair_order.version,
        "createdAt": repair_order.created_at.isoformat(),
        "updatedAt": repair_order.updated_at.isoformat(),
        "dms": dms_state(repair_order),
    }


def _json(value: Any) -> str:
    """``value`` as DRF's JSONRenderer writes it (compact, UTF-8 as is; no NaN)."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _js_safe(text: str) -> str:
    """JSON text with U+2028/U+2029 escaped, as DRF's JSONRenderer escapes them (JavaScript reads them as line
    ends); PostgreSQL writes them as they are."""
    if "\u2028" in text or "\u2029" in text:
        return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return text


def order_read_text(envelope: dict[str, Any], stored: StoredOrder) -> str:
    """The read's whole body as JSON text: ``envelope`` with ``order`` beside its keys, that order being
    :func:`order_representation` of ``stored`` (same keys, same values) written without decoding its document.

    The document's text is PostgreSQL's (its keys in jsonb's order, as the ORM path hands them back too); the
    identity, version, timestamps and DMS state, which PostgreSQL wrote too (``orders.sql.read_order``), are
    appended inside its braces.
    """
    inner = stored.document.strip()[1:-1].strip()  # an object's members, "" when it has none
    order = f"{{{inner}{',' if inner else ''}{stored.members}}}"
    return f'{_json(envelope)[:-1]},"order":{_js_safe(order)}}}'


def history_representation(entry: OrderHistory) -> dict[str, Any]:
    """One change of an order: its version, when, through which channel, who, and the field-level diff."""
    return {
        "version": entry.version,
        "at": entry.at.isoformat(),
        "channel": entry.channel,
        "actor": entry.actor,
        "changes": entry.changes,
    }


def customer_representation(customer: Customer) -> dict[str, Any]:
    """A customer with the fields it has (an empty field is left out), and its invoice address if any."""
    data: dict[str, Any] = {
        "customerUUID": str(customer.uuid),
        **_present(
            titleCommon=customer.title_common,
            givenName=customer.given_name,
            familyName=customer.family_name,
            companyName=customer.company_name,
            email=customer.email,
            phone=customer.phone,
        ),
    }
    address = _present(
        streetName=customer.street_name,
        postalCode=customer.postal_code,
        city=customer.city,
        countryCode=customer.country_code,
    )
    if address:
        data["invoiceAddress"] = address
    return data


def vehicle_representation(vehicle: Vehicle) -> dict[str, Any]:
    """A vehicle: its VIN and brand, its owner's UUID if any, and the fields it has."""
    data: dict[str, Any] = {"vehicleUUID": str(vehicle.uuid), "vin": vehicle.vin, "brand": vehicle.brand}
    owner = vehicle.customer if vehicle.customer_id else None  # loaded with the vehicle (select_related)
    if owner is not None:
        data["customerUUID"] = str(owner.uuid)
    data.update(
        _present(
            model=vehicle.model,
            modelYear=vehicle.model_year,
            licensePlate=vehicle.license_plate,
            mileage=vehicle.mileage,
        )
    )
    return data


def package_representation(priced: PricedPackage) -> dict[str, Any]:
    """A service package at this dealer's price, with its labour and part lines."""
    package = priced.package
    return {
        "packageCode": package.code,
        "description": package.description,
        "price": f"{priced.price:.2f}",
        "currencyCode": priced.currency_code,
        "labour": [
            {"laborOpCode": line.labor_op_code, "description": line.description, "soldHours": f"{line.sold_hours:.2f}"}
            for line in package.labour_lines.all()
        ],
        "parts": [
            {"partNumber": line.part_number, "description": line.description, "quantity": f"{line.quantity:.2f}"}
            for line in package.part_lines.all()
        ],
    }
