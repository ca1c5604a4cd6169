"""``price-availability`` (seed 003): one part (GET) and a basket (POST), priced for a customer."""

from __future__ import annotations

from decimal import Decimal

import factory
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.tests.factories import CustomerFactory
from tenancy.tests.factories import DepartmentFactory, partner_on
from tests.clients import client_for

from .factories import CustomerDiscountFactory, PartFactory, StockFactory, SurchargeFactory, base_url

pytestmark = pytest.mark.django_db


def pa(api, store, **query):
    return api.get(f"{base_url(store)}/price-availability", query)


def basket(api, store, body):
    return api.post(f"{base_url(store)}/price-availability", body, format="json")


class TestPriceAvailability:
    def test_it_prices_one_part_for_the_customer(self, api, store, dealer):
        part = PartFactory(dealer=dealer, list_net_price=Decimal("19.99"), tax_rate=Decimal("19"))
        StockFactory(department=store, part=part, on_hand=7, reserved=2)
        customer = CustomerFactory(dealer=dealer)
        CustomerDiscountFactory(customer=customer, brand_code="V", percent=Decimal("15"))

        response = pa(api, store, partId=part.part_id, quantity=3, customerId=str(customer.uuid))

        assert response.status_code == 200, response.content
        body = response.json()
        assert body["partId"] == part.part_id
        assert body["part"]["partId"] == part.part_id
        assert body["supersession"] is None
        assert body["listPrice"] == {
            "netValue": 19.99,
            "grossValue": 23.79,
            "taxValue": 3.8,
            "taxRate": 19,
            "currencyCode": "EUR",
        }
        # 19.99 × 0.85 = 16.9915 → 16.99; tax 3.2281 → 3.23
        assert body["customerPrice"] == {
            "netValue": 16.99,
            "grossValue": 20.22,
            "taxValue": 3.23,
            "taxRate": 19,
            "currencyCode": "EUR",
        }
        assert body["discountPercent"] == 15
        assert body["surcharge"] is None
        assert body["totalPrice"]["netValue"] == 50.97
        assert body["availableQuantity"] == 5
        assert body["availability"] == "IN_STOCK"
        assert body["alternatives"] == []
        assert body["mandatoryVehicleReferences"] == []

    def test_without_a_customer_the_customer_price_is_the_list_price(self, api, store, dealer):
        part = PartFactory(dealer=dealer)

        body = pa(api, store, partId=part.part_id).json()

        assert body["customerPrice"] == body["listPrice"]
        assert body["quantity"] == 1
        assert body["availability"] == "NOT_STOCKED"

    def test_the_order_types_surcharge_is_shown(self, api, store, dealer):
        part = PartFactory(dealer=dealer)
        SurchargeFactory(dealer=dealer, order_type="EMG", percent=Decimal("10"), fixed_net=Decimal("5"))

        with_surcharge = pa(api, store, partId=part.part_id, quantity=2, orderType="EMG").json()
        without = pa(api, store, partId=part.part_id, quantity=2, orderType="STK").json()

        assert with_surcharge["surcharge"]["netValue"] == 25  # 5 + 10 % of 200
        assert with_surcharge["totalPrice"]["netValue"] == 225
        assert without["surcharge"] is None

    @pytest.mark.parametrize(
        "on_hand, reserved, availability, available",
        [(10, 0, "IN_STOCK", 10), (6, 2, "PARTIAL", 4), (3, 3, "BACKORDER", 0)],
    )
    def test_availability_counts_what_is_not_reserved(
        self, api, store, dealer, on_hand, reserved, availability, available
    ):
        part = PartFactory(dealer=dealer)
        StockFactory(department=store, part=part, on_hand=on_hand, reserved=reserved)
        StockFactory(department=DepartmentFactory(dealer=dealer), part=part, on_hand=100)  # another store's stock

        body = pa(api, store, partId=part.part_id, quantity=5).json()

        assert (body["availability"], body["availableQuantity"]) == (availability, available)

    def test_a_superseded_part_is_answered_with_its_final_successor(self, api, store, dealer):
        final = PartFactory(
            dealer=dealer, part_id="VW3", list_net_price=Decimal("50"), mandatory_vehicle_references=["VIN"]
        )
        middle = PartFactory(dealer=dealer, part_id="VW2", superseded_by=final)
        PartFactory(dealer=dealer, part_id="VW1", superseded_by=middle)
        StockFactory(department=store, part=final, on_hand=4)

        body = pa(api, store, partId="VW1", quantity=2).json()

        assert body["partId"] == "VW1"
        assert body["part"]["partId"] == "VW3"
        assert body["supersession"] == {"supersededBy": "VW3", "chain": ["VW1", "VW2", "VW3"], "cycle": False}
        assert body["listPrice"]["netValue"] == 50
        assert body["availableQuantity"] == 4
        assert body["mandatoryVehicleReferences"] == ["VIN"]

    def test_a_supersession_cycle_is_reported_and_never_loops(self, api, store, dealer):
        a = PartFactory(dealer=dealer, part_id="VWA")
        b = PartFactory(dealer=dealer, part_id="VWB", superseded_by=a)
        c = PartFactory(dealer=dealer, part_id="VWC", superseded_by=b)
        a.superseded_by = c
        a.save()

        body = pa(api, store, partId="VWA").json()

        assert body["supersession"] == {"supersededBy": None, "chain": ["VWA", "VWC", "VWB", "VWA"], "cycle": True}
        assert body["part"]["partId"] == "VWA"

    def test_alternatives_come_with_their_availability(self, api, store, dealer):
        part = PartFactory(dealer=dealer, part_id="VW1")
        in_stock = PartFactory(dealer=dealer, part_id="VW7")
        unstocked = PartFactory(dealer=dealer, part_id="VW8")
        part.alternatives.add(in_stock, unstocked)
        StockFactory(department=store, part=in_stock, on_hand=9)

        body = pa(api, store, partId="VW1", quantity=3).json()

        assert [(a["partId"], a["availableQuantity"], a["availability"]) for a in body["alternatives"]] == [
            ("VW7", 9, "IN_STOCK"),
            ("VW8", 0, "NOT_STOCKED"),
        ]

    def test_unknown_part_and_customer_answer_400(self, api, store, dealer):
        part = PartFactory(dealer=dealer)
        foreign_customer = CustomerFactory()

        unknown_part = pa(api, store, partId="NOPE")
        unknown_customer = pa(api, store, partId=part.part_id, customerId=str(foreign_customer.uuid))
        bad_quantity = pa(api, store, partId=part.part_id, quantity="0")
        missing = pa(api, store)

        assert unknown_part.status_code == 400
        assert unknown_part.json()["details"] == [
            {"field": "partId", "value": "NOPE", "issue": "part NOPE is not in this dealer's catalogue"}
        ]
        assert unknown_customer.json()["details"][0]["field"] == "customerId"
        assert bad_quantity.json()["details"][0]["field"] == "quantity"
        assert missing.json()["details"][0]["field"] == "partId"


