"""Reads of the orders app: customers, vehicles, service packages, repair orders and their history."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from . import sql
from .models import (
    Customer,
    Job,
    MlsLine,
    OrderHistory,
    OrderReference,
    PackageLabourLine,
    PackagePartLine,
    PackagePrice,
    RepairOrder,
    ServicePackage,
    Vehicle,
)
from .persistence import JOB_LISTS, column, document_from_rows
from .rules import ORDER_WINDOW, OrderStamp, closest_conflict

# --- customers, vehicles, packages ---------------------------------------------------------------


def customer_get(*, dealer_id: int, customer_uuid: uuid.UUID | str) -> Customer | None:
    """A customer of this dealer, or None (another dealer's customer is as unknown as a missing one)."""
    return Customer.objects.filter(dealer_id=dealer_id, uuid=customer_uuid).first()


def vehicle_get(*, dealer_id: int, vehicle_uuid: uuid.UUID | str) -> Vehicle | None:
    return Vehicle.objects.select_related("customer").filter(dealer_id=dealer_id, uuid=vehicle_uuid).first()


def vehicle_get_by_vin(*, dealer_id: int, vin: str) -> Vehicle | None:
    return Vehicle.objects.select_related("customer").filter(dealer_id=dealer_id, vin=vin).first()


def customer_search(*, dealer_id: int, search: str = "", after_id: int | None = None, limit: int) -> list[Customer]:
    """Customers of the dealer whose name, company, e-mail or phone contains ``search``, by id."""
    customers = Customer.objects.filter(dealer_id=dealer_id)
    if search:
        customers = customers.filter(
            Q(family_name__icontains=search)
            | Q(given_name__icontains=search)
            | Q(company_name__icontains=search)
            | Q(email__icontains=search)
            | Q(phone__icontains=search)
        )
    if after_id is not None:
        customers = customers.filter(id__gt=after_id)
    return list(customers.order_by("id")[: limit + 1])


@dataclass(frozen=True)
class PricedPackage:
    """A service package with this dealer's price and its lines, as orders and the package API use it."""

    package: ServicePackage
    price: Decimal
    currency_code: str

    def applies_to(self, brand: str | None, model: str = "") -> bool:
        brands, models_ = self.package.brands, self.package.models
        if brands and brand not in brands:
            return False
        return not (models_ and model and model not in models_)


def packages_priced(*, dealer_id: int, codes: Iterable[str] | None = None) -> dict[str, PricedPackage]:
    """The packages this dealer prices (optionally only these codes), with their lines: three queries."""
    prices = PackagePrice.objects.filter(dealer_id=dealer_id).select_related("package")
    if codes is not None:
        prices = prices.filter(package__code__in=list(codes))
    prices = prices.prefetch_related(
        Prefetch("package__labour_lines", queryset=PackageLabourLine.objects.order_by("id")),
        Prefetch("package__part_lines", queryset=PackagePartLine.objects.order_by("id")),
    )
    return {p.package.code: PricedPackage(p.package, p.price, p.currency_code) for p in prices}


# --- repair orders -------------------------------------------------------------------------------


def _shifted(instant: datetime, delta: timedelta) -> datetime:
    """``instant + delta``, stopping at the calendar's ends (0001-01-01 and 9999-12-31 are real dates)."""
    try:
        return instant + delta
    except OverflowError:
        return datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC) if delta > timedelta(0) else datetime(1, 1, 1, tzinfo=UTC)


def window_bounds(created_instant: datetime) -> tuple[datetime, datetime]:
    """The first and last instant (both included) an order of the same number repeats this one within."""
    return _shifted(created_instant, -ORDER_WINDOW), _shifted(created_instant, ORDER_WINDOW)


def repair_order_conflict(
    *, department_id: int, order_number: str, created_instant: datetime, exclude_id: int | None = None
) -> OrderStamp | None:
    """The existing order a write at this number and instant would repeat (the ±30-day rule), or None.

    One index range scan on (department, order_number, created_instant); the choice among the
    candidates is :func:`orders.rules.closest_conflict`.
    """
    lower, upper = window_bounds(created_instant)
    candidates = RepairOrder.objects.filter(
        department_id=department_id,
        order_number=order_number,
        created_instant__gte=lower,
        created_instant__lte=upper,
    )
    if exclude_id is not None:
        candidates = candidates.exclude(id=exclude_id)
    stamps = (OrderStamp(u, c) for u, c in candidates.order_by().values_list("uuid", "created_instant"))
    return closest_conflict(created_instant, stamps)


