"""Parts search, part details, and price & availability (seed 003), one part and a basket."""

from __future__ import annotations

import uuid
from decimal import Decimal

import factory
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.tests.factories import CustomerFactory
from tenancy.tests.factories import DepartmentFactory, client_for, partner_on

from .factories import CustomerDiscountFactory, PartFactory, StockFactory, SurchargeFactory, base_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def store(department):
    return department


@pytest.fixture
def dealer(store):
    return store.dealer


def pa(api, store, **query):
    return api.get(f"{base_url(store)}/price-availability", query)


def basket(api, store, body):
    return api.post(f"{base_url(store)}/price-availability", body, format="json")


class TestSearch:
    def test_it_finds_by_part_id_part_code_or_description_within_the_dealer(self, api, store, dealer):
        disc = PartFactory(dealer=dealer, part_id="VW1K0615301AC", part_code="1K0615301AC", description="Brake disc")
        pads = PartFactory(dealer=dealer, part_id="VW1K0698151", part_code="1K0698151", description="Brake pads")
        PartFactory(dealer=dealer, part_id="AUDI8W0959754", brand_code="AUDI", part_code="8W0959754", description="Key")
        PartFactory(part_id="VW1K0615301AD", description="Brake disc of another dealer")

        def found(**query):
            body = api.get(f"{base_url(store)}/parts", query).json()
            return [part["partId"] for part in body["results"]]

        assert found(search="VW1K06") == [disc.part_id, pads.part_id]
        assert found(search="1K0698") == [pads.part_id]
        assert found(search="brake") == [disc.part_id, pads.part_id]
        assert found(brandCode="AUDI") == ["AUDI8W0959754"]
        assert found(search="nothing-like-it") == []

    def test_a_result_is_a_summary_with_the_list_price(self, api, store, dealer):
        successor = PartFactory(dealer=dealer, part_id="VW2")
        PartFactory(dealer=dealer, part_id="VW1", part_code="1", description="Old", superseded_by=successor)

        (result,) = api.get(f"{base_url(store)}/parts", {"search": "VW1"}).json()["results"]

        assert result == {
            "partId": "VW1",
            "brandCode": "VW",
            "partCode": "1",
            "description": "Old",
            "unitOfSale": 1,
            "listPrice": {"netValue": 100, "grossValue": 120, "taxValue": 20, "taxRate": 20, "currencyCode": "EUR"},
            "supersededBy": "VW2",
        }

    def test_it_pages_with_a_cursor(self, api, store, dealer):
        PartFactory.create_batch(5, dealer=dealer)

        first = api.get(f"{base_url(store)}/parts", {"limit": 3}).json()
        second = api.get(first["next"]).json()

        assert len(first["results"]) == 3 and len(second["results"]) == 2
        assert second["next"] is None
        ids = [p["partId"] for p in first["results"] + second["results"]]
        assert ids == sorted(ids) and len(set(ids)) == 5

    def test_an_unknown_query_parameter_is_refused_not_ignored(self, api, store):
        response = api.get(f"{base_url(store)}/parts", {"brandcode": "VW"})

        assert response.status_code == 400
        (detail,) = response.json()["details"]
        assert detail["field"] == "brandcode"
        assert detail["issue"].startswith("unknown query parameter 'brandcode'")

    @pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "201"}, {"cursor": "garbage!"}])
    def test_bad_paging_answers_400(self, api, store, query):
        response = api.get(f"{base_url(store)}/parts", query)

        assert response.status_code == 400
        assert response.json()["details"][0]["field"] in ("limit", "cursor")


class TestDetails:
    def test_it_answers_the_parts_details_with_supersession_both_ways(self, api, store, dealer):
        newer = PartFactory(dealer=dealer, part_id="VW3", description="Newest")
        part = PartFactory(
            dealer=dealer,
            part_id="VW2",
            part_code="2",
            description="Brake disc",
            weight_kg=Decimal("7.250"),
            unit_of_sale=2,
            unit_of_measure="SET",
            superseded_by=newer,
            mandatory_vehicle_references=["VIN"],
            discount_group="BRK",
        )
        PartFactory(dealer=dealer, part_id="VW1", superseded_by=part)
        alternative = PartFactory(dealer=dealer, part_id="VW9")
        part.alternatives.add(alternative)

        response = api.get(f"{base_url(store)}/parts/VW2")

        assert response.status_code == 200
        body = response.json()
        assert body["partId"] == "VW2"
        assert body["description"] == "Brake disc"
        assert body["weight"] == {"value": 7.25, "unit": "KG"}
        assert body["unitOfMeasure"] == {"unit": "SET", "value": 1}
        assert body["unitOfSale"] == 2
        assert body["listPrice"]["netValue"] == 100
        assert body["discountGroup"] == "BRK"
        assert body["supersededBy"]["partId"] == "VW3"
        assert [p["partId"] for p in body["supersedes"]] == ["VW1"]
        assert [p["partId"] for p in body["alternatives"]] == ["VW9"]
        assert body["mandatoryVehicleReferences"] == ["VIN"]

    def test_an_unknown_or_another_dealers_part_answers_404(self, api, store):
        foreign = PartFactory()

        assert api.get(f"{base_url(store)}/parts/{foreign.part_id}").status_code == 404
        assert api.get(f"{base_url(store)}/parts/NOPE").status_code == 404


class TestPriceAvailability:
    def test_it_prices_one_part_for_the_customer(self, api, store, dealer):
        part = PartFactory(dealer=dealer, list_net_price=Decimal("19.99"), tax_rate=Decimal("19"))
        StockFactory(department=store, part=part, on_hand=7, reserved=2)
        customer = CustomerFactory(dealer=dealer)
        CustomerDiscountFactory(customer=customer, brand_code="VW", percent=Decimal("15"))

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


class TestBasket:
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

    def test_every_unknown_part_is_named(self, api, store, dealer):
        part = PartFactory(dealer=dealer)

        response = basket(
            api, store, {"parts": [{"partId": "X1"}, {"partId": part.part_id}, {"partId": "X2", "quantity": 1}]}
        )

        assert response.status_code == 400
        assert [(d["field"], d["value"]) for d in response.json()["details"]] == [
            ("parts[0].partId", "X1"),
            ("parts[2].partId", "X2"),
        ]

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


# the grant; the customer with its discounts; the parts with their chains, stock and surcharge; the alternatives
BASKET_QUERIES = 4


class TestScopesAndTenancy:
    def test_price_availability_needs_parts_read(self, store, dealer):
        part = PartFactory(dealer=dealer)
        client = client_for(partner_on(store, ["parts.order"]))

        assert pa(client, store, partId=part.part_id).status_code == 403
        assert basket(client, store, {"parts": [{"partId": part.part_id}]}).status_code == 403

    def test_another_dealers_store_answers_404(self, api, store):
        foreign = DepartmentFactory()

        response = api.get(f"{base_url(foreign)}/parts", HTTP_X_CORRELATION_ID="cid-1")
        missing = api.get(f"/parts-api/{uuid.uuid4()}/{uuid.uuid4()}/v1/parts", HTTP_X_CORRELATION_ID="cid-1")

        assert response.status_code == 404
        assert response.content == missing.content