class TestCustomerFirst:
    def test_an_unknown_customer_is_answered_alone_before_the_parts_are_looked_up(
        self, api, store, dealer, django_assert_max_num_queries
    ):
        foreign = CustomerFactory()
        assert api.get(f"{base_url(store)}/parts").status_code == 200  # credentials and grant cached: steady state

        with django_assert_max_num_queries(1):  # the customer: the catalogue is never asked
            response = basket(api, store, {"customerId": str(foreign.uuid), "parts": [{"partId": "NOPE"}]})

        assert response.status_code == 400
        assert response.json()["details"] == [
            {
                "field": "customerId",
                "value": str(foreign.uuid),
                "issue": f"customerId {foreign.uuid} is not a customer of this dealer",
            }
        ]


class TestBasket:
    @pytest.mark.parametrize("part_id", [0, 7654321, True, None, ""])
    def test_a_part_id_that_is_not_a_string_is_refused(self, api, store, dealer, part_id):
        customer = CustomerFactory(dealer=dealer)

        response = basket(api, store, {"customerId": str(customer.uuid), "parts": [{"partId": part_id, "quantity": 1}]})

        assert response.status_code == 400, response.content
        assert [detail["field"] for detail in response.json()["details"]] == ["parts[0].partId"]

    def test_it_answers_each_part_of_the_basket_in_order(self, api, store, dealer):
        parts = PartFactory.create_batch(3, dealer=dealer)
        StockFactory(department=store, part=parts[1], on_hand=1)
        customer = CustomerFactory(dealer=dealer)

        response = basket(
            api,
            store,
            {
                "customerId": str(customer.uuid),
                "orderType": "VOR",
                "parts": [{"partId": p.part_id, "quantity": 2} for p in reversed(parts)],
            },
        )

        assert response.status_code == 200, response.content
        body = response.json()
        assert body["customerId"] == str(customer.uuid)
        assert body["orderType"] == "VOR"
        assert [line["partId"] for line in body["parts"]] == [p.part_id for p in reversed(parts)]
        assert [line["availability"] for line in body["parts"]] == ["NOT_STOCKED", "PARTIAL", "NOT_STOCKED"]

    def test_one_unknown_part_answers_not_found_on_its_line_and_the_rest_is_priced(self, api, store, dealer):
        part = PartFactory(dealer=dealer)
        StockFactory(department=store, part=part, on_hand=5)

        response = basket(
            api, store, {"parts": [{"partId": "X1"}, {"partId": part.part_id, "quantity": 2}, {"partId": "X2"}]}
        )

        assert response.status_code == 200, response.content
        lines = response.json()["parts"]
        assert [(line["partId"], line["availability"]) for line in lines] == [
            ("X1", "NOT_FOUND"),
            (part.part_id, "IN_STOCK"),
            ("X2", "NOT_FOUND"),
        ]
        assert lines[0]["issue"] == "parts[0].partId: part X1 is not in this dealer's catalogue"
        assert lines[0]["listPrice"] is None and lines[0]["availableQuantity"] == 0
        assert lines[1]["issue"] is None and lines[1]["totalPrice"]["netValue"] == 200

    def test_the_single_part_query_still_refuses_an_unknown_part_and_customer_together(self, api, store, dealer):
        foreign = CustomerFactory()

        response = pa(api, store, partId="NOPE", customerId=str(foreign.uuid))

        assert response.status_code == 400
        assert [detail["field"] for detail in response.json()["details"]] == ["customerId", "partId"]


