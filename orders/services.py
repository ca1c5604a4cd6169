"""Writes of the orders app: customers, vehicles and repair orders."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from orma.actors import Actor
from orma.api.errors import ApiError, ErrorCode
from orma.context import current_correlation_id
from orma.events import EventType, emit
from tenancy.models import Dealer, Department

from .choices import DmsStatus, RepairOrderStatus
from .models import Customer, OrderHistory, RepairOrder, Vehicle
from .persistence import delete_lines, header_columns, write_lines
from .selectors import repair_order_conflict
from .validation import ValidatedOrder, duplicate_order_error

# --- customers and vehicles ----------------------------------------------------------------------


def _customer_values(data: dict[str, Any]) -> dict[str, Any]:
    address = data.get("invoiceAddress", {})
    return {
        "title_common": data.get("titleCommon", ""),
        "given_name": data.get("givenName", ""),
        "family_name": data.get("familyName", ""),
        "company_name": data.get("companyName", ""),
        "email": data.get("email", ""),
        "phone": data.get("phone", ""),
        "street_name": address.get("streetName", ""),
        "postal_code": address.get("postalCode", ""),
        "city": address.get("city", ""),
        "country_code": address.get("countryCode", ""),
    }


def customer_create(*, dealer: Dealer, data: dict[str, Any]) -> Customer:
    """Create a dealer's customer from a validated ``customer`` body."""
    customer = Customer(dealer=dealer, **_customer_values(data))
    customer.save()
    return customer


def customer_update(*, customer: Customer, data: dict[str, Any]) -> Customer:
    """Replace a customer's data with a validated ``customer`` body (a full update)."""
    for name, value in _customer_values(data).items():
        setattr(customer, name, value)
    customer.save()
    return customer


def _vehicle_values(data: dict[str, Any], customer: Customer | None, brand: str) -> dict[str, Any]:
    return {
        "vin": data["vin"],
        "brand": brand,
        "customer": customer,
        "model": data.get("model", ""),
        "model_year": data.get("modelYear"),
        "license_plate": data.get("licensePlate", ""),
        "mileage": data.get("mileage"),
    }


def vehicle_create(*, dealer: Dealer, data: dict[str, Any], customer: Customer | None, brand: str) -> Vehicle:
    """Create a dealer's vehicle; a VIN the dealer already knows is refused (409)."""
    try:
        with transaction.atomic():
            vehicle = Vehicle(dealer=dealer, **_vehicle_values(data, customer, brand))
            vehicle.save()
    except IntegrityError:
        existing = Vehicle.objects.get(dealer=dealer, vin=data["vin"])
        raise ApiError.of(409, "DUPLICATE_VEHICLE", f"A vehicle with this VIN exists: {existing.uuid}") from None
    return vehicle


def vehicle_update(*, vehicle: Vehicle, data: dict[str, Any], customer: Customer | None, brand: str) -> Vehicle:
    """Replace a vehicle's data with a validated ``vehicle`` body (a full update)."""
    for name, value in _vehicle_values(data, customer, brand).items():
        setattr(vehicle, name, value)
    try:
        with transaction.atomic():
            vehicle.save()
    except IntegrityError:
        existing = Vehicle.objects.get(dealer_id=vehicle.dealer_id, vin=data["vin"])
        raise ApiError.of(409, "DUPLICATE_VEHICLE", f"A vehicle with this VIN exists: {existing.uuid}") from None
    return vehicle


# --- repair orders -------------------------------------------------------------------------------


def _lock_department(department: Department) -> None:
    """Serialise writers of one department's orders (the ±30-day rule is checked under this lock)."""
    # No ordering and no join: FOR UPDATE then locks the department row alone (Meta.ordering would join
    # the dealer and lock it too, serialising every department of the dealer).
    list(Department.objects.select_for_update().filter(pk=department.pk).order_by().values_list("pk", flat=True))


def _vehicle_for(validated: ValidatedOrder, dealer: Dealer) -> Vehicle | None:
    if validated.vehicle is not None or validated.new_vehicle_vin is None:
        return validated.vehicle
    vehicle, _ = Vehicle.objects.get_or_create(
        dealer=dealer,
        vin=validated.new_vehicle_vin,
        defaults={"brand": validated.new_vehicle_brand, "customer": validated.customer},
    )
    return vehicle


