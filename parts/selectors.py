"""Reads of the parts app: catalogue search and details, price & availability, parts orders.

Price & availability answers a basket of up to 200 parts in a constant number of queries: the
customer with its discounts (one query), the requested parts with every successor on their
supersession chains, each with this store's stock and the order type's surcharge (one query, a
recursive CTE), and the alternatives of those parts with their stock (one query).
"""

from __future__ import annotations

import functools
import operator
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import F, FilteredRelation, OuterRef, Prefetch, Q, QuerySet, Subquery

from orders.models import Customer
from orma.errors import DomainError
from tenancy.models import Department

from . import rules, sql
from .choices import Availability
from .models import Part, PartsOrder, PartsOrderLine, Stock, Surcharge

# --- catalogue ----------------------------------------------------------------------------------


def part_search(
    *, dealer_id: int, search: str = "", brand_code: str = "", after: str | None = None, limit: int
) -> list[Part]:
    """The dealer's parts whose partId or partCode starts with ``search`` or whose description contains it."""
    parts = Part.objects.filter(dealer_id=dealer_id).select_related("superseded_by")
    if search:
        parts = parts.filter(
            Q(part_id__istartswith=search) | Q(part_code__istartswith=search) | Q(description__icontains=search)
        )
    if brand_code:
        parts = parts.filter(brand_code=brand_code)
    if after is not None:
        parts = parts.filter(part_id__gt=after)
    return list(parts.order_by("part_id")[: limit + 1])


def part_get(*, dealer_id: int, part_id: str) -> Part | None:
    """One part of the dealer with its successor, the parts it supersedes and its alternatives."""
    return (
        Part.objects.filter(dealer_id=dealer_id, part_id=part_id)
        .select_related("superseded_by")
        .prefetch_related(
            Prefetch("supersedes", queryset=Part.objects.order_by("part_id")),
            Prefetch("alternatives", queryset=Part.objects.order_by("part_id")),
        )
        .first()
    )


@dataclass
class Catalogue:
    """The parts a request names plus every successor on their supersession chains, with store stock."""

    parts: dict[int, Part]
    by_part_id: dict[str, Part] = field(default_factory=dict)
    by_code: dict[tuple[str, str], list[Part]] = field(default_factory=lambda: defaultdict(list))

    successor_of: dict[int, int | None] = field(default_factory=dict)
    # Loaded with the parts (PostgreSQL, a basket): each part's alternatives with their stock; None: not loaded.
    alternatives: dict[int, list[Alternative]] | None = None

    def __post_init__(self) -> None:
        for part in self.parts.values():
            self.by_part_id[part.part_id] = part
            self.by_code[(part.brand_code, part.part_code)].append(part)
            self.successor_of[part.pk] = part.superseded_by_id

    def supersession(self, part: Part) -> rules.Supersession:
        """Where the part's supersession chain ends in this catalogue (``rules.follow_supersession``)."""
        return rules.follow_supersession(part.pk, self.successor_of)

    def chain_part_ids(self, supersession: rules.Supersession) -> tuple[str, ...]:
        """The partIds along a followed chain (``?`` for a successor missing from the catalogue)."""
        return tuple(self.parts[pk].part_id if pk in self.parts else "?" for pk in supersession.chain)


def catalogue_load(
    *,
    dealer_id: int,
    store_id: int,
    part_ids: Iterable[str] = (),
    codes: Iterable[tuple[str, str]] = (),
    order_type: str | None = None,
    with_alternatives: bool = False,
) -> Catalogue:
    """The named parts (by partId, or brandCode + partCode) and their successors, with stock: one query.

    ``with_alternatives`` (a basket): on PostgreSQL the same query brings each part's alternatives
    (``Catalogue.alternatives``); elsewhere :func:`alternatives_load` asks for them."""
    part_ids = sorted(set(part_ids))
    codes = sorted(set(codes))
    if not part_ids and not codes:
        return Catalogue({})
    if sql.in_use():  # the same query as text (parts.sql): no ORM compilation per request
        parts = sql.catalogue_parts(
            dealer_id=dealer_id,
            store_id=store_id,
            part_ids=part_ids,
            codes=codes,
            order_type=order_type,
            with_alternatives=with_alternatives,
        )
        catalogue = Catalogue({part.pk: part for part in parts})
        if with_alternatives:
            catalogue.alternatives = {
                part.pk: [
                    Alternative(part_id, brand, code, text, stock_id is not None, (on_hand or 0) - (reserved or 0))
                    for part_id, brand, code, text, stock_id, on_hand, reserved in part.alternative_rows
                ]
                for part in parts
                if part.alternative_rows
            }
        return catalogue
    named = [Q(part_id__in=part_ids)] if part_ids else []
    named += [Q(brand_code=brand_code, part_code=part_code) for brand_code, part_code in codes]
    chains = Part.objects.filter(functools.reduce(operator.or_, named), dealer_id=dealer_id).with_successors()
    parts = (
        chains.filter(dealer_id=dealer_id)
        .defer("created_at", "updated_at")  # never shown; loading them costs a datetime parse per part
        .annotate(
            store_stock=FilteredRelation("stock", condition=Q(stock__department_id=store_id)),
            stock_id=F("store_stock__id"),
            stock_on_hand=F("store_stock__on_hand"),
            stock_reserved=F("store_stock__reserved"),
        )
        .order_by()
    )
    if order_type:
        surcharges = Surcharge.objects.filter(dealer_id=OuterRef("dealer_id"), order_type=order_type)
        parts = parts.annotate(
            surcharge_percent=Subquery(surcharges.values("percent")[:1]),
            surcharge_fixed_net=Subquery(surcharges.values("fixed_net")[:1]),
        )
    return Catalogue({part.pk: part for part in parts})


