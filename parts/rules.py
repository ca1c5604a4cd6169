"""Pure rules of the parts app: limits, order status derivation, price arithmetic, availability,
supersession, and seed 002's rules on a parts order request.

No database access here: the callers load what a rule reads (``parts.selectors``) and a rule answers,
or raises :class:`orma.errors.DomainError` with every problem, each named by its field path. The API
serializers, the services, the importer and the admin call the same functions. Money is ``Decimal``
throughout and rounded half-up to the currency's minor unit: a price's net value is rounded first, its
tax is rounded from the rounded net, and gross is their sum, so ``net + tax == gross`` always holds exactly.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import models

from orma.errors import DomainError, ErrorCode, Problem

from .choices import Availability, PartsOrderLineStatus, PartsOrderStatus

if TYPE_CHECKING:
    from orders.models import Customer

    from .models import Part
    from .selectors import Catalogue, PricedCustomer

L = PartsOrderLineStatus
_Frozen = TypeVar("_Frozen")


def built(cls: type[_Frozen], values: dict[str, Any]) -> _Frozen:
    """An instance of the frozen dataclass ``cls`` holding ``values`` (all of its fields), made without its
    ``__init__``, which sets each field through ``object.__setattr__``: a 200-part basket builds a thousand
    such answers, and a 13-field one cost twice a plain dataclass (as ``Price.of``, for the same reason)."""
    answer = object.__new__(cls)
    answer.__dict__.update(values)
    return answer


# --- limits -------------------------------------------------------------------------------------

MAX_LINES = 200  # lines of one parts order
MAX_BASKET = 200  # parts of one price & availability request
MAX_QUANTITY = 999_999  # of one line or one basket item
PART_ID_MAX_LENGTH = 50  # seed 002's partId (Part.part_id)
BRAND_CODE_MAX_LENGTH = 20  # Part.brand_code


# seed 002 (its change history: "brandCode data changed to a short code for the brand"): the short code of
# each brand of seed 000, which OrMa stores and answers; the long names are accepted wherever a brand code
# comes in (the API, the import, the admin).
SHORT_BRAND_CODES = {"VW": "V", "VWN": "N", "AUDI": "A", "SKODA": "S", "SEAT": "E", "CUPRA": "C"}


def brand_code(value: str) -> str:
    """seed 002's short brand code for a code or a long brand name, in any case (``skoda`` -> ``S``); a code
    OrMa does not know (another brand's) is kept, upper-cased."""
    code = value.strip().upper()
    return SHORT_BRAND_CODES.get(code, code)


def not_one_of(value: str, choices: type[models.TextChoices]) -> str:
    """The message for a value that is not one of an enumeration's (the API's enum fields say the same)."""
    return f"The value '{value}' is not valid; use one of {', '.join(choices.values)}."


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
    """The currency's decimal places (ISO 4217): 2 unless listed above."""
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
        # round_money inlined and the frozen dataclass's __init__ (five object.__setattr__ calls) bypassed:
        # a basket of 200 parts builds about a thousand prices, and this was a fifth of its per-part time.
        quantum = _quantum(currency_code)
        net = net.quantize(quantum, rounding=ROUND_HALF_UP)
        tax = (net * tax_rate / HUNDRED).quantize(quantum, rounding=ROUND_HALF_UP)
        price = object.__new__(cls)
        price.__dict__.update(net=net, tax=tax, gross=net + tax, tax_rate=tax_rate, currency_code=currency_code)
        return price

    def times(self, quantity: int) -> Price:
        """This unit price for ``quantity`` units (tax recomputed on the extended net)."""
        return Price.of(self.net * quantity, self.tax_rate, self.currency_code)

    def plus(self, other: Price | None) -> Price:
        """This price and ``other`` (none: this price alone), tax recomputed on the summed net."""
        if other is None:
            return self
        return Price.of(self.net + other.net, self.tax_rate, self.currency_code)


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
    # No discount leaves the unit price as it is, one unit's extension is the unit price: the same values
    # (and exponents) the arithmetic would give, without building them again.
    customer_unit = list_unit
    if discount:
        customer_unit = Price.of(customer_unit_net(list_net, discount, currency_code), tax_rate, currency_code)
    extended = customer_unit.times(quantity) if quantity != 1 else customer_unit
    extra = surcharge_net(
        line_net=extended.net, percent=surcharge_percent, fixed_net=surcharge_fixed_net, currency_code=currency_code
    )
    surcharge = Price.of(extra, tax_rate, currency_code) if extra is not None else None
    return built(
        LinePricing,
        {
            "list_unit": list_unit,
            "customer_unit": customer_unit,
            "discount_percent": discount,
            "surcharge": surcharge,
            "total": extended.plus(surcharge),
        },
    )


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


def plan_reservations(lines: Sequence[tuple[int | None, int, int]], available: Mapping[int, int]) -> list[int]:
    """For (stock row, quantity, unit of sale) lines in order: how much of each is reserved.

    A line takes what is still available on its stock row, in whole units of sale, up to its quantity;
    the rest of it is back-ordered (the caller splits such a line in two, as DMSs do). Never more is
    reserved than is available.
    """
    left = dict(available)
    plan = []
    for stock_id, quantity, unit_of_sale in lines:
        on_shelf = left.get(stock_id, 0) if stock_id is not None else 0
        reserved = min(quantity, max(on_shelf, 0) // unit_of_sale * unit_of_sale)
        if stock_id is not None:
            left[stock_id] = on_shelf - reserved
        plan.append(reserved)
    return plan


def priced_quantity(quantity: int, unit_of_sale: int) -> int:
    """The quantity an order of ``quantity`` would have to be: the next multiple of the unit of sale."""
    return max(unit_of_sale, -(-quantity // unit_of_sale) * unit_of_sale)


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

    @property
    def returns_to_start(self) -> bool:
        """The cycle comes back to the part the walk started from: that part is on it, not only leading into it."""
        return self.cycle and self.chain[-1] == self.chain[0]


def follow_supersession(start: Any, successor_of: Mapping[Any, Any]) -> Supersession:
    """Follow successors from ``start`` to the final one; a cycle or a successor missing from the map is reported.

    ``successor_of`` maps each known part to its successor (None for a current part). On a cycle or a gap
    the chain walked so far is returned and ``final`` is ``start`` itself: there is no part to supply.
    The one supersession-cycle check: the order path, price & availability, ``Part.clean`` (the admin)
    and the catalogue import all follow chains through it.
    """
    if successor_of.get(start, start) is None:  # a current part (most of a basket): its chain is itself
        return built(Supersession, {"final": start, "chain": (start,), "cycle": False, "broken": False})
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


# --- who and what a request names ---------------------------------------------------------------


def customer_problem(
    customer_uuid: uuid.UUID, customers: Mapping[uuid.UUID, Any], *, field: str = "customerId"
) -> Problem | None:
    """UNKNOWN_CUSTOMER unless ``customer_uuid`` is among ``customers``, the dealer's customers the caller loaded."""
    if customer_uuid in customers:
        return None
    return Problem(
        ErrorCode.UNKNOWN_CUSTOMER, f"{field} {customer_uuid} is not a customer of this dealer", field, customer_uuid
    )


def unknown_part(part_id: str, field: str) -> Problem:
    """UNKNOWN_PART: ``part_id`` names no part of the dealer's catalogue."""
    return Problem(ErrorCode.UNKNOWN_PART, f"part {part_id} is not in this dealer's catalogue", field, part_id)


# --- placing a parts order ----------------------------------------------------------------------


@dataclass(frozen=True)
class RequestedLine:
    """One line of a parts order request: the part (by partId, or brandCode + partCode) and how many."""

    quantity: int
    part_id: str | None = None
    brand_code: str | None = None
    part_code: str | None = None
    vehicle_references: tuple[Mapping[str, str], ...] = ()
    index: int | None = None  # its index in the request's ``parts`` (problems name it); None: its position


@dataclass(frozen=True)
class PartsOrderRequest:
    """A syntactically valid parts order request (seed 002's body), before the dealer's rules are checked."""

    customer_uuid: uuid.UUID | None  # None only in a partial check (see parts_order_checked)
    order_type: str | None
    lines: Sequence[RequestedLine]
    company_uuid: uuid.UUID | None = None
    order_reference: str = ""
    contact: Mapping[str, str] = field(default_factory=dict)
    delivery_address: Mapping[str, str] | None = None


@dataclass(frozen=True)
class CheckedLine:
    """A requested line that passed the rules: the part to supply and, when it is superseded, the part asked for."""

    requested: RequestedLine
    part: Part
    superseded: Part | None


@dataclass(frozen=True)
class CheckedPartsOrder:
    """A parts order request that passed the dealer's rules, with what they loaded (``parts_order_place`` takes it)."""

    request: PartsOrderRequest
    customer: PricedCustomer
    company: Customer | None
    lines: tuple[CheckedLine, ...]


def _resolve_part(catalogue: Catalogue, line: RequestedLine, prefix: str) -> Part | Problem:
    """The part a line names, or the problem naming it."""
    if line.part_id:
        path = f"{prefix}.part.partId"
        part = catalogue.by_part_id.get(line.part_id)
        if part is None:
            return unknown_part(line.part_id, path)
        for name, given, actual in (
            ("brandCode", brand_code(line.brand_code or "") or None, part.brand_code),
            ("partCode", line.part_code, part.part_code),
        ):
            if given not in (None, "") and given != actual:
                reason = f"part {line.part_id} has {name} {actual}, not {given}"
                return Problem(ErrorCode.UNKNOWN_PART, reason, path, line.part_id)
        return part
    matches = catalogue.by_code.get((brand_code(line.brand_code or ""), line.part_code or ""), [])
    if len(matches) == 1:
        return matches[0]
    if matches:
        reason = f"brandCode {line.brand_code} and partCode {line.part_code} name several parts; give partId"
    else:
        reason = f"no part with brandCode {line.brand_code} and partCode {line.part_code} in this dealer's catalogue"
    return Problem(ErrorCode.UNKNOWN_PART, reason, f"{prefix}.part.partCode", line.part_code)


def _check_line(catalogue: Catalogue, line: RequestedLine, prefix: str) -> tuple[CheckedLine | None, list[Problem]]:
    """One line against the catalogue: the part resolves (through its supersession), the quantity, the references."""
    requested = _resolve_part(catalogue, line, prefix)
    if isinstance(requested, Problem):
        return None, [requested]
    supersession = catalogue.supersession(requested)
    if supersession.cycle or supersession.broken:
        chain = " → ".join(catalogue.chain_part_ids(supersession))
        what = "loops" if supersession.cycle else "names a successor that is not in the catalogue"
        reason = f"the supersession of part {requested.part_id} {what} ({chain}); ask the dealer"
        return None, [Problem(ErrorCode.UNKNOWN_PART, reason, f"{prefix}.part.partId", requested.part_id)]
    part = catalogue.parts[supersession.final]
    problems = []
    issue = quantity_problem(line.quantity, part.unit_of_sale)
    if issue:
        problems.append(Problem(ErrorCode.FIELD_INVALID, issue, f"{prefix}.quantity", line.quantity))
    for ref_type in missing_vehicle_references(part.mandatory_vehicle_references or (), line.vehicle_references):
        problems.append(
            Problem(
                ErrorCode.FIELD_REQUIRED,
                f"a {ref_type} vehicle reference is mandatory for part {part.part_id}",
                f"{prefix}.mandatoryVehicleReferences",
                ref_type,
            )
        )
    return CheckedLine(line, part, requested if part.pk != requested.pk else None), problems


def parts_order_checked(
    *,
    request: PartsOrderRequest,
    reference_required: bool,
    customers: Mapping[uuid.UUID, PricedCustomer],
    catalogue: Catalogue,
    partial: bool = False,
) -> CheckedPartsOrder | None:
    """Seed 002's rules on a parts order, against the dealer's customers and catalogue loaded by the caller.

    The customer (and the company, when given) must be the dealer's; ``orderReference`` is required when
    the dealer says so; without ``alternateDeliveryAddress`` the customer needs an invoice address; every
    part must resolve, through its supersession, to one the store can supply, in a multiple of its unit of
    sale and with the vehicle references it declares. Every problem at once, in that order (DomainError).

    ``partial``: the caller found problems in the request's shape and reports them with these; the rules
    check what did parse (the customer may be missing, lines may be left out), and answer None when they
    find nothing: such a request is never placed.
    """
    problems: list[Problem] = []
    priced = customers.get(request.customer_uuid) if request.customer_uuid else None
    company = None
    if request.customer_uuid is not None and (problem := customer_problem(request.customer_uuid, customers)):
        problems.append(problem)
    if request.company_uuid is not None:
        if problem := customer_problem(request.company_uuid, customers, field="companyId"):
            problems.append(problem)
        else:
            company = customers[request.company_uuid].customer
    if reference_required and not request.order_reference.strip():
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
    lines = []
    for position, line in enumerate(request.lines):
        index = position if line.index is None else line.index
        checked, line_problems = _check_line(catalogue, line, f"parts[{index}]")
        problems.extend(line_problems)
        if checked is not None:
            lines.append(checked)
    if problems:
        raise DomainError(problems)
    if partial or priced is None or request.order_type is None or not lines:
        if not partial:
            raise DomainError.of(ErrorCode.FIELD_REQUIRED, "customerId, orderType and parts are required")
        return None
    return CheckedPartsOrder(request, priced, company, tuple(lines))
