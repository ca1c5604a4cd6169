"""The JSON bodies of the parts family, built from rows and the selectors' answers (seed 002 and 003).

Built as plain dicts rather than rendered by serializers: cheaper, and money stays a JSON number, as
seed 002 shows it. The response serializers in :mod:`parts.api.serializers` document these shapes.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from orders.api.representations import dms_state

from .. import rules, selectors
from ..choices import Availability, WeightUnit
from ..models import Part, PartsOrder, PartsOrderLine


def number(value: Decimal) -> int | float:
    """A decimal as seed 002's JSON number: whole values as integers; a float prints the exact decimal here."""
    return int(value) if value == value.to_integral_value() else float(value)


def price_json(price: rules.Price, tax_rate: int | float | None = None) -> dict[str, Any]:
    """Seed 002's ``{netValue, grossValue, taxValue, taxRate, currencyCode}``; ``tax_rate``: the price's
    tax rate already as a JSON number (the prices of one line share it: converted once, not four times)."""
    return {
        "netValue": number(price.net),
        "grossValue": number(price.gross),
        "taxValue": number(price.tax),
        "taxRate": number(price.tax_rate) if tax_rate is None else tax_rate,
        "currencyCode": price.currency_code,
    }


def _optional_price_json(price: rules.Price | None) -> dict[str, Any] | None:
    return price_json(price) if price is not None else None


def _list_price_json(part: Part) -> dict[str, Any]:
    return price_json(rules.Price.of(part.list_net_price, part.tax_rate, part.currency_code))


def _unit_of_measure(unit: str, value: Decimal) -> dict[str, Any]:
    return {"unit": unit, "value": number(value)}


def _timestamp(moment: dt.datetime) -> str:
    """Seed 002's ``2019-07-21T17:32:28.000Z``: UTC with milliseconds."""
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def page_json(results: list[dict[str, Any]], next_url: str | None) -> dict[str, Any]:
    """One page of a list: its results and the URL of the next page (null on the last)."""
    return {"results": results, "next": next_url}


# --- catalogue ----------------------------------------------------------------------------------


def part_ref(part: Any) -> dict[str, Any]:
    """A part named: partId, brandCode, partCode, description (a Part or an alternative's answer)."""
    return {
        "partId": part.part_id,
        "brandCode": part.brand_code,
        "partCode": part.part_code,
        "description": part.description,
    }


def part_summary(part: Part) -> dict[str, Any]:
    """A search result: the part named, its unit of sale, list price and direct successor."""
    return {
        **part_ref(part),
        "unitOfSale": part.unit_of_sale,
        "listPrice": _list_price_json(part),
        "supersededBy": part.superseded_by.part_id if part.superseded_by else None,  # select_related
    }


def part_detail(part: Part) -> dict[str, Any]:
    """A part's details, with its supersession both ways and its alternatives."""
    return {
        **part_ref(part),
        "weight": {"value": number(part.weight_kg), "unit": WeightUnit.KG.value}
        if part.weight_kg is not None
        else None,
        "unitOfMeasure": _unit_of_measure(part.unit_of_measure, part.unit_of_measure_value),
        "unitOfSale": part.unit_of_sale,
        "listPrice": _list_price_json(part),
        "discountGroup": part.discount_group or None,
        "supersededBy": part_ref(part.superseded_by) if part.superseded_by else None,  # select_related
        "supersedes": [part_ref(p) for p in part.supersedes.all()],
        "alternatives": [part_ref(p) for p in part.alternatives.all()],
        "mandatoryVehicleReferences": list(part.mandatory_vehicle_references or []),
    }


# --- price & availability -----------------------------------------------------------------------


def price_availability_json(answer: selectors.PriceAvailability) -> dict[str, Any]:
    """Price & availability of one requested part (seed 003)."""
    supersession = answer.supersession
    part = answer.part
    pricing = answer.pricing
    # One tax rate per line (rules.price_line prices all four with the part's); a price that is the same
    # object as another (no discount, one unit, no surcharge) is converted once.
    rate = number(pricing.list_unit.tax_rate)
    list_price = price_json(pricing.list_unit, rate)
    customer_price = (
        list_price if pricing.customer_unit is pricing.list_unit else price_json(pricing.customer_unit, rate)
    )
    if pricing.total is pricing.customer_unit:
        total_price = customer_price
    elif pricing.total is pricing.list_unit:
        total_price = list_price
    else:
        total_price = price_json(pricing.total, rate)
    return {
        "partId": answer.requested_part_id,
        "quantity": answer.quantity,
        "pricedQuantity": answer.priced_quantity,
        "part": part_ref(part),
        "supersession": {
            "supersededBy": answer.successor.part_id if answer.successor else None,
            "chain": list(answer.chain),
            "cycle": supersession.cycle,
        }
        if supersession.superseded or supersession.broken
        else None,
        "unitOfMeasure": _unit_of_measure(part.unit_of_measure, part.unit_of_measure_value),
        "unitOfSale": part.unit_of_sale,
        "listPrice": list_price,
        "customerPrice": customer_price,
        "discountPercent": number(pricing.discount_percent),
        "surcharge": price_json(pricing.surcharge, rate) if pricing.surcharge is not None else None,
        "totalPrice": total_price,
        "availableQuantity": answer.available,
        "availability": answer.availability,
        "alternatives": [
            {
                **part_ref(alternative),
                "availableQuantity": max(alternative.available, 0),
                "availability": rules.availability(
                    stocked=alternative.stocked, available=alternative.available, quantity=answer.priced_quantity
                ),
            }
            for alternative in answer.alternatives
        ],
        "mandatoryVehicleReferences": list(answer.mandatory_vehicle_references),
    }