@dataclass(frozen=True)
class Alternative:
    """A part offered in place of another, with this store's availability of it."""

    part_id: str
    brand_code: str
    part_code: str
    description: str
    stocked: bool
    available: int


def alternatives_load(*, part_pks: Iterable[int], store_id: int) -> dict[int, list[Alternative]]:
    """The alternatives of these parts with their stock in the store: one query."""
    through = Part.alternatives.through
    rows = (
        through.objects.filter(from_part_id__in=list(part_pks))
        .annotate(store_stock=FilteredRelation("to_part__stock", condition=Q(to_part__stock__department_id=store_id)))
        .order_by("from_part_id", "to_part__part_id")
        .values_list(  # type: ignore[misc]
            "from_part_id",
            "to_part__part_id",
            "to_part__brand_code",
            "to_part__part_code",
            "to_part__description",
            "store_stock__id",
            "store_stock__on_hand",
            "store_stock__reserved",
        )
    )
    alternatives: dict[int, list[Alternative]] = defaultdict(list)
    for from_pk, part_id, brand_code, part_code, description, stock_id, on_hand, reserved in rows:
        alternatives[from_pk].append(
            Alternative(
                part_id, brand_code, part_code, description, stock_id is not None, (on_hand or 0) - (reserved or 0)
            )
        )
    return alternatives


# --- customers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PricedCustomer:
    """A customer of the dealer with the discount rules that price its parts."""

    customer: Customer
    discounts: tuple[rules.DiscountRule, ...]


def customers_with_discounts(*, dealer_id: int, customer_uuids: Iterable[uuid.UUID]) -> dict[uuid.UUID, PricedCustomer]:
    """These customers of the dealer (others are absent), each with its discounts: one query (a LEFT JOIN)."""
    rows: Iterable[tuple[Customer, str | None, str | None, Decimal | None]]
    if sql.in_use():  # the same query as text (parts.sql): no ORM compilation per request
        rows = sql.customers_with_discounts(dealer_id=dealer_id, customer_uuids=list(customer_uuids))
    else:
        rows = (
            (row, row.discount_brand, row.discount_group, row.discount_percent)
            for row in Customer.objects.filter(dealer_id=dealer_id, uuid__in=list(customer_uuids))
            .annotate(
                discount_brand=F("parts_discounts__brand_code"),
                discount_group=F("parts_discounts__discount_group"),
                discount_percent=F("parts_discounts__percent"),
            )
            .order_by()
        )
    customers: dict[uuid.UUID, Customer] = {}
    discounts: dict[uuid.UUID, list[rules.DiscountRule]] = defaultdict(list)
    for row, brand, group, percent in rows:
        customers.setdefault(row.uuid, row)
        if percent is not None:
            discounts[row.uuid].append(rules.DiscountRule(brand or "", group or "", percent))
    return {key: PricedCustomer(customer, tuple(discounts[key])) for key, customer in customers.items()}


# --- price & availability -----------------------------------------------------------------------


@dataclass(frozen=True)
class PriceAvailability:
    """The answer for one requested part: what would be supplied, at what price, and how many are there."""

    requested_part_id: str
    quantity: int
    priced_quantity: int  # the requested quantity rounded up to a multiple of the unit of sale
    part: Part
    supersession: rules.Supersession
    successor: Part | None
    chain: tuple[str, ...]
    pricing: rules.LinePricing
    stocked: bool
    available: int
    availability: Availability
    alternatives: tuple[Alternative, ...]
    mandatory_vehicle_references: tuple[str, ...]


