"""Writes of the parts app: placing parts orders, line status changes, the DMS seam, retention.

The CSV import lives in :mod:`parts.importing` (it is a module of its own for its size).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from orders.choices import DmsStatus
from orders.models import Customer
from orma.actors import Actor
from orma.api.errors import ApiError, ErrorCode, Problem
from orma.context import current_correlation_id
from orma.events import EventType, emit
from tenancy.models import Dealer, Department

from . import rules, selectors
from .choices import (
    FINAL_LINE_STATUSES,
    LEFT_THE_SHELF,
    PartsOrderLineStatus,
    PartsOrderStatus,
)
from .models import Part, PartsOrder, PartsOrderLine, PartsOrderStatusChange, Stock

MAX_LINES = 200


@dataclass(frozen=True)
class RequestedLine:
    """One line of a parts order request: the part (by partId, or brandCode + partCode) and how many."""

    quantity: int
    part_id: str | None = None
    brand_code: str | None = None
    part_code: str | None = None
    vehicle_references: tuple[Mapping[str, str], ...] = ()


@dataclass(frozen=True)
class PartsOrderRequest:
    """A syntactically valid parts order request (seed 002's body), before the dealer's rules are checked."""

    customer_uuid: uuid.UUID
    order_type: str
    lines: Sequence[RequestedLine]
    company_uuid: uuid.UUID | None = None
    order_reference: str = ""
    contact: Mapping[str, str] = field(default_factory=dict)
    delivery_address: Mapping[str, str] | None = None


@dataclass
class PlacedOrder:
    """A stored parts order with its lines, and whether the DMS accepted it within the request."""

    parts_order: PartsOrder
    lines: list[PartsOrderLine]
    accepted: bool


@dataclass
class _Checked:
    customer: Customer
    company: Customer | None
    lines: list[tuple[RequestedLine, Part, Part | None]]


def _resolve_part(catalogue: selectors.Catalogue, line: RequestedLine) -> tuple[Part | None, str]:
    """The part a line names, or None with the reason."""
    if line.part_id:
        part = catalogue.by_part_id.get(line.part_id)
        if part is None:
            return None, f"part {line.part_id} is not in this dealer's catalogue"
        for name, given, actual in (
            ("brandCode", line.brand_code, part.brand_code),
            ("partCode", line.part_code, part.part_code),
        ):
            if given not in (None, "") and given != actual:
                return None, f"part {line.part_id} has {name} {actual}, not {given}"
        return part, ""
    matches = catalogue.by_code.get((line.brand_code or "", line.part_code or ""), [])
    if len(matches) == 1:
        return matches[0], ""
    if matches:
        return None, f"brandCode {line.brand_code} and partCode {line.part_code} name several parts; give partId"
    return None, f"no part with brandCode {line.brand_code} and partCode {line.part_code} in this dealer's catalogue"


def _check_order(
    *, dealer: Dealer, request: PartsOrderRequest, catalogue: selectors.Catalogue, customers: Mapping[Any, Any]
) -> tuple[_Checked | None, list[Problem]]:
    """Seed 002's rules on a parts order: every problem, each named by its field path."""
    problems: list[Problem] = []
    priced = customers.get(request.customer_uuid)
    if priced is None:
        problems.append(
            Problem(
                ErrorCode.UNKNOWN_CUSTOMER,
                f"customerId {request.customer_uuid} is not a customer of this dealer",
                "customerId",
                request.customer_uuid,
            )
        )
    company = None
    if request.company_uuid is not None:
        company_priced = customers.get(request.company_uuid)
        if company_priced is None:
            problems.append(
                Problem(
                    ErrorCode.UNKNOWN_CUSTOMER,
                    f"companyId {request.company_uuid} is not a customer of this dealer",
                    "companyId",
                    request.company_uuid,
                )
            )
        else:
            company = company_priced.customer
    if dealer.parts_order_reference_required and not request.order_reference.strip():
        problems.append(
            Problem(ErrorCode.FIELD_REQUIRED, "orderReference is required by this dealer", "orderReference", "")
        )
    if not request.delivery_address and priced is not None:
        customer = priced.customer
        if not (customer.street_name or customer.city):
            problems.append(
                Problem(
                    ErrorCode.FIELD_REQUIRED,
                    "alternateDeliveryAddress is required: the customer has no invoice address to deliver to",
                    "alternateDeliveryAddress",
                    "",
                )
            )
    checked_lines = []
    for index, line in enumerate(request.lines):
        prefix = f"parts[{index}]"
        requested, reason = _resolve_part(catalogue, line)
        if requested is None:
            name = "partId" if line.part_id else "partCode"
            value = line.part_id if line.part_id else line.part_code
            problems.append(Problem(ErrorCode.UNKNOWN_PART, reason, f"{prefix}.part.{name}", value))
            continue
        supersession = catalogue.supersession(requested)
        if supersession.cycle or supersession.broken:
            chain = " → ".join(
                catalogue.parts[pk].part_id if pk in catalogue.parts else "?" for pk in supersession.chain
            )
            what = "loops" if supersession.cycle else "names a successor that is not in the catalogue"
            problems.append(
                Problem(
                    ErrorCode.UNKNOWN_PART,
                    f"the supersession of part {requested.part_id} {what} ({chain}); ask the dealer",
                    f"{prefix}.part.partId",
                    requested.part_id,
                )
            )
            continue
        part = catalogue.parts[supersession.final]
        issue = rules.quantity_problem(line.quantity, part.unit_of_sale)
        if issue:
            problems.append(Problem(ErrorCode.FIELD_INVALID, issue, f"{prefix}.quantity", line.quantity))
        missing = rules.missing_vehicle_references(part.mandatory_vehicle_references or (), line.vehicle_references)
        for ref_type in missing:
            problems.append(
                Problem(
                    ErrorCode.FIELD_REQUIRED,
                    f"a {ref_type} vehicle reference is mandatory for part {part.part_id}",
                    f"{prefix}.mandatoryVehicleReferences",
                    ref_type,
                )
            )
        checked_lines.append((line, part, requested if part.pk != requested.pk else None))
    if problems or priced is None:
        return None, problems
    return _Checked(priced.customer, company, checked_lines), problems


def _record(parts_order: PartsOrder, changes: Sequence[tuple[PartsOrderLine | None, str, str]], actor: Actor) -> None:
    now = timezone.now()
    correlation_id = current_correlation_id() or ""
    PartsOrderStatusChange.objects.bulk_create(
        PartsOrderStatusChange(
            parts_order=parts_order,
            line=line,
            old_status=old,
            new_status=new,
            channel=actor.channel,
            actor=actor.name,
            user_id=actor.user_id,
            correlation_id=correlation_id,
            at=now,
        )
        for line, old, new in changes
    )


def parts_order_place(*, store: Department, request: PartsOrderRequest, actor: Actor) -> PlacedOrder:
    """Place a parts order: check seed 002's rules, reserve stock atomically, store it, hand it to the DMS.

    A line is RESERVED when the store's available stock covers its whole quantity, else BACKORDER. The
    stock rows are locked in id order and read fresh inside the transaction, so simultaneous orders never
    reserve more than is on hand. Prices are the customer's prices at this moment. A constant number of
    queries whatever the number of lines.
    """
    dealer = store.dealer
    if not request.lines or len(request.lines) > MAX_LINES:
        raise ApiError.of(400, ErrorCode.FIELD_INVALID, f"parts must hold 1 to {MAX_LINES} lines", field="parts")
    customer_uuids = [request.customer_uuid] + ([request.company_uuid] if request.company_uuid else [])
    customers = selectors.customers_with_discounts(dealer_id=dealer.id, customer_uuids=customer_uuids)
    catalogue = selectors.catalogue_load(
        dealer_id=dealer.id,
        store_id=store.id,
        part_ids=[line.part_id for line in request.lines if line.part_id],
        codes=[(line.brand_code or "", line.part_code or "") for line in request.lines if not line.part_id],
        order_type=request.order_type,
    )
    checked, problems = _check_order(dealer=dealer, request=request, catalogue=catalogue, customers=customers)
    if checked is None:
        raise ApiError(400, problems)
    discounts = customers[request.customer_uuid].discounts

    address = request.delivery_address or {
        "streetName": checked.customer.street_name,
        "postalCode": checked.customer.postal_code,
        "city": checked.customer.city,
        "countryCode": checked.customer.country_code,
    }
    parts_order = PartsOrder(
        department=store,
        customer=checked.customer,
        company=checked.company,
        partner_id=actor.partner_id,
        order_type=request.order_type,
        order_reference=request.order_reference,
        contact=dict(request.contact),
        delivery_street_name=address.get("streetName", ""),
        delivery_postal_code=address.get("postalCode", ""),
        delivery_city=address.get("city", ""),
        delivery_country_code=address.get("countryCode", "").upper(),
    )
    with transaction.atomic():
        stock = selectors.stock_for_update(stock_ids=[selectors.stock_id_of(part) for _, part, _ in checked.lines])
        plan = rules.plan_reservations(
            [(selectors.stock_id_of(part), line.quantity) for line, part, _ in checked.lines],
            {stock_id: row.available for stock_id, row in stock.items()},
        )
        lines = []
        reserved_stock: dict[int, Stock] = {}
        for position, ((line, part, superseded), reserved) in enumerate(zip(checked.lines, plan, strict=True)):
            stock_id = selectors.stock_id_of(part)
            if reserved and stock_id is not None:
                stock[stock_id].reserved += line.quantity
                reserved_stock[stock_id] = stock[stock_id]
            pricing = selectors.price_part(part=part, quantity=line.quantity, discounts=discounts)
            lines.append(
                PartsOrderLine(
                    parts_order=parts_order,
                    position=position,
                    part=part,
                    part_number=part.part_id,
                    superseded_part=superseded,
                    superseded_part_number=superseded.part_id if superseded else "",
                    quantity=line.quantity,
                    unit_of_measure=part.unit_of_measure,
                    unit_of_measure_value=part.unit_of_measure_value,
                    unit_of_sale=part.unit_of_sale,
                    status=PartsOrderLineStatus.RESERVED if reserved else PartsOrderLineStatus.BACKORDER,
                    reserved_quantity=line.quantity if reserved else 0,
                    vehicle_references=[{"type": r["type"], "value": r["value"]} for r in line.vehicle_references],
                    list_net_price=part.list_net_price,
                    order_net_price=pricing.customer_unit.net,
                    surcharge_net=pricing.surcharge.net if pricing.surcharge else None,
                    tax_rate=part.tax_rate,
                    currency_code=part.currency_code,
                )
            )
        _write_reserved(reserved_stock.values())
        parts_order.status = rules.derive_order_status(line.status for line in lines)
        parts_order.save()
        PartsOrderLine.objects.bulk_create(lines)
        _record(parts_order, [(None, "", parts_order.status)], actor)  # the lines' first statuses are on the lines
        # In the transaction: the DMS integration may take the order now (an in-process DMS) or queue it.
        emit(EventType.PARTS_ORDER_CREATED, subject=parts_order, department_id=store.id)
    return PlacedOrder(parts_order, lines, accepted=parts_order.dms_status == DmsStatus.SYNCED)


def _write_reserved(rows: Iterable[Stock]) -> None:
    """Write the new ``reserved`` of locked stock rows in one statement (``bulk_update``'s CASE costs more)."""
    values = [(row.pk, row.reserved) for row in rows]
    if not values:
        return
    table = Stock._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH v(id, reserved) AS (VALUES {', '.join(['(%s, %s)'] * len(values))})"
            f" UPDATE {table} SET reserved = v.reserved FROM v WHERE {table}.id = v.id",
            [value for row in values for value in row],
        )


