"""Writes of the parts app: checking and placing parts orders, line status changes, the DMS seam, retention.

Refusals are :class:`orma.errors.DomainError` s (their codes, field paths and values); the API maps them
to statuses, the admin shows them as messages. The CSV import lives in :mod:`parts.importing` (it is a
module of its own for its size).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from orders.choices import DmsStatus
from orma.actors import Actor
from orma.context import current_correlation_id
from orma.errors import DomainError, ErrorCode
from orma.events import EventType, emit
from tenancy.choices import DmsMode
from tenancy.models import Dealer, Department

from . import rules, selectors, sql
from .choices import (
    FINAL_LINE_STATUSES,
    LEFT_THE_SHELF,
    PartsOrderLineStatus,
    PartsOrderStatus,
)
from .models import PartsOrder, PartsOrderLine, PartsOrderStatusChange, Stock


@dataclass
class PlacedOrder:
    """A stored parts order with its lines, and whether the DMS accepted it within the request."""

    parts_order: PartsOrder
    lines: list[PartsOrderLine]
    accepted: bool


def parts_order_check(
    *, store: Department, request: rules.PartsOrderRequest, partial: bool = False
) -> rules.CheckedPartsOrder | None:
    """Check a parts order request against the dealer's rules (``rules.parts_order_checked``): two queries.

    The API serializer runs it and hands the result to :func:`parts_order_place`, so nothing is loaded
    twice; any other caller does the same. Raises DomainError with every problem. ``partial``: the
    request's shape had problems the caller reports with these; what parsed is checked, nothing is placed.
    """
    if len(request.lines) > rules.MAX_LINES or not (request.lines or partial):
        raise DomainError.of(ErrorCode.FIELD_INVALID, f"parts must hold 1 to {rules.MAX_LINES} lines", field="parts")
    dealer = store.dealer
    customer_uuids = [uuid for uuid in (request.customer_uuid, request.company_uuid) if uuid is not None]
    customers = selectors.customers_with_discounts(dealer_id=dealer.id, customer_uuids=customer_uuids)
    by_code = [line for line in request.lines if not line.part_id]
    catalogue = selectors.catalogue_load(
        dealer_id=dealer.id,
        store_id=store.id,
        part_ids=[line.part_id for line in request.lines if line.part_id],
        codes=[(rules.brand_code(line.brand_code or ""), line.part_code or "") for line in by_code],
        order_type=request.order_type,
    )
    return rules.parts_order_checked(
        request=request,
        reference_required=dealer.parts_order_reference_required,
        customers=customers,
        catalogue=catalogue,
        partial=partial,
    )


def _history(
    parts_order: PartsOrder, changes: Sequence[tuple[PartsOrderLine | None, str, str]], actor: Actor
) -> list[PartsOrderStatusChange]:
    """The history rows of status changes, not yet stored: one ``at`` and correlation id for all of them."""
    now = timezone.now()
    correlation_id = current_correlation_id() or ""
    return [
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
    ]


def _record(parts_order: PartsOrder, changes: Sequence[tuple[PartsOrderLine | None, str, str]], actor: Actor) -> None:
    """Store the history rows of status changes (one INSERT)."""
    PartsOrderStatusChange.objects.bulk_create(_history(parts_order, changes, actor))


def _check_reserved(
    wanted: Sequence[tuple[int | None, int, int]], plan: Sequence[int], reserved_by_row: Mapping[int, tuple[int, int]]
) -> None:
    """The statement's reservation per stock row must be the plan's (the lines are split by the plan): a
    difference is a bug, and raising rolls the whole order back rather than storing lines the stock disagrees with."""
    planned: dict[int, int] = {}
    for (stock_id, _, _), reserved in zip(wanted, plan, strict=True):
        if stock_id is not None:
            planned[stock_id] = planned.get(stock_id, 0) + reserved
    if any(planned.get(stock_id, 0) != take for stock_id, (_, take) in reserved_by_row.items()):
        raise RuntimeError(f"stock reserved {dict(reserved_by_row)} differs from the plan {planned}")


def parts_order_place(*, store: Department, checked: rules.CheckedPartsOrder, actor: Actor) -> PlacedOrder:
    """Place a checked parts order (:func:`parts_order_check`, same store): reserve stock atomically, store it,
    hand it to the DMS.

    A line is RESERVED for what the store's available stock covers (in whole units of sale) and BACKORDER
    for the rest: a line partly in stock is stored as two, a RESERVED and a BACKORDER one. The stock rows
    are locked in id order and read fresh inside the transaction, so simultaneous orders never reserve
    more than is on hand. Prices are the customer's prices at this moment. A constant number of
    queries whatever the number of lines.
    """
    request = checked.request
    customer = checked.customer.customer
    discounts = checked.customer.discounts
    address = request.delivery_address or {
        "streetName": customer.street_name,
        "postalCode": customer.postal_code,
        "city": customer.city,
        "countryCode": customer.country_code,
    }
    parts_order = PartsOrder(
        department=store,
        customer=customer,
        company=checked.company,
        partner_id=actor.partner_id,
        order_type=request.order_type or "",
        order_reference=request.order_reference,
        contact=dict(request.contact),
        delivery_street_name=address.get("streetName", ""),
        delivery_postal_code=address.get("postalCode", ""),
        delivery_city=address.get("city", ""),
        delivery_country_code=address.get("countryCode", "").upper(),
    )
    on_postgres = sql.in_use()
    wanted = [
        (selectors.stock_id_of(line.part), line.requested.quantity, line.part.unit_of_sale) for line in checked.lines
    ]
    with transaction.atomic():
        if on_postgres:  # one statement locks, reads and reserves (parts.sql); the plan below splits the lines
            per_row: dict[int, tuple[int, int]] = {}
            for stock_id, quantity, unit_of_sale in wanted:
                if stock_id is not None:
                    per_row[stock_id] = (per_row.get(stock_id, (0, unit_of_sale))[0] + quantity, unit_of_sale)
            reserved_by_row = sql.stock_reserve(per_row)
            plan = rules.plan_reservations(wanted, {stock_id: row[0] for stock_id, row in reserved_by_row.items()})
            _check_reserved(wanted, plan, reserved_by_row)
        else:
            stock = selectors.stock_for_update(stock_ids=[stock_id for stock_id, _, _ in wanted])
            plan = rules.plan_reservations(wanted, {stock_id: row.available for stock_id, row in stock.items()})
        lines: list[PartsOrderLine] = []
        reserved_stock: dict[int, Stock] = {}
        for checked_line, reserved, (stock_id, _, _) in zip(checked.lines, plan, wanted, strict=True):
            line, part = checked_line.requested, checked_line.part
            if reserved and stock_id is not None and not on_postgres:
                stock[stock_id].reserved += reserved
                reserved_stock[stock_id] = stock[stock_id]
            # Priced whole (the surcharge of the order type once per requested line, on its first part).
            pricing = selectors.price_part(part=part, quantity=line.quantity, discounts=discounts)
            pieces = [
                (PartsOrderLineStatus.RESERVED, reserved),
                (PartsOrderLineStatus.BACKORDER, line.quantity - reserved),
            ]
            for piece, (status, quantity) in enumerate((status, quantity) for status, quantity in pieces if quantity):
                lines.append(
                    _order_line(parts_order, len(lines), checked_line, status, quantity, pricing, surcharge=piece == 0)
                )
        parts_order.status = rules.derive_order_status(line.status for line in lines)
        history = [(None, "", parts_order.status)]  # the lines' first statuses are on the lines
        if on_postgres:
            sql.parts_order_insert(parts_order, lines, _history(parts_order, history, actor))
        else:
            _write_reserved(reserved_stock.values())
            parts_order.save()
            PartsOrderLine.objects.bulk_create(lines)
            _record(parts_order, history, actor)
        # In the transaction: the DMS integration may take the order now (an in-process DMS) or queue it.
        emit(EventType.PARTS_ORDER_CREATED, subject=parts_order, department_id=store.id)
    return PlacedOrder(parts_order, lines, accepted=parts_order.dms_status == DmsStatus.SYNCED)


def _order_line(
    parts_order: PartsOrder,
    position: int,
    checked_line: rules.CheckedLine,
    status: str,
    quantity: int,
    pricing: rules.LinePricing,
    *,
    surcharge: bool,
) -> PartsOrderLine:
    """One stored line of a requested line: all of it, or its RESERVED or its BACKORDER part."""
    part, superseded = checked_line.part, checked_line.superseded
    return PartsOrderLine(
        parts_order=parts_order,
        position=position,
        part=part,
        part_number=part.part_id,
        superseded_part=superseded,
        superseded_part_number=superseded.part_id if superseded else "",
        quantity=quantity,
        unit_of_measure=part.unit_of_measure,
        unit_of_measure_value=part.unit_of_measure_value,
        unit_of_sale=part.unit_of_sale,
        status=status,
        reserved_quantity=quantity if status == PartsOrderLineStatus.RESERVED else 0,
        vehicle_references=[
            {"type": r["type"], "value": r["value"]} for r in checked_line.requested.vehicle_references
        ],
        list_net_price=part.list_net_price,
        order_net_price=pricing.customer_unit.net,
        surcharge_net=pricing.surcharge.net if pricing.surcharge and surcharge else None,
        tax_rate=part.tax_rate,
        currency_code=part.currency_code,
    )


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


def parts_order_await_dms(*, placed: PlacedOrder, seconds: float) -> PlacedOrder:
    """Give a synchronous dealer's network DMS a moment (at most ``seconds``) to take a parts order the
    worker is pushing, so the API can answer 201 with the DMS's lines; else the order as placed (202).

    Runs after the order's transaction committed; the push itself runs in a worker, never here.
    """
    parts_order = placed.parts_order
    if placed.accepted or seconds <= 0 or parts_order.department.dealer.dms_mode != DmsMode.SYNC:
        return placed
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.05)
        if PartsOrder.objects.filter(pk=parts_order.pk, dms_status=DmsStatus.SYNCED).exists():
            synced = selectors.parts_order_get(department_id=parts_order.department_id, order_uuid=parts_order.uuid)
            if synced is not None:
                return PlacedOrder(synced, list(synced.lines.all()), accepted=True)
    return placed


def parts_order_dms_queued(*, parts_order: PartsOrder, dms_order_number: str) -> None:
    """Record that the DMS queued a parts order under its number (Keyloop's 202): it confirms it later."""
    parts_order.dms_order_number = dms_order_number
    PartsOrder.objects.filter(pk=parts_order.pk).update(dms_order_number=dms_order_number)


def parts_order_dms_rejected(*, parts_order: PartsOrder, errors: list[dict[str, Any]]) -> None:
    """Record that the DMS refused a parts order for good, with its business errors."""
    parts_order.dms_status, parts_order.dms_errors = DmsStatus.REJECTED, errors
    PartsOrder.objects.filter(pk=parts_order.pk).update(dms_status=DmsStatus.REJECTED, dms_errors=errors)


def parts_order_dms_lines(*, parts_order: PartsOrder, statuses: Mapping[str, str], actor: Actor) -> list[str]:
    """Apply the line statuses the DMS reports (``orderLineId`` -> status) through the line-status service,
    so stock, the derived order status, the history and the events follow; answers what it could not apply
    (a final line asked to move, stock that is not there): the DMS and OrMa disagree, support looks."""
    refused = []
    for line in PartsOrderLine.objects.filter(parts_order=parts_order).order_by("position"):
        status = statuses.get(str(line.uuid))
        if status is None or status == line.status:
            continue
        try:
            parts_order_line_status_change(line=line, status=status, actor=actor)
        except DomainError as error:
            refused.append(f"{line.part_number}: {error}")
    return refused


def _move_stock(line: PartsOrderLine, department_id: int, new_status: str) -> None:
    """Keep the store's reservation in step with a line's new status."""
    held = line.reserved_quantity
    stock = Stock.objects.filter(department_id=department_id, part_id=line.part_id)
    if new_status == PartsOrderLineStatus.RESERVED and not held:
        row = stock.select_for_update().first()
        if row is None or row.available < line.quantity:
            available = row.available if row else 0
            raise DomainError.of(
                ErrorCode.CONFLICT,
                f"only {available} of part {line.part_number} available; {line.quantity} needed",
                field="status",
                value=new_status,
            )
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
        raise DomainError.of(ErrorCode.FIELD_INVALID, f"unknown line status {status!r}", field="status", value=status)
    parts_order = PartsOrder.objects.select_for_update().get(pk=line.parts_order_id)
    lines = list(PartsOrderLine.objects.filter(parts_order=parts_order).order_by("position"))
    current = next(candidate for candidate in lines if candidate.pk == line.pk)
    if current.status == status:
        return parts_order
    if current.status in FINAL_LINE_STATUSES:
        raise DomainError.of(
            ErrorCode.CONFLICT,
            f"line {current.part_number} is {current.status} and can no longer change",
            field="status",
            value=status,
        )
    old_line_status = current.status
    _move_stock(current, parts_order.department_id, status)
    current.status = status
    current.save(update_fields=["status", "reserved_quantity"])
    line.status, line.reserved_quantity = current.status, current.reserved_quantity

    changes: list[tuple[PartsOrderLine | None, str, str]] = [(current, old_line_status, status)]
    parts_order.version += 1  # under the order's row lock: versions never repeat
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
    parts_order.save(update_fields=["status", "version", "closed_at", "updated_at"])
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