def repair_order_get(*, department_id: int, order_uuid: uuid.UUID | str) -> RepairOrder | None:
    """One order of the department (one query of the columns a read answers: the document holds the body)."""
    return (
        RepairOrder.objects.filter(department_id=department_id, uuid=order_uuid)
        .only(*REPAIR_ORDER_READ_COLUMNS)
        .order_by()
        .first()
    )


def repair_order_read(*, department_id: int, order_uuid: uuid.UUID | str) -> sql.StoredOrder | None:
    """One order of the department as the read answers it, its document as JSON text (PostgreSQL only: the
    embedded SQLite reads through :func:`repair_order_get`)."""
    return sql.read_order(department_id, order_uuid)


# What GET answers (orders.api.representations.order_representation); other columns load only if asked for.
REPAIR_ORDER_READ_COLUMNS = (
    "id",
    "uuid",
    "department_id",
    "created_instant",
    "document",
    "version",
    "created_at",
    "updated_at",
    "dms_status",
    "dms_order_number",
    "dms_errors",
    "dms_synced_at",
)


def repair_orders(*, department_id: int) -> QuerySet[RepairOrder]:
    """The department's repair orders, unfiltered: what the list's FilterSet (``orders.filters``) narrows."""
    return RepairOrder.objects.filter(department_id=department_id)


def repair_order_list(
    *, orders: QuerySet[RepairOrder], after: tuple[datetime, int] | None, limit: int
) -> list[RepairOrder]:
    """One page of (filtered) orders, newest first, keyset-paginated on (created_instant, id).

    Up to ``limit + 1`` orders after the cursor's (created_instant, id): the extra one tells that a next
    page exists. One query, on the department's list index (or its status index).
    """
    if after is not None:
        instant, order_id = after
        orders = orders.filter(Q(created_instant__lt=instant) | Q(created_instant=instant, id__lt=order_id))
    return list(orders.only(*REPAIR_ORDER_READ_COLUMNS).order_by("-created_instant", "-id")[: limit + 1])


def repair_order_history(
    *, repair_order: RepairOrder, after: tuple[int, int] | None = None, limit: int | None = None
) -> list[OrderHistory]:
    """The order's history rows, oldest first; a page of them after the (version, id) ``after`` when given
    (keyset pagination: a 10 x 500-line order updated 50 times answered 37 MB in one go)."""
    history = repair_order.history.order_by("version", "id")
    if after is not None:
        version, row_id = after
        history = history.filter(Q(version__gt=version) | Q(version=version, id__gt=row_id))
    return list(history[: limit + 1] if limit is not None else history)


def repair_order_from_rows(repair_order: RepairOrder) -> dict[str, Any]:
    """The order's document as its header columns and line tables render it (not read from ``document``).

    For the admin, reporting and the test that keeps the rows equal to the stored document; a constant
    number of queries whatever the order's size.
    """
    lines = [Prefetch(column(name), queryset=model._default_manager.order_by("position")) for name, model in JOB_LISTS]
    lines.append(Prefetch("mls", queryset=MlsLine.objects.order_by("position")))
    loaded = (
        RepairOrder.objects.select_related("customer", "vehicle")
        .prefetch_related(
            Prefetch("jobs", queryset=Job.objects.order_by("position").prefetch_related(*lines)),
            Prefetch("references", queryset=OrderReference.objects.order_by("position")),
        )
        .get(pk=repair_order.pk)
    )
    order_mls = list(MlsLine.objects.filter(repair_order=loaded, job=None).order_by("position"))
    return document_from_rows(loaded, jobs=list(loaded.jobs.all()), order_mls=order_mls)


def repair_orders_by_number(*, order_number: str, department_uuid: uuid.UUID | None = None) -> list[RepairOrder]:
    """Every order with this number (of one department, or of all), newest first, with its department."""
    orders = RepairOrder.objects.filter(order_number=order_number).select_related("department__dealer")
    if department_uuid is not None:
        orders = orders.filter(department__uuid=department_uuid)
    return list(orders.order_by("-created_instant", "-id"))
