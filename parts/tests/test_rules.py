"""The pure rules of parts: order status derivation, price arithmetic, reservations, supersession."""

from __future__ import annotations

import itertools
import uuid
from decimal import Decimal

import pytest

from orders.models import Customer
from orma.errors import DomainError, ErrorCode, Problem
from parts import rules
from parts.choices import PartsOrderLineStatus, PartsOrderStatus
from parts.models import Part
from parts.selectors import Catalogue, PricedCustomer

LINE_STATUSES = ["OPEN", "RESERVED", "ISSUED", "BACKORDER", "PACKED", "INTRANSIT", "DELIVERED", "CANCELLED", "INVOICED"]

# DESIGN §5, written out independently of the code: the first row whose condition holds wins.
#
# | order status | when                                          |
# |--------------|-----------------------------------------------|
# | CLOSED       | every line is INVOICED or CANCELLED           |
# | SHIPPED      | any line is INTRANSIT, DELIVERED or INVOICED  |
# | INPROGRESS   | any line is ISSUED, PACKED or BACKORDER       |
# | CONFIRMED    | any line is RESERVED                          |
# | CREATED      | otherwise                                     |
STATUS_TABLE = [
    ("CLOSED", lambda lines: all(s in {"INVOICED", "CANCELLED"} for s in lines)),
    ("SHIPPED", lambda lines: any(s in {"INTRANSIT", "DELIVERED", "INVOICED"} for s in lines)),
    ("INPROGRESS", lambda lines: any(s in {"ISSUED", "PACKED", "BACKORDER"} for s in lines)),
    ("CONFIRMED", lambda lines: any(s == "RESERVED" for s in lines)),
    ("CREATED", lambda lines: True),
]


def expected_status(lines: tuple[str, ...]) -> str:
    return next(status for status, holds in STATUS_TABLE if holds(lines))


class TestOrderStatus:
    def test_the_line_statuses_are_seed_002s(self):
        assert sorted(PartsOrderLineStatus.values) == sorted(LINE_STATUSES)

    @pytest.mark.parametrize("count", [1, 2, 3])
    def test_every_combination_of_up_to_three_lines_follows_the_table(self, count):
        combinations = list(itertools.product(LINE_STATUSES, repeat=count))
        assert len(combinations) == len(LINE_STATUSES) ** count

        wrong = [
            (lines, rules.derive_order_status(lines), expected_status(lines))
            for lines in combinations
            if rules.derive_order_status(lines) != expected_status(lines)
        ]

        assert wrong == []

    @pytest.mark.parametrize(
        "lines, status",
        [
            (("RESERVED",), "CONFIRMED"),
            (("RESERVED", "BACKORDER"), "INPROGRESS"),
            (("INVOICED", "RESERVED"), "SHIPPED"),
            (("INVOICED", "CANCELLED"), "CLOSED"),
            (("CANCELLED",), "CLOSED"),
            (("OPEN", "CANCELLED"), "CREATED"),
            (("DELIVERED", "BACKORDER", "RESERVED"), "SHIPPED"),
        ],
    )
    def test_examples(self, lines, status):
        assert rules.derive_order_status(lines) == status

    def test_an_order_without_lines_is_created(self):
        assert rules.derive_order_status([]) == "CREATED"


D = Decimal


