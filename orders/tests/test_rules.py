"""The pure rules of the orders app at their home: a customer's name, a VIN's brand, the totals, and the
value formats the request rules, the schema and the columns share. No database, no HTTP."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from orders import fields as f
from orders.body import BODY, CUSTOMER_BODY, VEHICLE_BODY, Field, ListOf, Obj
from orders.fields import HOURS, MONEY, QUANTITY, FieldRuleError
from orders.models import PackagePrice, PartLine, RepairOrder, TechHoursLine
from orders.rules import apply_totals, computed_totals, creation_instant, customer_has_name
from orders.vins import normalise_vin, serviced_brand, vin_brand

from .factories import AUDI_VIN, HONDA_VIN, SKODA_VIN, VW_VIN

SEAT_VIN = "VSSZZZ5FZJR000001"


# --- a customer's name -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("family_name", "company_name", "named"),
    [
        ("Muster", "", True),
        ("", "ACME GmbH", True),
        ("Muster", "ACME GmbH", True),
        ("M", "", True),  # one character is a name
        (" M ", "", True),
        ("", "", False),
        ("   ", "", False),  # blanks are no name
        ("", " \t\n", False),
    ],
)
def test_a_customer_needs_a_family_name_or_a_company_name(family_name, company_name, named):
    assert customer_has_name(family_name, company_name) is named


# --- a VIN's brand ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vin", "dealer_brands", "brand"),
    [
        (VW_VIN, ["VW"], "VW"),
        (AUDI_VIN, ["VW", "AUDI"], "AUDI"),
        (SKODA_VIN, ["SKODA"], "SKODA"),
        (SEAT_VIN, ["SEAT"], "SEAT"),
        (SEAT_VIN, ["CUPRA"], "CUPRA"),  # SEAT's WMI covers CUPRA too
        (SEAT_VIN, ["SEAT", "CUPRA"], "SEAT"),
    ],
)
def test_a_vin_of_a_serviced_brand_answers_the_brand(vin, dealer_brands, brand):
    assert serviced_brand(vin, dealer_brands) == brand


@pytest.mark.parametrize(
    ("vin", "dealer_brands", "message"),
    [
        (AUDI_VIN, ["VW", "SKODA"], "is a VIN of brand AUDI, which this dealer does not service"),
        (VW_VIN, [], "is a VIN of brand VW, which this dealer does not service"),
        (SKODA_VIN, ["CUPRA"], "is a VIN of brand SKODA, which this dealer does not service"),
        (HONDA_VIN, ["VW", "AUDI", "SKODA", "SEAT", "CUPRA", "VWN"], "is a VIN of Honda, a brand OrMa does not serve"),
    ],
)
def test_a_vin_of_a_brand_the_dealer_does_not_service_is_invalid(vin, dealer_brands, message):
    with pytest.raises(FieldRuleError) as refused:
        serviced_brand(vin, dealer_brands)

    assert (refused.value.code, refused.value.message) == ("FIELD_INVALID", message)


def test_the_brand_of_a_manufacturer_outside_seed_000_is_none():
    assert vin_brand(VW_VIN) == "VW"
    assert vin_brand(HONDA_VIN) is None


@pytest.mark.parametrize(
    ("raw", "accepted"),
    [
        ("wvwzzz1jzxw000001", "WVWZZZ1JZXW000001"),
        ("WVWZZZ1JZXW000001", "WVWZZZ1JZXW000001"),
        ("WVWZZZ1JZXW00001", None),  # 16 characters
        ("WVWZZZ1JZXW0000011", None),  # 18
        ("WVWZZZ1JZXW00000I", None),
        (17, None),
    ],
)
def test_a_vin_is_17_characters_without_i_o_or_q(raw, accepted):
    if accepted is None:
        with pytest.raises(FieldRuleError):
            normalise_vin(raw)
    else:
        assert normalise_vin(raw) == accepted


# --- totals ------------------------------------------------------------------------------------------


def test_totals_add_up_the_lines_and_leave_out_those_no_line_gives():
    order = {
        "jobs": [
            {
                "laborSale": Decimal("10.00"),
                "packages": [{"price": Decimal("5.50")}],
                "parts": [{"salePrice": Decimal("2.50"), "quantitySold": Decimal("3"), "cost": Decimal("1.00")}],
                "mls": [{"mlsType": "SUBLET", "salePrice": Decimal("7.00")}],
            }
        ],
        "mls": [{"mlsType": "L", "salePrice": Decimal("1.25")}, {"mlsType": "other", "salePrice": Decimal("9")}],
    }

    assert computed_totals(order) == {
        "laborSale": Decimal("15.50"),
        "partsSale": Decimal("7.50"),
        "partsCost": Decimal("3.00"),
        "lubeSale": Decimal("1.25"),
        "subletSale": Decimal("7.00"),
    }


def test_given_totals_are_kept_and_the_disagreeing_ones_named():
    header = {"laborSale": Decimal("15.50"), "partsSale": Decimal("7.49")}

    disagreeing = apply_totals(header, {"laborSale": Decimal("15.50"), "partsSale": Decimal("7.50"), "miscSale": 1})

    assert disagreeing == ["order.header.partsSale is 7.49 but the lines add up to 7.50"]
    assert header == {"laborSale": Decimal("15.50"), "partsSale": Decimal("7.49"), "miscSale": 1}


def test_the_creation_instant_is_the_create_date_and_time_in_utc():
    assert creation_instant(dt.date(2024, 2, 29), dt.time(23, 59, 59)) == dt.datetime(
        2024, 2, 29, 23, 59, 59, tzinfo=dt.UTC
    )


# --- one home per format: request rule, schema pattern, limit, column ---------------------------------


@pytest.mark.parametrize(
    ("number", "schema_pattern", "limit", "columns"),
    [
        (MONEY, r"^(?:\d{1,10}(?:\.\d{1,2})?)?$", Decimal("9999999999.99"), [(RepairOrder, "labor_sale")]),
        (HOURS, r"^(?:\d{1,6}(?:\.\d{1,2})?)?$", Decimal("999999.99"), [(TechHoursLine, "sold_hours")]),
        (QUANTITY, r"^(?:\d{1,8}(?:\.\d{1,2})?)?$", Decimal("99999999.99"), [(PartLine, "quantity_sold")]),
    ],
)
def test_a_decimal_format_is_the_one_home_of_its_pattern_limit_and_columns(number, schema_pattern, limit, columns):
    assert number.schema_pattern == schema_pattern
    assert number.limit == limit
    for model, name in columns:
        field = model._meta.get_field(name)
        assert (field.max_digits, field.decimal_places) == (number.max_digits, number.places)
    assert PackagePrice._meta.get_field("price").max_digits == MONEY.max_digits


@pytest.mark.parametrize(
    ("rule", "accepted", "refused"),
    [
        (f.money, ["9999999999.99", "0", "12.5"], ["99999999999", "1.234", "-1", "1e3"]),
        (f.hours, ["999999.99", "1"], ["1000000", "0.255"]),
        (f.quantity, ["99999999.99", "2"], ["123456789", "1.234"]),
        (f.positive_quantity, ["0.01", "1", "99999999.99"], ["0", "0.00", "-1"]),
    ],
)
def test_the_request_rule_and_the_schema_pattern_agree(rule, accepted, refused):
    for raw in accepted:
        rule(raw)
        assert re.fullmatch(rule.pattern, raw), raw
    for raw in refused:
        with pytest.raises(FieldRuleError):
            rule(raw)
        assert not re.fullmatch(rule.pattern, raw), raw


def test_the_largest_amount_fits_its_column():
    assert f.money(str(MONEY.limit)) == MONEY.limit
    with pytest.raises(FieldRuleError):
        f.money(str(MONEY.limit + Decimal("0.01")))


def _rules(node, into):
    if isinstance(node, Field):
        into.add(node.rule)
    elif isinstance(node, Obj):
        for sub in node.fields.values():
            _rules(sub, into)
    elif isinstance(node, ListOf):
        _rules(node.item, into)
    return into


def test_every_rule_of_the_bodies_says_how_the_schema_documents_it():
    for rule in _rules(BODY, set()) | _rules(CUSTOMER_BODY, set()) | _rules(VEHICLE_BODY, set()):
        documented = (rule.pattern, rule.max_length, rule.choices, rule.minimum, rule.schema_format)
        assert any(value is not None for value in documented), rule