@dataclass(frozen=True)
class UnknownPart:
    """A basket's part the dealer's catalogue does not hold: answered NOT_FOUND on its line, not as an error."""

    requested_part_id: str
    quantity: int
    field: str  # the item's field in the request


@dataclass(frozen=True)
class BasketItem:
    """One part of a price & availability request."""

    part_id: str
    quantity: int


def stock_id_of(part: Part) -> int | None:
    """The id of the part's stock row in the store (an annotation of :func:`catalogue_load`), or None."""
    return getattr(part, "stock_id", None)


def stock_of(part: Part) -> tuple[bool, int]:
    """(stocked in the store, available now) from the annotations of :func:`catalogue_load`."""
    if stock_id_of(part) is None:
        return False, 0
    return True, getattr(part, "stock_on_hand", 0) - getattr(part, "stock_reserved", 0)


def price_part(
    *,
    part: Part,
    quantity: int,
    discounts: Iterable[rules.DiscountRule],
    with_surcharge: bool = True,
    discount: Decimal | None = None,
) -> rules.LinePricing:
    """The customer's pricing of ``quantity`` of ``part`` (surcharge from the catalogue's annotations);
    ``discount``: what ``rules.discount_percent`` answers for this part and ``discounts``, when the caller has it."""
    if discount is None:
        discount = rules.discount_percent(
            brand_code=part.brand_code, discount_group=part.discount_group, rules=discounts
        )
    return rules.price_line(
        list_net=part.list_net_price,
        tax_rate=part.tax_rate,
        currency_code=part.currency_code,
        quantity=quantity,
        discount=discount,
        surcharge_percent=getattr(part, "surcharge_percent", None) if with_surcharge else None,
        surcharge_fixed_net=getattr(part, "surcharge_fixed_net", None) if with_surcharge else None,
    )


@dataclass(frozen=True)
class Basket:
    """A price & availability request that passed its rules, with what they loaded (one part or up to 200)."""

    items: tuple[BasketItem, ...]
    priced_customer: PricedCustomer | None
    catalogue: Catalogue
    part_fields: tuple[str, ...] = ()


def basket_check(
    *,
    store: Department,
    items: Sequence[BasketItem],
    customer_uuid: uuid.UUID | None,
    order_type: str | None,
    part_fields: Sequence[str],
    unknown_parts_refused: bool = True,
) -> Basket:
    """Price & availability's rules: the customer, when given, is the dealer's, and every part is (DomainError).

    ``part_fields`` names each item's field in the request, for the problems. ``unknown_parts_refused``
    False (a basket): a part the catalogue does not hold is no error, its line answers NOT_FOUND. Two
    queries: the customer with its discounts, the parts with their chains, stock and the order type's surcharge.
    """
    problems = []
    priced_customer = None
    if customer_uuid is not None:
        customers = customers_with_discounts(dealer_id=store.dealer_id, customer_uuids=[customer_uuid])
        if problem := rules.customer_problem(customer_uuid, customers):
            if not unknown_parts_refused:  # nothing else of a basket can be wrong: the catalogue is not asked
                raise DomainError([problem])
            problems.append(problem)
        else:
            priced_customer = customers[customer_uuid]
    catalogue = catalogue_load(
        dealer_id=store.dealer_id,
        store_id=store.id,
        part_ids=[i.part_id for i in items],
        order_type=order_type,
        with_alternatives=True,
    )
    if unknown_parts_refused:
        problems += [
            rules.unknown_part(item.part_id, part_field)
            for item, part_field in zip(items, part_fields, strict=True)
            if item.part_id not in catalogue.by_part_id
        ]
    if problems:
        raise DomainError(problems)
    return Basket(tuple(items), priced_customer, catalogue, tuple(part_fields))