def _record_history(repair_order: RepairOrder, actor: Actor, changes: list[dict[str, Any]]) -> None:
    OrderHistory.objects.create(
        repair_order=repair_order,
        version=repair_order.version,
        channel=actor.channel,
        partner_id=actor.partner_id,
        user_id=actor.user_id,
        actor=actor.name,
        changes=changes,
        correlation_id=current_correlation_id() or "",
    )


def _stored_document(validated: ValidatedOrder, vehicle: Vehicle | None) -> dict[str, Any]:
    document = validated.document()
    if vehicle is not None:
        document["vehicle"] = {"uuid": str(vehicle.uuid), "vin": vehicle.vin}
    return document


@transaction.atomic
def repair_order_create(*, department: Department, validated: ValidatedOrder, actor: Actor) -> RepairOrder:
    """Store a technically approved order; the ±30-day rule is re-checked under the department lock."""
    _lock_department(department)
    conflict = repair_order_conflict(
        department_id=department.id, order_number=validated.order_number, created_instant=validated.created_instant
    )
    if conflict is not None:
        raise duplicate_order_error(conflict.uuid)
    vehicle = _vehicle_for(validated, department.dealer)
    repair_order = RepairOrder(
        department=department,
        created_instant=validated.created_instant,
        customer=validated.customer,
        vehicle=vehicle,
        vin=vehicle.vin if vehicle else "",
        document=_stored_document(validated, vehicle),
        created_by_id=actor.partner_id,
        **header_columns(validated.order),
    )
    repair_order.save()
    write_lines(repair_order, validated.order)
    _record_history(repair_order, actor, [{"field": "order", "old": None, "new": "created"}])
    emit(EventType.ORDER_CREATED, subject=repair_order, department_id=department.id)
    return repair_order


def parse_if_match(header: str | None) -> int | None | str:
    """The version an ``If-Match`` header names: an int, ``"*"``, or None when absent."""
    if header is None:
        return None
    value = header.strip()
    if value == "*":
        return "*"
    if value.startswith("W/"):
        value = value[2:]
    try:
        return int(value.strip('"'))
    except ValueError:
        return -1  # matches no version


@transaction.atomic
def repair_order_update(
    *, repair_order: RepairOrder, validated: ValidatedOrder, actor: Actor, if_match: int | str | None = None
) -> RepairOrder:
    """Replace an order with a technically approved body (a full update) and record the diff.

    Refused: a version other than ``If-Match`` (412), an order that is CLOSED (409), a number or instant
    that repeats another order of the department (409, re-checked under the department lock).
    """
    department = repair_order.department
    _lock_department(department)
    current = RepairOrder.objects.select_for_update().get(pk=repair_order.pk)
    if if_match not in (None, "*") and if_match != current.version:
        raise ApiError.of(
            412,
            ErrorCode.VERSION_MISMATCH,
            f"If-Match names version {if_match}, but the order is at version {current.version}.",
        )
    if current.status == RepairOrderStatus.CLOSED:
        raise ApiError.of(409, ErrorCode.ORDER_CLOSED, "The order is CLOSED and can no longer be changed.")
    conflict = repair_order_conflict(
        department_id=department.id,
        order_number=validated.order_number,
        created_instant=validated.created_instant,
        exclude_id=current.id,
    )
    if conflict is not None:
        raise duplicate_order_error(conflict.uuid)
    vehicle = _vehicle_for(validated, department.dealer)
    old_document = current.document
    new_document = _stored_document(validated, vehicle)
    for name, value in header_columns(validated.order).items():
        setattr(current, name, value)
    current.created_instant = validated.created_instant
    current.customer = validated.customer
    current.vehicle = vehicle
    current.vin = vehicle.vin if vehicle else ""
    current.document = new_document
    current.version += 1
    current.dms_status = DmsStatus.PENDING
    current.save()
    delete_lines(current)
    write_lines(current, validated.order)
    _record_history(current, actor, document_diff(old_document, new_document))
    emit(EventType.ORDER_UPDATED, subject=current, department_id=department.id)
    return current


def _flatten(value: Any, path: str, into: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{path}.{key}" if path else key, into)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _flatten(item, f"{path}[{index}]", into)
        if not value:
            into[path] = []
    else:
        into[path] = value


def document_diff(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """Field-level changes between two order documents: ``[{"field": "order.header.status", "old", "new"}]``."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    _flatten(old, "order", before)
    _flatten(new, "order", after)
    return [
        {"field": path, "old": before.get(path), "new": after.get(path)}
        for path in sorted(before.keys() | after.keys())
        if before.get(path) != after.get(path)
    ]