def parts_order_dms_synced(*, parts_order: PartsOrder, dms_order_number: str = "") -> None:
    """Record that the dealer's DMS took a parts order (one UPDATE; the instance is updated too)."""
    parts_order.dms_status = DmsStatus.SYNCED
    parts_order.dms_order_number = dms_order_number or parts_order.dms_order_number
    parts_order.dms_synced_at = timezone.now()
    PartsOrder.objects.filter(pk=parts_order.pk).update(
        dms_status=parts_order.dms_status,
        dms_order_number=parts_order.dms_order_number,
        dms_synced_at=parts_order.dms_synced_at,
    )


def _move_stock(line: PartsOrderLine, department_id: int, new_status: str) -> None:
    """Keep the store's reservation in step with a line's new status."""
    held = line.reserved_quantity
    stock = Stock.objects.filter(department_id=department_id, part_id=line.part_id)
    if new_status == PartsOrderLineStatus.RESERVED and not held:
        row = stock.select_for_update().first()
        if row is None or row.available < line.quantity:
            available = row.available if row else 0
            raise ValidationError(f"only {available} of part {line.part_number} available; {line.quantity} needed")
        stock.update(reserved=F("reserved") + line.quantity)
        line.reserved_quantity = line.quantity
    elif held and new_status in LEFT_THE_SHELF:
        stock.update(on_hand=F("on_hand") - held, reserved=F("reserved") - held)
        line.reserved_quantity = 0
    elif held and new_status != PartsOrderLineStatus.RESERVED:
        stock.update(reserved=F("reserved") - held)
        line.reserved_quantity = 0


