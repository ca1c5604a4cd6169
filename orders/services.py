"""Writes of the orders app: customers, vehicles and repair orders.

Services take data that passed the app's rules (``orders.validation``) and raise
:class:`~orma.errors.DomainError` for what only the write can find out (a duplicate VIN, a version
that moved, a closed order, an order the ±30-day rule repeats under the lock). They know no HTTP.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from orma.actors import Actor
from orma.context import current_correlation_id
from orma.db import new_instance
from orma.errors import DomainError, ErrorCode
from orma.events import EventType, emit
from tenancy.models import Dealer, Department

from . import persistence, sql
from .choices import DmsStatus, RepairOrderStatus
from .models import Customer, OrderHistory, RepairOrder, Vehicle
from .persistence import header_columns
from .rules import OrderStamp, closest_conflict
from .selectors import window_bounds
from .validation import ValidatedOrder, duplicate_order_error, repair_order_window_check

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


def _vehicle_save(vehicle: Vehicle) -> Vehicle:
    """Save a vehicle; a VIN the dealer already knows for another vehicle is DUPLICATE_VEHICLE."""
    try:
        with transaction.atomic():
            vehicle.save()
    except IntegrityError:
        existing = Vehicle.objects.get(dealer_id=vehicle.dealer_id, vin=vehicle.vin)
        raise DomainError.of(ErrorCode.DUPLICATE_VEHICLE, f"A vehicle with this VIN exists: {existing.uuid}") from None
    return vehicle


def vehicle_create(*, dealer: Dealer, data: dict[str, Any], customer: Customer | None, brand: str) -> Vehicle:
    """Create a dealer's vehicle; a VIN the dealer already knows is refused (DUPLICATE_VEHICLE)."""
    return _vehicle_save(Vehicle(dealer=dealer, **_vehicle_values(data, customer, brand)))


def vehicle_update(*, vehicle: Vehicle, data: dict[str, Any], customer: Customer | None, brand: str) -> Vehicle:
    """Replace a vehicle's data with a validated ``vehicle`` body (a full update; DUPLICATE_VEHICLE too)."""
    for name, value in _vehicle_values(data, customer, brand).items():
        setattr(vehicle, name, value)
    return _vehicle_save(vehicle)


# --- repair orders -------------------------------------------------------------------------------


def _lock_department(department: Department) -> None:
    """Serialise writers of one department's orders (SQLite: the ±30-day rule is checked under this lock;
    PostgreSQL locks the order number alone, ``orders.sql.lock_order_numbers``)."""
    # No ordering and no join: FOR UPDATE then locks the department row alone (Meta.ordering would join
    # the dealer and lock it too, serialising every department of the dealer).
    list(Department.objects.select_for_update().filter(pk=department.pk).order_by().values_list("pk", flat=True))


def _vehicle_for(validated: ValidatedOrder, department: Department) -> Vehicle | None:
    if validated.vehicle is not None or validated.new_vehicle_vin is None:
        return validated.vehicle
    vehicle, _ = Vehicle.objects.get_or_create(
        dealer_id=department.dealer_id,
        vin=validated.new_vehicle_vin,
        defaults={"brand": validated.new_vehicle_brand, "customer": validated.customer},
    )
    return vehicle


# The history entry of an order's creation.
_CREATED: list[dict[str, Any]] = [{"field": "order", "old": None, "new": "created"}]


def _history_values(repair_order: RepairOrder, actor: Actor, changes: list[dict[str, Any]]) -> dict[str, Any]:
    """The columns of the history row recording this change (but the order and the instant)."""
    return {
        "version": repair_order.version,
        "channel": actor.channel,
        "partner": actor.partner_id,
        "user": actor.user_id,
        "actor": actor.name,
        "changes": changes,
        "correlation_id": current_correlation_id() or "",
    }


def _record_history(repair_order: RepairOrder, actor: Actor, changes: list[dict[str, Any]]) -> None:
    values = _history_values(repair_order, actor, changes)
    OrderHistory.objects.create(
        repair_order=repair_order,
        partner_id=values.pop("partner"),
        user_id=values.pop("user"),
        **values,
    )