class TestUnitOfSale:
    """A part sold in sixes: 5 cannot be ordered, so price & availability answers for 6 and says so."""

    @pytest.mark.parametrize(
        "requested, priced, availability", [(5, 6, "IN_STOCK"), (6, 6, "IN_STOCK"), (7, 12, "PARTIAL")]
    )
    def test_it_prices_and_checks_the_next_multiple_of_the_unit_of_sale(
        self, api, store, dealer, requested, priced, availability
    ):
        oil = PartFactory(dealer=dealer, unit_of_sale=6, list_net_price=Decimal("10.00"))
        StockFactory(department=store, part=oil, on_hand=8)

        answer = pa(api, store, partId=oil.part_id, quantity=str(requested)).json()

        assert (answer["quantity"], answer["pricedQuantity"], answer["unitOfSale"]) == (requested, priced, 6)
        assert answer["availability"] == availability
        assert answer["totalPrice"]["netValue"] == 10 * priced

    def test_what_it_answers_in_stock_can_be_ordered(self, api, store, dealer):
        oil = PartFactory(dealer=dealer, unit_of_sale=6)
        StockFactory(department=store, part=oil, on_hand=6)
        customer = CustomerFactory(dealer=dealer)
        answer = pa(api, store, partId=oil.part_id, quantity="5").json()
        assert answer["availability"] == "IN_STOCK"

        response = api.post(
            f"{base_url(store)}/parts-orders",
            {
                "customerId": str(customer.uuid),
                "orderType": "STK",
                "parts": [{"part": {"partId": oil.part_id}, "quantity": answer["pricedQuantity"]}],
            },
            format="json",
        )

        assert response.status_code == 201, response.content
        assert [line["partsOrderLineStatus"] for line in response.json()["parts"]] == ["RESERVED"]

    @pytest.mark.parametrize("count", [0, 201])
    def test_a_basket_holds_1_to_200_parts(self, api, store, count):
        response = basket(api, store, {"parts": [{"partId": f"P{i}"} for i in range(count)]})

        assert response.status_code == 400
        assert response.json()["details"][0]["field"] == "parts"

    def test_1_part_and_200_parts_run_the_same_queries(self, api, store, dealer, django_assert_num_queries):
        parts = PartFactory.create_batch(200, dealer=dealer)
        StockFactory.create_batch(200, department=store, part=factory.Iterator(parts), on_hand=3)
        successors = PartFactory.create_batch(100, dealer=dealer)
        for part, successor in zip(parts[::2], successors, strict=True):  # half of them superseded
            part.superseded_by = successor
            part.save()
            part.alternatives.add(successor)
        customer = CustomerFactory(dealer=dealer)
        CustomerDiscountFactory(customer=customer)
        SurchargeFactory(dealer=dealer, order_type="VOR")
        assert api.get(f"{base_url(store)}/parts").status_code == 200  # credentials cached, as in steady state

        counts = []
        for size in (1, 200):
            body = {
                "customerId": str(customer.uuid),
                "orderType": "VOR",
                "parts": [{"partId": p.part_id, "quantity": 1} for p in parts[:size]],
            }
            with django_assert_num_queries(BASKET_QUERIES), CaptureQueriesContext(connection) as queries:
                response = basket(api, store, body)
            assert response.status_code == 200
            assert len(response.json()["parts"]) == size
            counts.append(len(queries))

        assert counts == [BASKET_QUERIES, BASKET_QUERIES]

    def test_a_cold_request_stays_within_six_queries(self, api, store, dealer, django_assert_max_num_queries):
        parts = PartFactory.create_batch(200, dealer=dealer)
        customer = CustomerFactory(dealer=dealer)

        with django_assert_max_num_queries(6):
            response = basket(
                api, store, {"customerId": str(customer.uuid), "parts": [{"partId": p.part_id} for p in parts]}
            )

        assert response.status_code == 200