@transaction.atomic
def parts_order_line_status_change(*, line: PartsOrderLine, status: str, actor: Actor) -> PartsOrder:
    """Change a line's status (DMS or admin): move its stock, re-derive the order status, record both changes."""
    if status not in PartsOrderLineStatus.values:
        raise ValidationError(f"unknown line status {status!r}")
    parts_order = PartsOrder.objects.select_for_update().get(pk=line.parts_order_id)
    lines = list(PartsOrderLine.objects.filter(parts_order=parts_order).order_by("position"))
    current = next(candidate for candidate in lines if candidate.pk == line.pk)
    if current.status == status:
        return parts_order
    if current.status in FINAL_LINE_STATUSES:
        raise ValidationError(f"line {current.part_number} is {current.status} and can no longer change")
    old_line_status = current.status
    _move_stock(current, parts_order.department_id, status)
    current.status = status
    current.save(update_fields=["status", "reserved_quantity"])
    line.status, line.reserved_quantity = current.status, current.reserved_quantity

    changes: list[tuple[PartsOrderLine | None, str, str]] = [(current, old_line_status, status)]
    old_order_status = parts_order.status
    new_order_status = rules.derive_order_status(candidate.status for candidate in lines)
    if new_order_status != old_order_status:
        parts_order.status = new_order_status
        parts_order.closed_at = timezone.now() if new_order_status == PartsOrderStatus.CLOSED else None
        changes.append((None, old_order_status, new_order_status))
        emit(
            EventType.PARTS_ORDER_STATUS_CHANGED,
            subject=parts_order,
            department_id=parts_order.department_id,
            old_status=old_order_status,
            new_status=new_order_status,
        )
    parts_order.save(update_fields=["status", "closed_at", "updated_at"])
    _record(parts_order, changes, actor)
    return parts_order


def parts_orders_purge(*, now: datetime | None = None, dry_run: bool = False, batch_size: int = 1000) -> int:
    """Delete CLOSED parts orders older than their dealer's retention period (counted from closing); how many."""
    now = now or timezone.now()
    purged = 0
    for dealer_id, days in Dealer.objects.values_list("id", "parts_order_retention_days"):
        expired = PartsOrder.objects.filter(
            department__dealer_id=dealer_id, status=PartsOrderStatus.CLOSED, closed_at__lt=now - timedelta(days=days)
        )
        if dry_run:
            purged += expired.count()
            continue
        while ids := list(expired.order_by("id").values_list("id", flat=True)[:batch_size]):
            with transaction.atomic():
                PartsOrder.objects.filter(id__in=ids).delete()
            purged += len(ids)
    return purged