def _stored_document(validated: ValidatedOrder, vehicle: Vehicle | None) -> dict[str, Any]:
    document = validated.document()
    if vehicle is not None:
        document["vehicle"] = {"uuid": str(vehicle.uuid), "vin": vehicle.vin}
    return document


@transaction.atomic(savepoint=False)  # inside the caller's transaction: no savepoint, no extra statements
def repair_order_write(
    *, repair_order: RepairOrder, department: Department, validated: ValidatedOrder, actor: Actor
) -> RepairOrder:
    """Write a repair order in all its forms, record the change in its history and announce it.

    The one write path of a repair order (create, update; the admin and the DMS to come): the document
    (what reads answer), the header columns and the line tables (what filters, the admin and reporting
    use; ``selectors.repair_order_from_rows`` renders them back) are written from the same validated
    order, in one transaction with the history row and the ``order.created``/``order.updated`` event.
    A new order (no primary key yet) is inserted, an existing one replaced whole. The caller holds the
    lock of the order's number (:func:`_lock_and_check_window`) and has checked the ±30-day rule and its own
    preconditions under it.
    """
    creating = repair_order.pk is None
    old_document = None if creating else repair_order.document
    vehicle = _vehicle_for(validated, department)
    for name, value in header_columns(validated.order).items():
        setattr(repair_order, name, value)
    repair_order.department = department
    repair_order.created_instant = validated.created_instant
    repair_order.customer = validated.customer
    repair_order.vehicle = vehicle
    repair_order.vin = vehicle.vin if vehicle else ""
    repair_order.document = _stored_document(validated, vehicle)
    if creating and sql.on_postgresql():
        # header, lines and history row in one statement (orders.sql.insert_order)
        sql.insert_order(repair_order, validated.order, _history_values(repair_order, actor, _CREATED))
        emit(EventType.ORDER_CREATED, subject=repair_order, department_id=department.id)
        return repair_order
    repair_order.save()
    # PostgreSQL writes the lines in one statement from one JSON parameter; SQLite through the ORM
    lines = sql if sql.on_postgresql() else persistence
    if creating:
        changes: list[dict[str, Any]] = _CREATED
    else:
        lines.delete_lines(repair_order)
        changes = document_diff(old_document or {}, repair_order.document)
    lines.write_lines(repair_order, validated.order)
    _record_history(repair_order, actor, changes)
    event = EventType.ORDER_CREATED if creating else EventType.ORDER_UPDATED
    emit(event, subject=repair_order, department_id=department.id)
    return repair_order


def _lock_and_check_window(
    department: Department, numbers: tuple[str, ...], validated: ValidatedOrder, exclude_id: int | None = None
) -> None:
    """Serialise the writers of these order numbers of the department until the transaction ends, then check
    the ±30-day rule once, under that lock (DUPLICATE_ORDER naming the closest order). PostgreSQL locks
    (department, number), so writers of other numbers go on, and checks in the same round trip; SQLite,
    which serialises writers anyway, takes the department row."""
    if not sql.on_postgresql():
        _lock_department(department)
        repair_order_window_check(
            department_id=department.id,
            order_number=validated.order_number,
            created_instant=validated.created_instant,
            exclude_id=exclude_id,
        )
        return
    candidates = sql.lock_numbers_and_find_window(
        department.id,
        numbers,
        order_number=validated.order_number,
        bounds=window_bounds(validated.created_instant),
        exclude_id=exclude_id,
    )
    conflict = closest_conflict(validated.created_instant, (OrderStamp(u, c) for u, c in candidates))
    if conflict is not None:
        raise duplicate_order_error(conflict.uuid)


@transaction.atomic
def repair_order_create(*, department: Department, validated: ValidatedOrder, actor: Actor) -> RepairOrder:
    """Store a technically approved order; the ±30-day rule is checked once, under the lock of its number."""
    _lock_and_check_window(department, (validated.order_number,), validated)
    repair_order = new_instance(RepairOrder, created_by_id=actor.partner_id)
    return repair_order_write(repair_order=repair_order, department=department, validated=validated, actor=actor)