# the customer with its discounts; the parts with their chains, stock, surcharge and (PostgreSQL,
# parts.sql) their alternatives; elsewhere the alternatives in a query of
# their own (the grant comes from the cache, with the credentials)
BASKET_QUERIES = 2 if connection.vendor == "postgresql" else 3


class TestScopesAndTenancy:
    def test_price_availability_needs_parts_read(self, store, dealer):
        part = PartFactory(dealer=dealer)
        client = client_for(partner_on(store, ["parts.order"]))

        assert pa(client, store, partId=part.part_id).status_code == 403
        assert basket(client, store, {"parts": [{"partId": part.part_id}]}).status_code == 403


class TestBasketText:
    """A basket's body is written as JSON text (``representations.basket_text``) when plain JSON is asked for:
    byte for byte what DRF's renderer makes of ``basket_json``'s dicts, which a media type with parameters
    (``indent``) still gets."""

    @staticmethod
    def _world(store, dealer):
        """Parts that take every branch of a line: discount by group and by brand, JPY and KWD, a fractional
        tax rate and unit of measure, a chain, a cycle, alternatives stocked or not, vehicle references, and
        descriptions JSON must escape (quotes, a backslash, non-ASCII, U+2028)."""
        customer = CustomerFactory(dealer=dealer)
        CustomerDiscountFactory(customer=customer, brand_code="V", percent=Decimal("12.50"))
        CustomerDiscountFactory(customer=customer, brand_code="", discount_group="BR", percent=Decimal("3.00"))
        SurchargeFactory(dealer=dealer, order_type="VOR", percent=Decimal("5.00"), fixed_net=Decimal("1.10"))
        SurchargeFactory(dealer=dealer, order_type="EMG", percent=None, fixed_net=Decimal("7.00"))
        specs = [  # part_id, price, tax, currency, unit of sale, group, description, on hand (None: no stock row)
            ("VT1", "10.00", "19", "EUR", 1, "", "Filter", 5),
            ("VT2", "99.99", "19", "EUR", 1, "BR", 'Bremsbeläge "vorne" \\ links\u2028rechts', 0),
            ("VT3", "1234", "10", "JPY", 2, "", "Ölfilter 日本", 3),
            ("VT4", "1.2345", "7.5", "KWD", 1, "", "Tiny", None),
            ("VT5", "120.00", "19", "EUR", 1, "", "Old", 4),
            ("VT6", "130.00", "19", "EUR", 1, "", "New", 9),
            ("VT7", "5.55", "19", "EUR", 1, "", "Loop A", 2),
            ("VT8", "6.66", "19", "EUR", 1, "", "Loop B", 2),
        ]
        parts = {}
        for part_id, price, tax, currency, unit, group, text, on_hand in specs:
            parts[part_id] = PartFactory(
                dealer=dealer,
                part_id=part_id,
                list_net_price=Decimal(price),
                tax_rate=Decimal(tax),
                currency_code=currency,
                unit_of_sale=unit,
                discount_group=group,
                description=text,
            )
            if on_hand is not None:
                StockFactory(department=store, part=parts[part_id], on_hand=on_hand, reserved=min(on_hand, 1))
        parts["VT2"].mandatory_vehicle_references = ["VIN", "KEYNUMBER"]
        parts["VT2"].unit_of_measure, parts["VT2"].unit_of_measure_value = "LITRE", Decimal("0.500")
        parts["VT2"].save()
        for old, new in (("VT5", "VT6"), ("VT7", "VT8"), ("VT8", "VT7")):
            parts[old].superseded_by = parts[new]
            parts[old].save()
        parts["VT1"].alternatives.add(parts["VT2"], parts["VT4"])
        parts["VT6"].alternatives.add(parts["VT1"])
        return customer, parts

    def test_it_writes_the_bytes_the_renderer_writes(self, api, store, dealer):
        customer, parts = self._world(store, dealer)
        quantities = (1, 3, 3, 2, 1, 1, 4, 1)
        everything = [{"partId": part_id, "quantity": q} for part_id, q in zip(parts, quantities, strict=True)]
        baskets = [
            {"customerId": str(customer.uuid), "orderType": "VOR", "parts": [*everything, {"partId": "NOPE"}]},
            {"customerId": str(customer.uuid), "orderType": "EMG", "parts": everything[::-1]},
            {"customerId": str(customer.uuid), "orderType": "STK", "parts": everything},
            {"parts": everything},
            {"customerId": None, "orderType": None, "parts": [{"partId": "VT3", "quantity": 1}]},
        ]
        url = f"{base_url(store)}/price-availability"
        for body in baskets:
            text = api.post(url, body, format="json")
            rendered = api.post(url, body, format="json", HTTP_ACCEPT="application/json; indent=0")

            assert text.status_code == rendered.status_code == 200, text.content
            assert text["Content-Type"] == rendered["Content-Type"] == "application/json"
            assert text.content == rendered.content
        lines = {line["partId"]: line for line in text.json()["parts"]} | {
            line["partId"]: line for line in basket(api, store, baskets[0]).json()["parts"]
        }
        assert lines["VT2"]["part"]["description"] == 'Bremsbeläge "vorne" \\ links\u2028rechts'
        assert b"\\u2028" in api.post(url, baskets[0], format="json").content  # escaped as the renderer does
        assert lines["VT7"]["supersession"]["cycle"] is True
        assert lines["NOPE"]["availability"] == "NOT_FOUND"

    def test_an_indented_answer_is_still_the_renderers(self, api, store, dealer):
        customer, _ = self._world(store, dealer)
        body = {"customerId": str(customer.uuid), "parts": [{"partId": "VT1"}, {"partId": "VT5"}]}
        url = f"{base_url(store)}/price-availability"

        indented = api.post(url, body, format="json", HTTP_ACCEPT="application/json; indent=2")
        plain = api.post(url, body, format="json")

        assert indented.status_code == plain.status_code == 200
        assert b"\n  " in indented.content and b"\n" not in plain.content
        assert indented.json() == plain.json()
