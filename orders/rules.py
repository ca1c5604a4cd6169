"""Pure business rules of the orders app: the ±30-day window, the totals, a customer's name. No database
access here.

The ±30-day rule lives in :func:`closest_conflict`. It is called twice on every write: by the request
validation for a fast answer (through ``selectors.repair_order_conflict``), and by the create and update
services inside their transaction, after locking the department row, so that two simultaneous writers
cannot both pass it. The admin form calls it through the same selector.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from .fields import HOURS, MONEY

ORDER_WINDOW = dt.timedelta(days=30)


@dataclass(frozen=True)
class OrderStamp:
    """An existing order as the window rule sees it."""

    uuid: UUID
    created_instant: dt.datetime


def closest_conflict(created_instant: dt.datetime, candidates: Iterable[OrderStamp]) -> OrderStamp | None:
    """The order, among same-numbered orders of a department, that a new order at this instant would repeat.

    Within 30 days either side, boundaries included (|Δ| ≤ 30 × 24 h), the nearest in time wins; on a tie
    the older one; None when no candidate is within the window.
    """
    best: OrderStamp | None = None
    best_key: tuple[dt.timedelta, dt.datetime, str] | None = None
    for candidate in candidates:
        distance = abs(candidate.created_instant - created_instant)
        if distance > ORDER_WINDOW:
            continue
        key = (distance, candidate.created_instant, str(candidate.uuid))
        if best_key is None or key < best_key:
            best, best_key = candidate, key
    return best


def creation_instant(create_date: dt.date, create_time: dt.time) -> dt.datetime:
    """``createDate`` + ``createTime`` (UTC, seed 001) as one aware instant."""
    return dt.datetime.combine(create_date, create_time, tzinfo=dt.UTC)


# --- totals --------------------------------------------------------------------------------------

_ZERO = Decimal("0.00")


def _quantity(line: dict[str, Any]) -> Decimal:
    return line.get("quantitySold") or line.get("quantityOrdered") or Decimal(1)


def _part_sale(line: dict[str, Any]) -> Decimal | None:
    if "saleTotal" in line:
        return line["saleTotal"]
    if "salePrice" in line:
        return (line["salePrice"] * _quantity(line)).quantize(MONEY.quantum)
    return None


class _Sum:
    """A running sum that remembers whether anything was added (no lines: no computed total)."""

    def __init__(self) -> None:
        self.total = _ZERO
        self.seen = False

    def add(self, value: Decimal | None) -> None:
        if value is not None:
            self.total += value
            self.seen = True


def computed_totals(order: dict[str, Any]) -> dict[str, Decimal]:
    """Header totals as the lines add them up; only totals some line contributes to are answered.

    laborSale: jobs' laborSale plus the price of their packages; partsSale: a job's partsSale, else its
    part lines' saleTotal (or salePrice × quantity); miscSale/lubeSale/subletSale: jobs' miscSale plus the
    mls lines of type MISC, LUBE, SUBLET; soldHours/actualHours: the jobs' hours plus package labour;
    partsCost: part cost × quantity; laborCost: technicians' labour cost.
    """
    sums = {name: _Sum() for name in (
        "laborSale", "partsSale", "miscSale", "lubeSale", "subletSale", "soldHours", "actualHours", "partsCost",
        "laborCost",
    )}  # fmt: skip
    mls_lines = list(order.get("mls", ()))
    for job in order.get("jobs", ()):
        sums["laborSale"].add(job.get("laborSale"))
        for package in job.get("packages", ()):
            sums["laborSale"].add(package.get("price"))
        if "partsSale" in job:
            sums["partsSale"].add(job["partsSale"])
        else:
            for part in job.get("parts", ()):
                sums["partsSale"].add(_part_sale(part))
        for part in job.get("parts", ()):
            if "cost" in part:
                sums["partsCost"].add((part["cost"] * _quantity(part)).quantize(MONEY.quantum))
        sums["miscSale"].add(job.get("miscSale"))
        sums["soldHours"].add(job.get("soldHours"))
        for labour in job.get("labour", ()):
            sums["soldHours"].add(labour.get("soldHours"))
        sums["actualHours"].add(job.get("actualHours"))
        for tech in job.get("techHours", ()):
            sums["laborCost"].add(tech.get("laborCost"))
        mls_lines.extend(job.get("mls", ()))
    for line in mls_lines:
        kind = str(line.get("mlsType", "")).upper()
        target = {"MISC": "miscSale", "M": "miscSale", "LUBE": "lubeSale", "L": "lubeSale", "SUBLET": "subletSale",
                  "S": "subletSale"}.get(kind)  # fmt: skip
        if target:
            sums[target].add(line.get("salePrice"))
    return {name: running.total for name, running in sums.items() if running.seen}


HOURS_TOTALS = ("soldHours", "actualHours")


def total_limit(name: str) -> Decimal:
    """The largest value a header total holds: hours for the hour totals, money for the others."""
    return HOURS.limit if name in HOURS_TOTALS else MONEY.limit


def apply_totals(header: dict[str, Any], computed: dict[str, Decimal]) -> list[str]:
    """Fill missing header totals from the lines; answer the totals given that disagree with them."""
    disagreeing = []
    for name, total in computed.items():
        if name not in header:
            header[name] = total
        elif header[name] != total:
            disagreeing.append(f"order.header.{name} is {header[name]:.2f} but the lines add up to {total:.2f}")
    return disagreeing


# --- customers -----------------------------------------------------------------------------------


def customer_has_name(family_name: str, company_name: str) -> bool:
    """A customer is a person with a family name or a company with a name (DESIGN §4): blanks do not count."""
    return bool(family_name.strip() or company_name.strip())