def price_availability(*, store_id: int, basket: Basket) -> list[PriceAvailability | UnknownPart]:
    """Price & availability of each item of a checked basket, in its order: one query (the alternatives
    with their stock). Each part is priced and checked for the quantity an order of it would need (the
    requested one rounded up to a multiple of its unit of sale); a part the catalogue lacks is an
    :class:`UnknownPart`."""
    catalogue = basket.catalogue
    resolved: list[tuple[BasketItem, Part, rules.Supersession, Part] | UnknownPart] = []
    fields = basket.part_fields or tuple(f"parts[{index}].partId" for index in range(len(basket.items)))
    for item, part_field in zip(basket.items, fields, strict=True):
        requested = catalogue.by_part_id.get(item.part_id)
        if requested is None:
            resolved.append(UnknownPart(item.part_id, item.quantity, part_field))
            continue
        supersession = catalogue.supersession(requested)
        resolved.append((item, requested, supersession, catalogue.parts[supersession.final]))
    found = [entry for entry in resolved if not isinstance(entry, UnknownPart)]
    alternatives = catalogue.alternatives
    if alternatives is None:
        alternatives = (
            alternatives_load(
                part_pks={pk for _, requested, _, final in found for pk in (requested.pk, final.pk)}, store_id=store_id
            )
            if found
            else {}
        )
    discounts = basket.priced_customer.discounts if basket.priced_customer else ()
    # Per basket, not per part: a customer's discount depends only on the part's brand and discount group,
    # and a basket's parts share a few of those (rules.discount_percent walked every rule for each part).
    discount_of: dict[tuple[str, str], Decimal] = {}
    no_alternatives: list[Alternative] = []
    answers: list[PriceAvailability | UnknownPart] = []
    for entry in resolved:
        if isinstance(entry, UnknownPart):
            answers.append(entry)
            continue
        item, requested, supersession, part = entry
        stocked, available = stock_of(part)
        quantity = rules.priced_quantity(item.quantity, part.unit_of_sale)
        own, others = alternatives.get(part.pk, no_alternatives), alternatives.get(requested.pk, no_alternatives)
        if own or others:
            offered = {a.part_id: a for a in (own + others if others is not own else own)}
            offered.pop(part.part_id, None)
            offered_parts = tuple(offered.values())
        else:
            offered_parts = ()
        group = (part.brand_code, part.discount_group)
        discount = discount_of.get(group)
        if discount is None:
            discount = discount_of[group] = rules.discount_percent(
                brand_code=part.brand_code, discount_group=part.discount_group, rules=discounts
            )
        answers.append(
            rules.built(
                PriceAvailability,
                {
                    "requested_part_id": item.part_id,
                    "quantity": item.quantity,
                    "priced_quantity": quantity,
                    "part": part,
                    "supersession": supersession,
                    "successor": part if supersession.superseded and not supersession.cycle else None,
                    "chain": catalogue.chain_part_ids(supersession) if supersession.superseded else (part.part_id,),
                    "pricing": price_part(part=part, quantity=quantity, discounts=discounts, discount=discount),
                    "stocked": stocked,
                    "available": max(available, 0),
                    "availability": rules.availability(stocked=stocked, available=available, quantity=quantity),
                    "alternatives": offered_parts,
                    "mandatory_vehicle_references": tuple(part.mandatory_vehicle_references or ()),
                },
            )
        )
    return answers


# --- parts orders -------------------------------------------------------------------------------

_LINES = Prefetch("lines", queryset=PartsOrderLine.objects.order_by("position"))


_MAX_NUMBER = 2**63 - 1  # the column's (bigint) largest value


def parts_order_number(text: str) -> int | None:
    """The parts order number a path spells (ASCII digits, within the column's range), or None."""
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or not 0 < int(text) <= _MAX_NUMBER:
        return None
    return int(text)


def parts_order_get(
    *, department_id: int, number: int | None = None, order_uuid: uuid.UUID | None = None
) -> PartsOrder | None:
    """One parts order of the store, by its number (the API's partsOrderId) or its UUID, with its customer,
    company and lines: two queries."""
    key = {"number": number} if number is not None else {"uuid": order_uuid}
    return (
        PartsOrder.objects.filter(department_id=department_id, **key)
        .select_related("customer", "company")
        .prefetch_related(_LINES)
        .first()
    )


def parts_orders(*, department_id: int) -> QuerySet[PartsOrder]:
    """The store's parts orders, unfiltered: what the list's FilterSet (``parts.filters``) narrows."""
    return PartsOrder.objects.filter(department_id=department_id)


def parts_order_list(
    *, orders: QuerySet[PartsOrder], after: tuple[datetime, int] | None = None, limit: int
) -> list[PartsOrder]:
    """One page of (filtered) parts orders, newest first, keyset-paginated on (created_at, id)."""
    if after is not None:
        created_at, order_id = after
        orders = orders.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=order_id))
    page = orders.select_related("customer", "company").prefetch_related(_LINES).order_by("-created_at", "-id")
    return list(page[: limit + 1])


def stock_for_update(*, stock_ids: Iterable[int | None]) -> dict[int, Stock]:
    """Lock these stock rows (in id order, so concurrent orders never deadlock) and read them fresh."""
    ids = sorted({stock_id for stock_id in stock_ids if stock_id is not None})
    if not ids:
        return {}
    return {stock.id: stock for stock in Stock.objects.select_for_update().filter(id__in=ids).order_by("id")}