def unknown_part_json(unknown: selectors.UnknownPart) -> dict[str, Any]:
    """A basket's line for a part the catalogue does not hold: NOT_FOUND, saying so."""
    return {
        "partId": unknown.requested_part_id,
        "quantity": unknown.quantity,
        "pricedQuantity": None,
        "part": None,
        "supersession": None,
        "unitOfMeasure": None,
        "unitOfSale": None,
        "listPrice": None,
        "customerPrice": None,
        "discountPercent": None,
        "surcharge": None,
        "totalPrice": None,
        "availableQuantity": 0,
        "availability": Availability.NOT_FOUND,
        "alternatives": [],
        "mandatoryVehicleReferences": [],
        "issue": f"{unknown.field}: part {unknown.requested_part_id} is not in this dealer's catalogue",
    }


def basket_json(
    *,
    customer_uuid: uuid.UUID | None,
    order_type: str | None,
    answers: Iterable[selectors.PriceAvailability | selectors.UnknownPart],
) -> dict[str, Any]:
    """Price & availability of a basket: for whom, for which order type, and each part in the request's order."""
    return {
        "customerId": str(customer_uuid) if customer_uuid else None,
        "orderType": order_type,
        "parts": [
            unknown_part_json(answer)
            if isinstance(answer, selectors.UnknownPart)
            else {**price_availability_json(answer), "issue": None}
            for answer in answers
        ],
    }


# The basket's body as JSON text (``basket_text``): what ``json.dumps(basket_json(...))`` with DRF's
# JSONRenderer settings (compact, not ASCII-only) writes, byte for byte, without building the dicts first.
# A 200-part basket made about 14,000 dict entries only for the renderer to walk them again; writing each
# line once as text halves that work and leaves the garbage collector few containers to trace.
_quote = json.encoder.encode_basestring  # a str as a JSON string, not ASCII-only (json.dumps' own C function)


def _number_text(value: Decimal) -> str:
    """``number(value)`` as json.dumps writes it (an int's or a float's repr), from the decimal's own text
    where that is the same: a non-negative value in plain notation with at most 15 digits (a double keeps 15
    digits exactly, so the float's shortest repr is those digits) and not below 0.0001 (where repr turns to
    an exponent); trailing zeros dropped, and the point with them for a whole value (the int's repr)."""
    text = str(value)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if len(text) > 16 or not text[:1].isdigit() or "E" in text or text.startswith("0.000"):
        return _json_text(number(value))  # as the renderer: NaN refused
    return text


def _price_text(price: rules.Price, tail: str) -> str:
    """``price_json`` as text; ``tail`` the line's shared ``"taxRate":...,"currencyCode":...}``."""
    return (
        f'{{"netValue":{_number_text(price.net)},"grossValue":{_number_text(price.gross)},'
        f'"taxValue":{_number_text(price.tax)},{tail}'
    )


def _json_list(values: Iterable[Any]) -> str:
    items = list(values)
    return json.dumps(items, ensure_ascii=False, separators=(",", ":"), allow_nan=False) if items else "[]"


def _part_ref_text(part: Any) -> str:
    return (
        f'"partId":{_quote(part.part_id)},"brandCode":{_quote(part.brand_code)},'
        f'"partCode":{_quote(part.part_code)},"description":{_quote(part.description)}'
    )