@transaction.atomic
def repair_order_update(
    *, repair_order: RepairOrder, validated: ValidatedOrder, actor: Actor, expected_version: int | None = None
) -> RepairOrder:
    """Replace an order with a technically approved body (a full update) and record the diff.

    Refused: a version other than ``expected_version`` (VERSION_MISMATCH; None accepts any), an order
    that is CLOSED (ORDER_CLOSED, whatever the body), a number or instant that repeats another order of
    the department (DUPLICATE_ORDER, checked under the lock of both the old and the new number). A body
    that changes nothing is a no-op: the order keeps its version, no history entry is written, no event is
    emitted.
    """
    department = repair_order.department
    # The row first (its number, read under the row lock, cannot move any more), then the numbers: every
    # writer takes row before numbers and numbers in one fixed order, so renumbers cannot deadlock.
    current = RepairOrder.objects.select_for_update().get(pk=repair_order.pk)
    if expected_version is not None and expected_version != current.version:
        raise DomainError.of(
            ErrorCode.VERSION_MISMATCH,
            f"If-Match names version {expected_version}, but the order is at version {current.version}.",
        )
    if current.status == RepairOrderStatus.CLOSED:
        raise DomainError.of(ErrorCode.ORDER_CLOSED, "The order is CLOSED and can no longer be changed.")
    _lock_and_check_window(department, (current.order_number, validated.order_number), validated, current.id)
    if _unchanged(current, validated):
        current.department = department
        return current  # an identical PUT: same version, no history entry, nothing pushed again
    current.version += 1
    current.dms_status = DmsStatus.PENDING
    return repair_order_write(repair_order=current, department=department, validated=validated, actor=actor)


def _unchanged(repair_order: RepairOrder, validated: ValidatedOrder) -> bool:
    """Whether writing ``validated`` would leave the order as it is: the same document (the header columns
    and the lines are written from it). An order by VIN of a vehicle not yet known always changes."""
    if validated.new_vehicle_vin is not None:
        return False
    return repair_order.document == _stored_document(validated, validated.vehicle)


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


# --- the DMS's answers ---------------------------------------------------------------------------


def _dms_result(repair_order: RepairOrder, version: int, event: str | None, **columns: Any) -> bool:
    """Record the DMS's answer for ``version`` unless the order moved on meanwhile (a newer version's push
    follows and will answer for it); announce ``event`` after commit. True when recorded."""
    now = timezone.now()
    recorded = RepairOrder.objects.filter(pk=repair_order.pk, version=version).update(updated_at=now, **columns)
    if not recorded:
        return False
    for name, value in columns.items():
        setattr(repair_order, name, value)
    repair_order.updated_at = now
    if event is not None:
        emit(event, subject=repair_order, department_id=repair_order.department_id)
    return True


def repair_order_dms_synced(*, repair_order: RepairOrder, version: int, dms_order_number: str) -> bool:
    """The DMS holds this version of the order, under its own order number: SYNCED (``order.dms_synced``)."""
    return _dms_result(
        repair_order,
        version,
        EventType.ORDER_DMS_SYNCED,
        dms_status=DmsStatus.SYNCED,
        dms_order_number=dms_order_number[:50],
        dms_errors=[],
        dms_synced_at=timezone.now(),
    )


def repair_order_dms_rejected(*, repair_order: RepairOrder, version: int, errors: list[dict[str, Any]]) -> bool:
    """The DMS refused this version for good, with its business errors: REJECTED (``order.dms_rejected``)."""
    return _dms_result(
        repair_order, version, EventType.ORDER_DMS_REJECTED, dms_status=DmsStatus.REJECTED, dms_errors=errors
    )


def repair_order_dms_failed(*, repair_order: RepairOrder, version: int, error: str) -> bool:
    """The push gave up (the DMS could not be reached within the retry budget): FAILED, resendable."""
    failure = [{"errorCode": "DMS_UNREACHABLE", "errorDescription": error}]
    return _dms_result(repair_order, version, None, dms_status=DmsStatus.FAILED, dms_errors=failure)


def repair_orders_dms_pending(*, repair_order_ids: list[int]) -> int:
    """Show these orders as PENDING again with the DMS (their push was asked for anew); answers how many."""
    return RepairOrder.objects.filter(pk__in=repair_order_ids).update(dms_status=DmsStatus.PENDING, dms_errors=[])
