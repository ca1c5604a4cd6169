"""Pure rules of the parts app: order status derivation, price arithmetic, availability, supersession.

No database access here. Money is ``Decimal`` throughout and rounded half-up to the currency's minor
unit: a price's net value is rounded first, its tax is rounded from the rounded net, and gross is
their sum, so ``net + tax == gross`` always holds exactly.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .choices import Availability, PartsOrderLineStatus, PartsOrderStatus

L = PartsOrderLineStatus

# --- order status -------------------------------------------------------------------------------

# DESIGN §5, first match wins. Kept as data so the admin, the docs and the tests read the same rule.
ORDER_STATUS_RULE: tuple[tuple[PartsOrderStatus, str, frozenset[str]], ...] = (
    (PartsOrderStatus.CLOSED, "every", frozenset({L.INVOICED, L.CANCELLED})),
    (PartsOrderStatus.SHIPPED, "any", frozenset({L.INTRANSIT, L.DELIVERED, L.INVOICED})),
    (PartsOrderStatus.INPROGRESS, "any", frozenset({L.ISSUED, L.PACKED, L.BACKORDER})),
    (PartsOrderStatus.CONFIRMED, "any", frozenset({L.RESERVED})),
)


def derive_order_status(line_statuses: Iterable[str]) -> PartsOrderStatus:
    """The order status from its line statuses (DESIGN §5, first match wins; no lines: CREATED)."""
    statuses = set(line_statuses)
    if not statuses:
        return PartsOrderStatus.CREATED
    for order_status, quantifier, line_set in ORDER_STATUS_RULE:
        if (statuses <= line_set) if quantifier == "every" else bool(statuses & line_set):
            return order_status
    return PartsOrderStatus.CREATED


# --- money --------------------------------------------------------------------------------------

# ISO 4217 minor units that are not 2; every other currency code rounds to cents.
_MINOR_UNITS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0, "RWF": 0,
    "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip
HUNDRED = Decimal(100)
ZERO = Decimal(0)


def minor_unit(currency_code: str) -> int:
    return _MINOR_UNITS.get(currency_code.upper(), 2)


@functools.cache
def _quantum(currency_code: str) -> Decimal:
    return Decimal(1).scaleb(-minor_unit(currency_code))


def round_money(amount: Decimal, currency_code: str) -> Decimal:
    """``amount`` rounded half-up to the currency's minor unit (EUR 2 places, JPY 0, KWD 3)."""
    return amount.quantize(_quantum(currency_code), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Price:
    """A net amount with its tax: seed 002's ``{netValue, grossValue, taxValue, taxRate, currencyCode}``."""

    net: Decimal
    tax: Decimal
    gross: Decimal
    tax_rate: Decimal
    currency_code: str

    @classmethod
    def of(cls, net: Decimal, tax_rate: Decimal, currency_code: str) -> Price:
        net = round_money(net, currency_code)
        tax = round_money(net * tax_rate / HUNDRED, currency_code)
        return cls(net, tax, net + tax, tax_rate, currency_code)

    def times(self, quantity: int) -> Price:
        """This unit price for ``quantity`` units (tax recomputed on the extended net)."""
        return Price.of(self.net * quantity, self.tax_rate, self.currency_code)

    def plus(self, other: Price | None) -> Price:
        if other is None:
            return self
        return Price.of(self.net + other.net, self.tax_rate, self.currency_code)

    def as_json(self) -> dict[str, Any]:
        # JSON numbers as seed 002 shows them; a float prints the exact decimal for these magnitudes.
        return {
            "netValue": _number(self.net),
            "grossValue": _number(self.gross),
            "taxValue": _number(self.tax),
            "taxRate": _number(self.tax_rate),
            "currencyCode": self.currency_code,
        }


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def customer_unit_net(list_net: Decimal, discount_percent: Decimal, currency_code: str) -> Decimal:
    """The customer's net unit price: the list price less the discount, rounded to the minor unit."""
    return round_money(list_net * (HUNDRED - discount_percent) / HUNDRED, currency_code)


@dataclass(frozen=True)
class DiscountRule:
    """A customer's discount on one brand or one discount group."""

    brand_code: str
    discount_group: str
    percent: Decimal


def discount_percent(*, brand_code: str, discount_group: str, rules: Iterable[DiscountRule]) -> Decimal:
    """The customer's discount on a part: its discount group's rule wins over its brand's; none is 0."""
    by_brand = ZERO
    for rule in rules:
        if rule.discount_group and discount_group and rule.discount_group == discount_group:
            return rule.percent
        if rule.brand_code and not rule.discount_group and rule.brand_code == brand_code:
            by_brand = rule.percent
    return by_brand


def surcharge_net(
    *, line_net: Decimal, percent: Decimal | None, fixed_net: Decimal | None, currency_code: str
) -> Decimal | None:
    """The surcharge of an order type on a line (a percentage of the line's net plus a fixed amount), or None."""
    if not percent and not fixed_net:
        return None
    amount = (fixed_net or ZERO) + line_net * (percent or ZERO) / HUNDRED
    return round_money(amount, currency_code)


@dataclass(frozen=True)
class LinePricing:
    """What a quantity of a part costs this customer: unit prices, surcharge and the line total."""

    list_unit: Price
    customer_unit: Price
    discount_percent: Decimal
    surcharge: Price | None
    total: Price


def price_line(
    *,
    list_net: Decimal,
    tax_rate: Decimal,
    currency_code: str,
    quantity: int,
    discount: Decimal = ZERO,
    surcharge_percent: Decimal | None = None,
    surcharge_fixed_net: Decimal | None = None,
) -> LinePricing:
    """Price ``quantity`` units of a part for a customer, with the order type's surcharge when one applies."""
    list_unit = Price.of(list_net, tax_rate, currency_code)
    customer_unit = Price.of(customer_unit_net(list_net, discount, currency_code), tax_rate, currency_code)
    extended = customer_unit.times(quantity)
    extra = surcharge_net(
        line_net=extended.net, percent=surcharge_percent, fixed_net=surcharge_fixed_net, currency_code=currency_code
    )
    surcharge = Price.of(extra, tax_rate, currency_code) if extra is not None else None
    return LinePricing(list_unit, customer_unit, discount, surcharge, extended.plus(surcharge))


# --- availability and reservation ---------------------------------------------------------------


def availability(*, stocked: bool, available: int, quantity: int) -> Availability:
    """IN_STOCK when the store can supply the whole quantity now, PARTIAL for some, else BACKORDER/NOT_STOCKED."""
    if not stocked:
        return Availability.NOT_STOCKED
    if available >= quantity:
        return Availability.IN_STOCK
    if available > 0:
        return Availability.PARTIAL
    return Availability.BACKORDER


def plan_reservations(lines: Sequence[tuple[int | None, int]], available: Mapping[int, int]) -> list[bool]:
    """For (stock row, quantity) lines in order: which are reserved, all or nothing per line.

    A line is reserved only when what is still available on its stock row covers its whole quantity;
    otherwise it is back-ordered and reserves nothing. Never more is reserved than is available.
    """
    left = dict(available)
    plan = []
    for stock_id, quantity in lines:
        if stock_id is not None and left.get(stock_id, 0) >= quantity:
            left[stock_id] -= quantity
            plan.append(True)
        else:
            plan.append(False)
    return plan


def quantity_problem(quantity: int, unit_of_sale: int) -> str | None:
    """Why a quantity cannot be ordered (not a positive multiple of the unit of sale), or None."""
    if quantity <= 0:
        return f"quantity must be positive, not {quantity}"
    if quantity % unit_of_sale:
        return f"quantity {quantity} is not a multiple of the unit of sale {unit_of_sale}"
    return None


def missing_vehicle_references(required: Iterable[str], given: Iterable[Mapping[str, Any]]) -> list[str]:
    """The mandatory vehicle reference types a line lacks (a given reference needs a non-blank value)."""
    present = {str(ref.get("type", "")).upper() for ref in given if str(ref.get("value", "")).strip()}
    return [ref_type for ref_type in required if ref_type.upper() not in present]


# --- supersession -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Supersession:
    """Where following ``superseded_by`` from a part ends: its final successor, or a cycle or a gap."""

    final: Any
    chain: tuple[Any, ...]
    cycle: bool = False
    broken: bool = False

    @property
    def superseded(self) -> bool:
        return len(self.chain) > 1


def follow_supersession(start: Any, successor_of: Mapping[Any, Any]) -> Supersession:
    """Follow successors from ``start`` to the final one; a cycle or a successor missing from the map is reported.

    ``successor_of`` maps each known part to its successor (None for a current part). On a cycle or a gap
    the chain walked so far is returned and ``final`` is ``start`` itself: there is no part to supply.
    """
    chain = [start]
    seen = {start}
    current = start
    while True:
        if current not in successor_of:
            return Supersession(start, tuple(chain), broken=True)
        successor = successor_of[current]
        if successor is None:
            return Supersession(current, tuple(chain))
        chain.append(successor)
        if successor in seen:
            return Supersession(start, tuple(chain), cycle=True)
        seen.add(successor)
        current = successor