def _price_availability_text(answer: selectors.PriceAvailability) -> str:
    """One basket line (``{**price_availability_json(answer), "issue": None}``) as JSON text."""
    supersession = answer.supersession
    part = answer.part
    pricing = answer.pricing
    list_unit = pricing.list_unit
    tail = f'"taxRate":{_number_text(list_unit.tax_rate)},"currencyCode":{_quote(list_unit.currency_code)}}}'
    list_price = _price_text(list_unit, tail)
    customer_price = list_price if pricing.customer_unit is list_unit else _price_text(pricing.customer_unit, tail)
    if pricing.total is pricing.customer_unit:
        total_price = customer_price
    elif pricing.total is list_unit:
        total_price = list_price
    else:
        total_price = _price_text(pricing.total, tail)
    if supersession.superseded or supersession.broken:
        successor = _quote(answer.successor.part_id) if answer.successor else "null"
        cycle = "true" if supersession.cycle else "false"
        superseded = f'{{"supersededBy":{successor},"chain":{_json_list(answer.chain)},"cycle":{cycle}}}'
    else:
        superseded = "null"
    surcharge = _price_text(pricing.surcharge, tail) if pricing.surcharge is not None else "null"
    quantity = answer.priced_quantity
    alternatives = ",".join(
        f'{{{_part_ref_text(offered)},"availableQuantity":{max(offered.available, 0)!r},"availability":'
        f"{_quote(rules.availability(stocked=offered.stocked, available=offered.available, quantity=quantity))}}}"
        for offered in answer.alternatives
    )
    return (
        f'{{"partId":{_quote(answer.requested_part_id)},"quantity":{answer.quantity!r},"pricedQuantity":{quantity!r},'
        f'"part":{{{_part_ref_text(part)}}},"supersession":{superseded},'
        f'"unitOfMeasure":{{"unit":{_quote(part.unit_of_measure)},"value":{_number_text(part.unit_of_measure_value)}}},'
        f'"unitOfSale":{part.unit_of_sale!r},"listPrice":{list_price},"customerPrice":{customer_price},'
        f'"discountPercent":{_number_text(pricing.discount_percent)},"surcharge":{surcharge},'
        f'"totalPrice":{total_price},"availableQuantity":{answer.available!r},'
        f'"availability":{_quote(answer.availability)},"alternatives":[{alternatives}],'
        f'"mandatoryVehicleReferences":{_json_list(answer.mandatory_vehicle_references)},"issue":null}}'
    )


def basket_text(
    *,
    customer_uuid: uuid.UUID | None,
    order_type: str | None,
    answers: Iterable[selectors.PriceAvailability | selectors.UnknownPart],
) -> str:
    """``basket_json``'s body as the JSON text DRF's renderer would make of it (the same bytes)."""
    lines = ",".join(
        _json_text(unknown_part_json(answer))
        if isinstance(answer, selectors.UnknownPart)
        else _price_availability_text(answer)
        for answer in answers
    )
    customer = _quote(str(customer_uuid)) if customer_uuid else "null"
    kind = _quote(order_type) if order_type is not None else "null"
    text = f'{{"customerId":{customer},"orderType":{kind},"parts":[{lines}]}}'
    # DRF's JSONRenderer escapes these two (valid JSON, but not valid JavaScript); so does this text.
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _json_text(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


# --- parts orders -------------------------------------------------------------------------------


def parts_order_line_json(line: PartsOrderLine) -> dict[str, Any]:
    """Seed 002's ``PartsOrderLine``: prices per unit at order time, with the supersession and totals."""
    order_price = rules.Price.of(line.order_net_price, line.tax_rate, line.currency_code)
    surcharge = (
        rules.Price.of(line.surcharge_net, line.tax_rate, line.currency_code)
        if line.surcharge_net is not None
        else None
    )
    references = [{"type": ref["type"], "value": ref["value"]} for ref in line.vehicle_references or []]
    return {
        "orderLineId": str(line.uuid),
        "partId": line.part_number,
        "supersededPartId": line.superseded_part_number or None,
        "quantity": line.quantity,
        "unitOfMeasure": _unit_of_measure(line.unit_of_measure, line.unit_of_measure_value),
        "unitOfSale": line.unit_of_sale,
        "partsOrderLineStatus": line.status,
        "mandatoryVehicleReference": references[0] if references else None,
        "mandatoryVehicleReferences": references,
        "listPrice": price_json(rules.Price.of(line.list_net_price, line.tax_rate, line.currency_code)),
        "orderPrice": price_json(order_price),
        "surcharge": _optional_price_json(surcharge),
        "totalPrice": price_json(order_price.times(line.quantity).plus(surcharge)),
    }


def parts_order_json(parts_order: PartsOrder, lines: Iterable[PartsOrderLine] | None = None) -> dict[str, Any]:
    """Seed 002's ``PartsOrder`` body (201 and read); ``lines`` when they are at hand, else its prefetched lines."""
    customer = parts_order.customer
    company = parts_order.company
    lines = parts_order.lines.all() if lines is None else lines
    return {
        "partsOrderId": parts_order.number,
        "partsOrderDateTime": _timestamp(parts_order.created_at),
        "orderStatus": parts_order.status,
        "customer": {
            "customerId": str(customer.uuid),
            "familyName": customer.family_name,
            "givenName": customer.given_name,
            "titleCommon": customer.title_common,
        },
        "company": {"companyId": str(company.uuid), "name": company.company_name or str(company)} if company else None,
        "orderContact": dict(parts_order.contact) or None,
        "deliveryAddress": {
            "streetName": parts_order.delivery_street_name,
            "postalCode": parts_order.delivery_postal_code,
            "city": parts_order.delivery_city,
            "countryCode": parts_order.delivery_country_code,
        },
        "orderType": parts_order.order_type,
        "orderReference": parts_order.order_reference or None,
        "parts": [parts_order_line_json(line) for line in lines],
        "dms": dms_state(parts_order),
    }


def parts_order_accepted_json(parts_order: PartsOrder) -> dict[str, Any]:
    """Seed 002's 202 body: the order is stored and completes in the background."""
    return {"partsOrderId": parts_order.number}