class TestMoney:
    @pytest.mark.parametrize(
        "amount, currency, rounded",
        [
            ("2.675", "EUR", "2.68"),  # a float would give 2.67
            ("2.665", "EUR", "2.67"),  # half-up, not half-even
            ("0.005", "EUR", "0.01"),
            ("0.0049", "EUR", "0.00"),
            ("1234.5", "JPY", "1235"),
            ("1.0005", "KWD", "1.001"),
        ],
    )
    def test_it_rounds_half_up_to_the_minor_unit(self, amount, currency, rounded):
        result = rules.round_money(D(amount), currency)

        assert result == D(rounded)
        assert str(result) == rounded

    def test_tax_comes_from_the_rounded_net_and_gross_is_their_sum(self):
        price = rules.Price.of(D("10.005"), D("19"), "EUR")

        assert (price.net, price.tax, price.gross) == (D("10.01"), D("1.90"), D("11.91"))

    def test_a_line_prices_the_discounted_unit_then_the_quantity_then_the_surcharge(self):
        pricing = rules.price_line(
            list_net=D("33.33"),
            tax_rate=D("19"),
            currency_code="EUR",
            quantity=3,
            discount=D("12.5"),
            surcharge_percent=D("10"),
            surcharge_fixed_net=D("1.00"),
        )

        assert pricing.list_unit.net == D("33.33")
        assert pricing.customer_unit.net == D("29.16")  # 33.33 × 0.875 = 29.16375
        assert pricing.surcharge is not None and pricing.surcharge.net == D("9.75")  # 1.00 + 8.748
        assert pricing.total.net == D("97.23")  # 87.48 + 9.75
        assert pricing.total.tax == D("18.47")
        assert pricing.total.gross == D("115.70")

    @pytest.mark.parametrize("list_net", ["10.005", "19.9949", "0.0050", "1234567.8951"])
    @pytest.mark.parametrize("currency", ["EUR", "JPY", "KWD"])
    @pytest.mark.parametrize(("discount", "quantity"), [("0", 1), ("0.00", 1), ("0", 7), ("12.5", 1)])
    def test_no_discount_or_one_unit_prices_as_the_full_arithmetic(self, list_net, currency, discount, quantity):
        """price_line reuses the unit price then: the same values and exponents as computing it again."""
        net, rate = D(list_net), D("19.00")
        pricing = rules.price_line(
            list_net=net, tax_rate=rate, currency_code=currency, quantity=quantity, discount=D(discount)
        )

        unit = rules.Price.of(rules.customer_unit_net(net, D(discount), currency), rate, currency)
        extended = rules.Price.of(unit.net * quantity, rate, currency)
        for got, want in ((pricing.customer_unit, unit), (pricing.total, extended)):
            assert (str(got.net), str(got.tax), str(got.gross)) == (str(want.net), str(want.tax), str(want.gross))

    def test_a_price_is_still_frozen(self):
        price = rules.Price.of(D("1"), D("19"), "EUR")

        with pytest.raises(AttributeError):
            price.net = D("2")  # type: ignore[misc]
        assert price == rules.Price(D("1.00"), D("0.19"), D("1.19"), D("19"), "EUR")

    def test_no_surcharge_is_none(self):
        pricing = rules.price_line(list_net=D("10"), tax_rate=D("0"), currency_code="EUR", quantity=1)

        assert pricing.surcharge is None
        assert pricing.total == pricing.customer_unit

    def test_a_discount_group_rule_wins_over_the_brand_rule(self):
        customer_rules = [rules.DiscountRule("VW", "", D("10")), rules.DiscountRule("", "OIL", D("15"))]

        assert rules.discount_percent(brand_code="VW", discount_group="OIL", rules=customer_rules) == D("15")
        assert rules.discount_percent(brand_code="VW", discount_group="BRK", rules=customer_rules) == D("10")
        assert rules.discount_percent(brand_code="AUDI", discount_group="BRK", rules=customer_rules) == D("0")


class TestAvailabilityAndReservation:
    @pytest.mark.parametrize(
        "stocked, available, quantity, expected",
        [
            (True, 5, 5, "IN_STOCK"),
            (True, 4, 5, "PARTIAL"),
            (True, 0, 5, "BACKORDER"),
            (False, 0, 5, "NOT_STOCKED"),
        ],
    )
    def test_availability(self, stocked, available, quantity, expected):
        assert rules.availability(stocked=stocked, available=available, quantity=quantity) == expected

    def test_lines_take_what_is_left_and_the_line_short_of_stock_takes_the_rest(self):
        lines = [(1, 3, 1), (1, 3, 1), (1, 3, 1), (1, 3, 1), (2, 1, 1), (None, 1, 1), (1, 1, 1)]

        plan = rules.plan_reservations(lines, {1: 10, 2: 0})

        assert plan == [3, 3, 3, 1, 0, 0, 0]  # the fourth line: 1 reserved, 2 to back-order

    def test_a_reservation_is_whole_units_of_sale(self):
        assert rules.plan_reservations([(1, 12, 6), (1, 6, 6)], {1: 8}) == [6, 0]
        assert rules.plan_reservations([(1, 12, 6)], {1: 12}) == [12]

    @pytest.mark.parametrize("quantity, unit_of_sale, priced", [(5, 6, 6), (6, 6, 6), (7, 6, 12), (1, 1, 1), (0, 4, 4)])
    def test_the_priced_quantity_is_the_next_multiple_of_the_unit_of_sale(self, quantity, unit_of_sale, priced):
        assert rules.priced_quantity(quantity, unit_of_sale) == priced

    @pytest.mark.parametrize(
        "quantity, unit_of_sale, problem",
        [
            (6, 3, None),
            (5, 3, "quantity 5 is not a multiple of the unit of sale 3"),
            (0, 1, "quantity must be positive, not 0"),
        ],
    )
    def test_quantity_must_be_a_positive_multiple_of_the_unit_of_sale(self, quantity, unit_of_sale, problem):
        assert rules.quantity_problem(quantity, unit_of_sale) == problem


class TestSupersession:
    def test_it_follows_the_chain_to_the_final_successor(self):
        result = rules.follow_supersession("A", {"A": "B", "B": "C", "C": None})

        assert (result.final, result.chain, result.cycle, result.superseded) == ("C", ("A", "B", "C"), False, True)

    def test_a_current_part_is_not_superseded(self):
        result = rules.follow_supersession("C", {"C": None})

        assert (result.final, result.superseded) == ("C", False)

    def test_a_cycle_is_reported_not_followed_forever(self):
        result = rules.follow_supersession("A", {"A": "B", "B": "C", "C": "B"})

        assert result.cycle
        assert result.final == "A"
        assert result.chain == ("A", "B", "C", "B")

    def test_a_successor_missing_from_the_data_is_reported(self):
        result = rules.follow_supersession("A", {"A": "B"})

        assert result.broken and result.final == "A"

    def test_it_tells_a_part_on_its_cycle_from_one_leading_into_it(self):
        successor_of = {"A": "B", "B": "C", "C": "B", "D": None}

        assert not rules.follow_supersession("A", successor_of).returns_to_start  # leads into B → C → B
        assert rules.follow_supersession("B", successor_of).returns_to_start
        assert not rules.follow_supersession("D", successor_of).returns_to_start


