"""Writes of the orders app: tenancy, customers, vehicles and repair orders."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from orma.api.errors import ApiError, ErrorCode
from orma.context import current_correlation_id
from orma.crypto import generate_secret, hash_secret

from .choices import (
    ALL_BRANDS,
    ALL_SCOPES,
    DepartmentType,
    DmsKind,
    DmsMode,
    DmsStatus,
    HistoryChannel,
    RepairOrderStatus,
)
from .models import Customer, Dealer, Department, Grant, OrderHistory, Partner, RepairOrder, Vehicle
from .persistence import delete_lines, header_columns, write_lines
from .selectors import repair_order_conflict
from .validation import ValidatedOrder, duplicate_order_error


def dealer_create(
    *,
    name: str,
    country: str = "DE",
    brands: list[str] | None = None,
    dms_kind: str = DmsKind.SANDBOX,
    dms_base_url: str = "",
    dms_username: str = "",
    dms_password: str = "",
    dms_mode: str = DmsMode.SYNC,
    parts_order_reference_required: bool = False,
) -> Dealer:
    """Create a dealer; every brand of seed 000 unless told otherwise."""
    brands = list(ALL_BRANDS) if brands is None else brands
    unknown = [brand for brand in brands if brand not in ALL_BRANDS]
    if unknown:
        raise ValidationError(f"unknown brand(s) {', '.join(unknown)}; known: {', '.join(ALL_BRANDS)}")
    if dms_kind != DmsKind.SANDBOX and not dms_base_url:
        raise ValidationError(f"a {dms_kind} DMS needs a base URL")
    dealer = Dealer(
        name=name,
        country=country.upper(),
        brands=brands,
        dms_kind=dms_kind,
        dms_base_url=dms_base_url,
        dms_username=dms_username,
        dms_password=dms_password,
        dms_mode=dms_mode,
        parts_order_reference_required=parts_order_reference_required,
    )
    dealer.full_clean()
    dealer.save()
    return dealer


def department_create(*, dealer: Dealer, name: str, type: str = DepartmentType.SERVICE, dms_id: str = "") -> Department:
    """Create a department of a dealer; its DMS id defaults to its own UUID."""
    department = Department(dealer=dealer, name=name, type=type)
    department.dms_id = dms_id or str(department.uuid)
    department.full_clean()
    department.save()
    return department


@dataclass(frozen=True)
class GrantSpec:
    """One ``DEPARTMENT_UUID=scope,scope`` of the partner commands, parsed and checked."""

    department_uuid: uuid.UUID
    scopes: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> GrantSpec:
        department_text, sep, scopes_text = text.partition("=")
        if not sep:
            raise ValidationError(f"malformed grant {text!r}: expected DEPARTMENT_UUID=scope,scope")
        try:
            department_uuid = uuid.UUID(department_text.strip())
        except ValueError:
            raise ValidationError(f"malformed grant {text!r}: {department_text!r} is not a UUID") from None
        scopes = tuple(dict.fromkeys(s.strip() for s in scopes_text.split(",") if s.strip()))
        if not scopes:
            raise ValidationError(f"malformed grant {text!r}: no scopes")
        unknown = [scope for scope in scopes if scope not in ALL_SCOPES]
        if unknown:
            raise ValidationError(f"unknown scope(s) {', '.join(unknown)}; known: {', '.join(ALL_SCOPES)}")
        return cls(department_uuid, scopes)


@transaction.atomic
def partner_create(*, name: str, username: str, grants: list[GrantSpec]) -> tuple[Partner, str]:
    """Create a partner with its grants; answers the partner and its secret, which is never stored."""
    if Partner.objects.filter(username=username).exists():
        raise ValidationError(f"a partner with username {username!r} already exists")
    departments = Department.objects.in_bulk([g.department_uuid for g in grants], field_name="uuid")
    missing = [str(g.department_uuid) for g in grants if g.department_uuid not in departments]
    if missing:
        raise ValidationError(f"unknown department(s) {', '.join(missing)}")
    secret = generate_secret()
    partner = Partner(name=name, username=username, secret_hash=hash_secret(secret))
    partner.full_clean()
    partner.save()
    grant_set(partner=partner, grants=grants, departments=departments)
    return partner, secret


def grant_set(
    *, partner: Partner, grants: list[GrantSpec], departments: dict[uuid.UUID, Department] | None = None
) -> None:
    """Give a partner these scopes on these departments (replacing the scopes of an existing grant)."""
    if departments is None:
        departments = Department.objects.in_bulk([g.department_uuid for g in grants], field_name="uuid")
    for spec in grants:
        Grant.objects.update_or_create(
            partner=partner, department=departments[spec.department_uuid], defaults={"scopes": list(spec.scopes)}
        )


@transaction.atomic
def partner_rotate_secret(*, username: str, grace_hours: float = 0) -> tuple[Partner, str, datetime | None]:
    """Give a partner a new secret; the old one keeps working for ``grace_hours``, then never again."""
    if grace_hours < 0:
        raise ValidationError("grace hours cannot be negative")
    partner = Partner.objects.select_for_update().filter(username=username).first()
    if partner is None:
        raise ValidationError(f"no partner with username {username!r}")
    secret = generate_secret()
    valid_until = timezone.now() + timedelta(hours=grace_hours) if grace_hours > 0 else None
    partner.previous_secret_hash = partner.secret_hash if valid_until else ""
    partner.previous_secret_valid_until = valid_until
    partner.secret_hash = hash_secret(secret)
    partner.save(update_fields=["secret_hash", "previous_secret_hash", "previous_secret_valid_until"])
    return partner, secret, valid_until


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


@dataclass(frozen=True)
class Actor:
    """Who writes: a partner (API), a staff user (admin) or the DMS."""

    channel: str
    name: str
    partner_id: int | None = None
    user_id: int | None = None

    @classmethod
    def partner(cls, credentials: Any) -> Actor:
        return cls(HistoryChannel.API, credentials.username, partner_id=credentials.id)


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