class TestRequests:
    def test_an_unknown_customer_is_named_by_its_field(self):
        known, unknown = uuid.uuid4(), uuid.uuid4()

        assert rules.customer_problem(known, {known: object()}) is None
        assert rules.customer_problem(unknown, {known: object()}, field="companyId") == Problem(
            ErrorCode.UNKNOWN_CUSTOMER, f"companyId {unknown} is not a customer of this dealer", "companyId", unknown
        )

    def test_an_unknown_part_is_named_by_its_field(self):
        assert rules.unknown_part("VW1", "parts[2].partId") == Problem(
            ErrorCode.UNKNOWN_PART, "part VW1 is not in this dealer's catalogue", "parts[2].partId", "VW1"
        )

    def test_not_one_of_lists_the_values_in_their_order(self):
        assert rules.not_one_of("X", PartsOrderStatus) == (
            "The value 'X' is not valid; use one of CREATED, CONFIRMED, INPROGRESS, SHIPPED, CLOSED."
        )


def _part(pk, part_id, **fields):
    return Part(pk=pk, part_id=part_id, brand_code="VW", part_code=part_id[2:], **fields)


class TestPartsOrderRules:
    """``rules.parts_order_checked`` on data built in memory: the rule reads no database."""

    customer = Customer(uuid=uuid.uuid4(), street_name="Main street 1", city="Town")

    def catalogue(self):
        final = _part(3, "VW3", unit_of_sale=2, mandatory_vehicle_references=["VIN"])
        return Catalogue(
            {
                1: _part(1, "VW1", superseded_by_id=3),
                3: final,
                4: _part(4, "VW4", superseded_by_id=5),
                5: _part(5, "VW5", superseded_by_id=4),
            }
        )

    def check(self, *lines, customers=None, reference_required=False, **fields):
        request = rules.PartsOrderRequest(
            customer_uuid=self.customer.uuid,
            order_type="STK",
            lines=[rules.RequestedLine(**line) for line in lines],
            **fields,
        )
        return rules.parts_order_checked(
            request=request,
            reference_required=reference_required,
            customers={self.customer.uuid: PricedCustomer(self.customer, ())} if customers is None else customers,
            catalogue=self.catalogue(),
        )

    def test_a_superseded_part_is_supplied_by_its_final_successor(self):
        references = ({"type": "VIN", "value": "WVWZZZ1KZAW000001"},)

        checked = self.check({"quantity": 4, "part_id": "VW1", "vehicle_references": references})

        (line,) = checked.lines
        assert (line.part.part_id, line.superseded.part_id) == ("VW3", "VW1")
        assert checked.customer.customer is self.customer

    def test_every_problem_is_raised_at_once_in_the_bodys_order(self):
        with pytest.raises(DomainError) as refused:
            self.check(
                {"quantity": 3, "part_id": "VW1"},
                {"quantity": 1, "part_id": "VW4"},
                {"quantity": 1, "brand_code": "VW", "part_code": "9"},
                customers={},
                reference_required=True,
            )

        assert [(p.code, p.field, p.value) for p in refused.value.problems] == [
            (ErrorCode.UNKNOWN_CUSTOMER, "customerId", self.customer.uuid),
            (ErrorCode.FIELD_REQUIRED, "orderReference", ""),
            (ErrorCode.FIELD_INVALID, "parts[0].quantity", 3),
            (ErrorCode.FIELD_REQUIRED, "parts[0].mandatoryVehicleReferences", "VIN"),
            (ErrorCode.UNKNOWN_PART, "parts[1].part.partId", "VW4"),
            (ErrorCode.UNKNOWN_PART, "parts[2].part.partCode", "9"),
        ]
        assert refused.value.problems[4].description == (
            "the supersession of part VW4 loops (VW4 → VW5 → VW4); ask the dealer"
        )


def test_an_answer_built_without_init_equals_the_constructed_one():
    from parts.rules import LinePricing, Price, Supersession, built

    price = Price.of(Decimal("9.99"), Decimal("19"), "EUR")
    pairs = [
        (built(Supersession, {"final": 1, "chain": (1,), "cycle": False, "broken": False}), Supersession(1, (1,))),
        (
            built(
                LinePricing,
                {"list_unit": price, "customer_unit": price, "discount_percent": 0, "surcharge": None, "total": price},
            ),
            LinePricing(price, price, 0, None, price),
        ),
    ]
    for answer, constructed in pairs:
        assert answer == constructed and hash(answer) == hash(constructed) and repr(answer) == repr(constructed)
    with pytest.raises(AttributeError):
        pairs[0][0].final = 2  # still frozen
