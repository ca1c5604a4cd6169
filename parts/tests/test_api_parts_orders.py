"""Parts orders (seed 002): placing, reading, listing, errors, tenancy, scopes, idempotency, query counts."""

from __future__ import annotations

import copy
import json
import re
import uuid
from decimal import Decimal
from types import SimpleNamespace

import factory
import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.tests.factories import CustomerFactory
from orma.idempotency import fingerprint
from orma.models import IdempotencyRecord
from parts.models import PartsOrder, PartsOrderLine, Stock
from tenancy.tests.factories import DepartmentFactory, GrantFactory, PartnerFactory, partner_on
from tests.clients import client_for, comparable_headers

from .factories import (
    CustomerDiscountFactory,
    PartFactory,
    StockFactory,
    SurchargeFactory,
    base_url,
    place,
    seed_002_world,
)

pytestmark = pytest.mark.django_db

CID = "parts-order-test"
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


@pytest.fixture
def world(store):
    return seed_002_world(store)


def orders_url(store) -> str:
    return f"{base_url(store)}/parts-orders"


def post_order(api, store, body, **headers):
    return api.post(orders_url(store), body, format="json", **headers)


def is_uuid(text) -> bool:
    try:
        uuid.UUID(text)
    except (TypeError, ValueError):
        return False
    return True


SAMPLE_PRICE = {"netValue": 100, "grossValue": 120, "taxValue": 20, "taxRate": 20, "currencyCode": "EUR"}


class TestPlaceSeed002Sample:
    def test_it_answers_201_with_seed_002s_body_field_by_field(self, api, store, world):
        response = post_order(api, store, world["body"])

        assert response.status_code == 201, response.content
        body = response.json()
        assert set(body) == {
            "partsOrderId",
            "partsOrderDateTime",
            "orderStatus",
            "customer",
            "company",
            "orderContact",
            "deliveryAddress",
            "orderType",
            "orderReference",
            "parts",
            "dms",  # OrMa's addition to seed 002: where the order stands with the DMS
        }
        assert body["dms"]["status"] == "SYNCED" and body["dms"]["errors"] == []
        assert isinstance(body["partsOrderId"], int) and body["partsOrderId"] > 0  # seed 002: a number
        assert TIMESTAMP.match(body["partsOrderDateTime"])
        assert body["orderStatus"] == "CONFIRMED"
        assert body["customer"] == {
            "customerId": "123e4569-e89b-12e3-a452-426655440001",
            "familyName": "OrderPerson",
            "givenName": "Ollie",
            "titleCommon": "Mr.",
        }
        assert body["company"] == {"companyId": str(world["company"].uuid), "name": "Company Ltd."}
        assert body["orderContact"] == {
            "name": "Cate ContactPerson",
            "phone": "123-4567890",
            "email": "cate.contactperson@company.com",
            "companyName": "Company Ltd.",
        }
        # postalCode is answered as a string: postal codes are not numbers ("SW1A 1AA").
        assert body["deliveryAddress"] == {
            "streetName": "Narrow street",
            "postalCode": "123456",
            "city": "Smalltown",
            "countryCode": "GB",
        }
        assert body["orderType"] == "VOR"
        assert body["orderReference"] == "Parts for Golf XN06 TTY"
        assert isinstance(body["parts"], list) and len(body["parts"]) == 1
        (line,) = body["parts"]
        assert is_uuid(line["orderLineId"])
        assert line["partId"] == "S7654321"
        assert line["supersededPartId"] is None
        assert line["quantity"] == 10
        assert line["unitOfMeasure"] == {"unit": "PIECE", "value": 1}
        assert line["unitOfSale"] == 1
        assert line["partsOrderLineStatus"] == "RESERVED"
        assert line["mandatoryVehicleReference"] == {"type": "KEYNUMBER", "value": "AO339223X/2926"}
        assert line["mandatoryVehicleReferences"] == [{"type": "KEYNUMBER", "value": "AO339223X/2926"}]
        assert line["listPrice"] == SAMPLE_PRICE
        assert line["orderPrice"] == SAMPLE_PRICE
        assert line["surcharge"] is None
        assert line["totalPrice"] == {
            "netValue": 1000,
            "grossValue": 1200,
            "taxValue": 200,
            "taxRate": 20,
            "currencyCode": "EUR",
        }
        assert response["Location"].endswith(f"/parts-orders/{body['partsOrderId']}")

    def test_it_stores_the_order_and_reserves_the_stock(self, api, store, world):
        body = post_order(api, store, world["body"]).json()

        parts_order = PartsOrder.objects.get(number=body["partsOrderId"])
        assert parts_order.department == store
        assert parts_order.customer == world["customer"]
        assert parts_order.dms_status == "SYNCED"
        assert Stock.objects.get(pk=world["stock"].pk).reserved == 10
        line = parts_order.lines.get()
        assert (line.status, line.reserved_quantity, line.list_net_price) == ("RESERVED", 10, Decimal("100"))

    def test_it_answers_202_with_only_the_id_when_the_dms_is_asynchronous(self, api, store, world):
        store.dealer.dms_mode = "async"
        store.dealer.save()

        response = post_order(api, store, world["body"])

        assert response.status_code == 202
        body = response.json()
        assert set(body) == {"partsOrderId"}
        parts_order = PartsOrder.objects.get(number=body["partsOrderId"])
        assert parts_order.dms_status == "PENDING"
        assert Stock.objects.get(pk=world["stock"].pk).reserved == 10
        read = api.get(f"{orders_url(store)}/{body['partsOrderId']}")
        assert read.status_code == 200
        assert read.json()["orderStatus"] == "CONFIRMED"

    def test_the_read_answers_the_same_body_as_the_201(self, api, store, world):
        created = post_order(api, store, world["body"]).json()

        read = api.get(f"{orders_url(store)}/{created['partsOrderId']}")

        assert read.status_code == 200
        assert read.json() == created


class TestSeed002Identifiers:
    """A client generated from seed 002's sample: partsOrderId a number, brandCode the short code."""

    def test_the_parts_order_id_is_a_number_that_reads_the_order(self, api, store, world):
        first = post_order(api, store, world["body"]).json()
        second = post_order(api, store, world["body"]).json()

        assert isinstance(first["partsOrderId"], int) and second["partsOrderId"] > first["partsOrderId"]
        read = api.get(f"{orders_url(store)}/{second['partsOrderId']}")
        assert read.status_code == 200 and read.json()["partsOrderId"] == second["partsOrderId"]
        assert PartsOrder.objects.get(number=first["partsOrderId"]).lines.count() == 1

    def test_another_tenants_number_answers_404_like_a_missing_one(self, api, store, world):
        theirs_store = DepartmentFactory()
        their_stock = StockFactory(department=theirs_store, part=PartFactory(dealer=theirs_store.dealer))
        their_customer = CustomerFactory(dealer=theirs_store.dealer)
        their_number = place(
            client_for(partner_on(theirs_store)), theirs_store, their_customer, (their_stock.part, 1)
        ).number

        foreign = api.get(f"{orders_url(store)}/{their_number}", HTTP_X_CORRELATION_ID=CID)
        missing = api.get(f"{orders_url(store)}/{their_number + 1000}", HTTP_X_CORRELATION_ID=CID)

        assert foreign.status_code == missing.status_code == 404
        assert foreign.json() == missing.json()

    @pytest.mark.parametrize("spelled", ["abc", "0", "-1", "1.0", "99999999999999999999", "１２"])
    def test_what_is_no_parts_order_number_answers_404(self, api, store, spelled):
        assert api.get(f"{orders_url(store)}/{spelled}").status_code == 404

    @pytest.mark.parametrize("brand_code", ["S", "SKODA", "skoda"])
    def test_a_line_may_name_the_brand_by_its_short_code_or_its_long_name(self, api, store, world, brand_code):
        world["body"]["parts"][0]["part"] = {"brandCode": brand_code, "partCode": "7654321"}

        response = post_order(api, store, world["body"])

        assert response.status_code == 201, response.content
        assert response.json()["parts"][0]["partId"] == "S7654321"

    def test_the_catalogue_answers_the_short_brand_code(self, api, store, world):
        (part,) = api.get(f"{base_url(store)}/parts", {"brandCode": "SKODA"}).json()["results"]

        assert (part["partId"], part["brandCode"], part["partCode"]) == ("S7654321", "S", "7654321")


def details_of(response) -> dict[str, str]:
    return {detail["field"]: detail["issue"] for detail in response.json()["details"]}


class TestStrictBody:
    """Seed 002's body has no warnings channel: an unknown field is refused, never silently dropped."""

    def test_a_typo_in_the_delivery_address_is_refused_and_nothing_is_stored(self, api, store, world):
        body = world["body"]
        body["alternateDeliveryAdress"] = body.pop("alternateDeliveryAddress") | {"city": "Berlin"}

        response = post_order(api, store, body)

        assert response.status_code == 400
        assert details_of(response) == {
            "alternateDeliveryAdress": "alternateDeliveryAdress: is not a field of this request; "
            "did you mean alternateDeliveryAddress?"
        }
        assert PartsOrder.objects.count() == 0
        assert Stock.objects.get(pk=world["stock"].pk).reserved == 0

    def test_unknown_fields_are_named_at_every_depth(self, api, store, world):
        body = world["body"]
        body["alternateDeliveryAddress"]["streetNam"] = "Narrow street"
        body["orderContact"]["fax"] = "0"
        body["parts"][0]["qty"] = 1
        body["parts"][0]["part"]["partNumber"] = "S7654321"
        body["parts"][0]["mandatoryVehicleReferences"][0]["kind"] = "KEYNUMBER"

        response = post_order(api, store, body)

        assert response.status_code == 400
        assert set(details_of(response)) == {
            "alternateDeliveryAddress.streetNam",
            "orderContact.fax",
            "parts[0].qty",
            "parts[0].part.partNumber",
            "parts[0].mandatoryVehicleReferences[0].kind",
        }
        assert PartsOrder.objects.count() == 0

    def test_the_basket_refuses_unknown_fields_too(self, api, store, world):
        response = api.post(
            f"{base_url(store)}/price-availability",
            {"customerID": str(world["customer"].uuid), "parts": [{"partId": "S7654321", "quantiy": 2}]},
            format="json",
        )

        assert response.status_code == 400
        assert details_of(response) == {
            "customerID": "customerID: is not a field of this request; did you mean customerId?",
            "parts[0].quantiy": "parts[0].quantiy: is not a field of this request; did you mean quantity?",
        }


class TestEveryProblemAtOnce:
    def test_seed_002s_literal_body_gets_every_problem_in_one_answer(self, api, store):
        from .factories import SEED_002_REQUEST

        # In a dealer that knows none of it: the companyId is no UUID ("f23y", the seed's typo), the
        # customer and the part are unknown. Before, only companyId was answered; the rest after fixing it.
        response = post_order(api, store, copy.deepcopy(SEED_002_REQUEST))

        assert response.status_code == 400
        details = details_of(response)
        assert set(details) == {"companyId", "customerId", "parts[0].part.partId"}
        assert "valid UUID" in details["companyId"]
        assert "not a customer of this dealer" in details["customerId"]
        assert "not in this dealer's catalogue" in details["parts[0].part.partId"]

    def test_a_bad_line_does_not_hide_the_rules_problems_of_the_good_ones(self, api, store, world):
        body = world["body"]
        body["orderType"] = "URGENT"
        body["parts"][0]["quantity"] = 7  # fine in shape: the rules judge it
        body["parts"][0]["mandatoryVehicleReferences"] = []
        body["parts"].append({"part": {"partId": "S7654321"}, "quantity": "many"})
        world["part"].unit_of_sale = 5
        world["part"].save()

        response = post_order(api, store, body)

        assert response.status_code == 400
        assert set(details_of(response)) == {
            "orderType",
            "parts[1].quantity",
            "parts[0].quantity",  # not a multiple of the unit of sale
            "parts[0].mandatoryVehicleReferences",  # KEYNUMBER is mandatory for S7654321
        }
        assert PartsOrder.objects.count() == 0


class TestPlaceRules:
    def test_a_line_short_of_stock_is_split_into_what_is_on_hand_reserved_and_the_rest_back_ordered(
        self, api, store, world
    ):
        world["body"]["parts"][0]["quantity"] = 30  # 25 on hand

        body = post_order(api, store, world["body"]).json()

        assert body["orderStatus"] == "INPROGRESS"
        assert [(line["partsOrderLineStatus"], line["quantity"]) for line in body["parts"]] == [
            ("RESERVED", 25),
            ("BACKORDER", 5),
        ]
        assert {line["partId"] for line in body["parts"]} == {"S7654321"}
        assert all(line["mandatoryVehicleReferences"] for line in body["parts"])
        assert body["parts"][0]["orderLineId"] != body["parts"][1]["orderLineId"]
        assert Stock.objects.get(pk=world["stock"].pk).reserved == 25
        stored = PartsOrder.objects.get(number=body["partsOrderId"]).lines.order_by("position")
        assert [(line.status, line.quantity, line.reserved_quantity) for line in stored] == [
            ("RESERVED", 25, 25),
            ("BACKORDER", 5, 0),
        ]

    def test_10_requested_against_4_on_hand_reserve_4_and_back_order_6(self, api, store, world):
        Stock.objects.filter(pk=world["stock"].pk).update(on_hand=4)

        body = post_order(api, store, world["body"]).json()  # seed 002's sample: 10 of S7654321

        assert [(line["partsOrderLineStatus"], line["quantity"]) for line in body["parts"]] == [
            ("RESERVED", 4),
            ("BACKORDER", 6),
        ]
        total = sum(line["totalPrice"]["netValue"] for line in body["parts"])
        assert total == 1000  # the split lines cost what the whole line costs

    def test_a_split_reserves_whole_units_of_sale(self, api, store, world):
        part = world["part"]
        part.unit_of_sale = 5
        part.save()
        Stock.objects.filter(pk=world["stock"].pk).update(on_hand=7)

        body = post_order(api, store, world["body"]).json()

        assert [(line["partsOrderLineStatus"], line["quantity"]) for line in body["parts"]] == [
            ("RESERVED", 5),
            ("BACKORDER", 5),
        ]

    def test_a_line_the_store_has_none_of_is_back_ordered_whole(self, api, store, world):
        Stock.objects.filter(pk=world["stock"].pk).update(on_hand=0)

        body = post_order(api, store, world["body"]).json()

        assert [(line["partsOrderLineStatus"], line["quantity"]) for line in body["parts"]] == [("BACKORDER", 10)]

    def test_a_part_without_stock_in_the_store_is_back_ordered(self, api, store, world):
        other = PartFactory(dealer=store.dealer)
        world["body"]["parts"].append({"part": {"partId": other.part_id}, "quantity": 1})

        body = post_order(api, store, world["body"]).json()

        assert [line["partsOrderLineStatus"] for line in body["parts"]] == ["RESERVED", "BACKORDER"]
        assert body["orderStatus"] == "INPROGRESS"

    def test_two_lines_of_one_part_reserve_while_stock_lasts(self, api, store, world):
        line = world["body"]["parts"][0]
        world["body"]["parts"] = [line, copy.deepcopy(line), copy.deepcopy(line)]  # 3 × 10 against 25

        body = post_order(api, store, world["body"]).json()

        assert [(line["partsOrderLineStatus"], line["quantity"]) for line in body["parts"]] == [
            ("RESERVED", 10),
            ("RESERVED", 10),
            ("RESERVED", 5),
            ("BACKORDER", 5),
        ]
        assert Stock.objects.get(pk=world["stock"].pk).reserved == 25

    def test_a_superseded_part_is_replaced_by_its_final_successor_and_reported(self, api, store, world):
        final = PartFactory(dealer=store.dealer, part_id="S7654323", list_net_price=Decimal("80"))
        middle = PartFactory(dealer=store.dealer, part_id="S7654322", superseded_by=final)
        world["part"].superseded_by = middle
        world["part"].save()
        StockFactory(department=store, part=final, on_hand=10)
        world["body"]["parts"][0]["part"] = {"partId": "S7654321"}
        world["body"]["parts"][0]["mandatoryVehicleReferences"] = []

        body = post_order(api, store, world["body"]).json()

        (line,) = body["parts"]
        assert line["partId"] == "S7654323"
        assert line["supersededPartId"] == "S7654321"
        assert line["listPrice"]["netValue"] == 80
        assert line["partsOrderLineStatus"] == "RESERVED"

    def test_prices_are_the_customers_with_discount_and_surcharge(self, api, store, world):
        CustomerDiscountFactory(customer=world["customer"], brand_code="S", percent=Decimal("12.5"))
        SurchargeFactory(dealer=store.dealer, order_type="VOR", percent=Decimal("5"), fixed_net=Decimal("2.50"))

        (line,) = post_order(api, store, world["body"]).json()["parts"]

        assert line["listPrice"]["netValue"] == 100
        assert line["orderPrice"] == {
            "netValue": 87.5,
            "grossValue": 105,
            "taxValue": 17.5,
            "taxRate": 20,
            "currencyCode": "EUR",
        }
        # 5 % of 875.00 = 43.75, + 2.50 = 46.25; tax 9.25
        assert line["surcharge"] == {
            "netValue": 46.25,
            "grossValue": 55.5,
            "taxValue": 9.25,
            "taxRate": 20,
            "currencyCode": "EUR",
        }
        assert line["totalPrice"]["netValue"] == 921.25
        assert line["totalPrice"]["grossValue"] == 1105.5

    def test_prices_stay_those_at_order_time(self, api, store, world):
        created = post_order(api, store, world["body"]).json()
        world["part"].list_net_price = Decimal("150")
        world["part"].save()

        read = api.get(f"{orders_url(store)}/{created['partsOrderId']}").json()

        assert read["parts"][0]["listPrice"]["netValue"] == 100

    def test_without_alternate_address_it_delivers_to_the_invoice_address(self, api, store, world):
        del world["body"]["alternateDeliveryAddress"]
        customer = world["customer"]

        body = post_order(api, store, world["body"]).json()

        assert body["deliveryAddress"] == {
            "streetName": customer.street_name,
            "postalCode": customer.postal_code,
            "city": customer.city,
            "countryCode": customer.country_code,
        }

    def test_a_part_may_be_named_by_brand_and_part_code(self, api, store, world):
        world["body"]["parts"][0]["part"] = {"brandCode": "S", "partCode": "7654321"}

        response = post_order(api, store, world["body"])

        assert response.status_code == 201
        assert response.json()["parts"][0]["partId"] == "S7654321"


def details(response) -> list[dict]:
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == {"correlationId", "message", "details", "links"}
    assert body["links"] == []
    return body["details"]


class TestPlaceErrors:
    """Each bad field answers 400 with exactly its details entry, and nothing is written."""

    @pytest.fixture(autouse=True)
    def _nothing_written(self, world):
        yield
        assert PartsOrder.objects.count() == 0
        assert Stock.objects.get(pk=world["stock"].pk).reserved == 0

    def test_unknown_customer(self, api, store, world):
        unknown = str(uuid.uuid4())
        world["body"]["customerId"] = unknown

        (detail,) = details(post_order(api, store, world["body"]))

        assert detail["field"] == "customerId"
        assert detail["value"] == unknown
        assert "not a customer of this dealer" in detail["issue"]

    def test_a_customer_of_another_dealer_is_unknown(self, api, store, world):
        foreign = CustomerFactory()
        world["body"]["customerId"] = str(foreign.uuid)

        (detail,) = details(post_order(api, store, world["body"]))

        assert (detail["field"], detail["value"]) == ("customerId", str(foreign.uuid))

    def test_unknown_company(self, api, store, world):
        unknown = str(uuid.uuid4())
        world["body"]["companyId"] = unknown

        (detail,) = details(post_order(api, store, world["body"]))

        assert (detail["field"], detail["value"]) == ("companyId", unknown)

    def test_unknown_part(self, api, store, world):
        world["body"]["parts"][0]["part"] = {"partId": "S0000000"}

        (detail,) = details(post_order(api, store, world["body"]))

        assert detail == {
            "field": "parts[0].part.partId",
            "value": "S0000000",
            "issue": "part S0000000 is not in this dealer's catalogue",
        }

    def test_quantity_not_a_multiple_of_the_unit_of_sale(self, api, store, world):
        world["part"].unit_of_sale = 4
        world["part"].save()

        (detail,) = details(post_order(api, store, world["body"]))

        assert detail == {
            "field": "parts[0].quantity",
            "value": "10",
            "issue": "quantity 10 is not a multiple of the unit of sale 4",
        }

    @pytest.mark.parametrize("quantity", [0, -3])
    def test_quantity_not_positive(self, api, store, world, quantity):
        world["body"]["parts"][0]["quantity"] = quantity

        (detail,) = details(post_order(api, store, world["body"]))

        assert (detail["field"], detail["value"]) == ("parts[0].quantity", str(quantity))
        assert "greater than or equal to 1" in detail["issue"]

    @pytest.mark.parametrize("references", [None, [], [{"type": "VIN", "value": "WVWZZZ1KZAW000001"}]])
    def test_missing_mandatory_vehicle_reference(self, api, store, world, references):
        if references is None:
            del world["body"]["parts"][0]["mandatoryVehicleReferences"]
        else:
            world["body"]["parts"][0]["mandatoryVehicleReferences"] = references

        (detail,) = details(post_order(api, store, world["body"]))

        assert detail == {
            "field": "parts[0].mandatoryVehicleReferences",
            "value": "KEYNUMBER",
            "issue": "a KEYNUMBER vehicle reference is mandatory for part S7654321",
        }

    @pytest.mark.parametrize("reference", [None, "", "   "])
    def test_missing_order_reference_when_the_dealer_requires_it(self, api, store, world, reference):
        store.dealer.parts_order_reference_required = True
        store.dealer.save()
        if reference is None:
            del world["body"]["orderReference"]
        else:
            world["body"]["orderReference"] = reference

        (detail,) = details(post_order(api, store, world["body"]))

        assert detail == {"field": "orderReference", "value": "", "issue": "orderReference is required by this dealer"}

    def test_bad_order_type(self, api, store, world):
        world["body"]["orderType"] = "XYZ"

        (detail,) = details(post_order(api, store, world["body"]))

        assert detail == {
            "field": "orderType",
            "value": "XYZ",
            "issue": "orderType: The value 'XYZ' is not valid; use one of EMG, VOR, STK, DPO, COL.",
        }

    def test_malformed_json(self, api, store, world):
        response = api.post(orders_url(store), b'{"customerId": ', content_type="application/json")

        (detail,) = details(response)

        assert detail == {"field": "", "value": "", "issue": "The request body is not valid JSON."}
        assert response.json()["message"] == "The request body is not valid JSON."

    @pytest.mark.parametrize("body", [[], "text", 7])
    def test_a_body_that_is_not_an_object(self, api, store, world, body):
        (detail,) = details(post_order(api, store, body))

        assert detail["issue"] == "The request body must be a JSON object."

    def test_every_problem_is_reported_at_once(self, api, store, world):
        store.dealer.parts_order_reference_required = True
        store.dealer.save()
        body = world["body"]
        body["customerId"] = str(uuid.uuid4())
        del body["orderReference"]
        body["parts"].append({"part": {"partId": "S0000000"}, "quantity": 1})
        body["parts"][0]["mandatoryVehicleReferences"] = []

        fields = [detail["field"] for detail in details(post_order(api, store, body))]

        assert fields == ["customerId", "orderReference", "parts[0].mandatoryVehicleReferences", "parts[1].part.partId"]

    def test_shape_errors_name_their_paths(self, api, store, world):
        body = world["body"]
        body["customerId"] = "not-a-uuid"
        body["parts"][0]["quantity"] = "ten"
        body["alternateDeliveryAddress"]["countryCode"] = "GBR"

        found = {(d["field"], d["value"]) for d in details(post_order(api, store, body))}

        assert found == {
            ("customerId", "not-a-uuid"),
            ("parts[0].quantity", "ten"),
            ("alternateDeliveryAddress.countryCode", "GBR"),
        }

    def test_a_supersession_cycle_is_reported_never_followed(self, api, store, world):
        other = PartFactory(dealer=store.dealer, part_id="S7654399", superseded_by=world["part"])
        world["part"].superseded_by = other
        world["part"].save()

        (detail,) = details(post_order(api, store, world["body"]))

        assert detail["field"] == "parts[0].part.partId"
        assert "loops (S7654321 → S7654399 → S7654321)" in detail["issue"]


class TestReadAndList:
    def test_404_for_an_unknown_order_and_another_dealers_store_is_byte_identical(self, api, store, world):
        foreign_store = DepartmentFactory()
        unknown = uuid.uuid4()

        unknown_order = api.get(f"{orders_url(store)}/{unknown}", HTTP_X_CORRELATION_ID=CID)
        foreign = api.get(f"{orders_url(foreign_store)}/{unknown}", HTTP_X_CORRELATION_ID=CID)

        assert unknown_order.status_code == foreign.status_code == 404
        assert unknown_order.content == foreign.content
        assert comparable_headers(unknown_order) == comparable_headers(foreign)
        assert json.loads(unknown_order.content) == {
            "correlationId": CID,
            "message": "The requested resource was not found.",
            "details": [{"field": "", "value": "", "issue": "The requested resource was not found."}],
            "links": [],
        }

    def test_a_malformed_order_id_answers_the_same_404(self, api, store, world):
        malformed = api.get(f"{orders_url(store)}/123445677", HTTP_X_CORRELATION_ID=CID)
        unknown = api.get(f"{orders_url(store)}/{uuid.uuid4()}", HTTP_X_CORRELATION_ID=CID)

        assert malformed.status_code == 404
        assert malformed.content == unknown.content

    def test_another_stores_order_answers_404(self, api, store, world):
        other_store = DepartmentFactory()
        other_world = seed_002_world_elsewhere(other_store)
        created = post_order(client_for(partner_on(other_store)), other_store, other_world["body"]).json()

        mine = api.get(f"{orders_url(store)}/{created['partsOrderId']}", HTTP_X_CORRELATION_ID=CID)
        unknown = api.get(f"{orders_url(store)}/{uuid.uuid4()}", HTTP_X_CORRELATION_ID=CID)

        assert mine.status_code == 404
        assert mine.content == unknown.content

    def test_a_store_under_another_dealers_enterprise_id_answers_404(self, api, store, world):
        partner = PartnerFactory()
        other_store = DepartmentFactory()
        GrantFactory(partner=partner, department=store)
        GrantFactory(partner=partner, department=other_store)
        client = client_for(partner)
        mixed = f"/parts-api/{other_store.dealer.uuid}/{store.uuid}/v1/parts-orders"

        mismatched = client.post(mixed, world["body"], format="json", HTTP_X_CORRELATION_ID=CID)
        missing = client.post(
            f"/parts-api/{uuid.uuid4()}/{uuid.uuid4()}/v1/parts-orders",
            world["body"],
            format="json",
            HTTP_X_CORRELATION_ID=CID,
        )

        assert mismatched.status_code == missing.status_code == 404
        assert mismatched.content == missing.content
        assert PartsOrder.objects.count() == 0

    def test_the_list_filters_by_customer_and_status_and_pages(self, api, store, world):
        world["body"]["parts"][0]["quantity"] = 5  # 3 × 5 of 25 on hand: all CONFIRMED
        for _ in range(3):
            assert post_order(api, store, world["body"]).status_code == 201
        other_customer = CustomerFactory(dealer=store.dealer)
        body = copy.deepcopy(world["body"])
        body["customerId"] = str(other_customer.uuid)
        body["parts"][0]["quantity"] = 100  # back-ordered: INPROGRESS
        assert post_order(api, store, body).status_code == 201

        everything = api.get(orders_url(store)).json()
        by_customer = api.get(orders_url(store), {"customerId": str(other_customer.uuid)}).json()
        confirmed = api.get(orders_url(store), {"orderStatus": "CONFIRMED"}).json()
        first = api.get(orders_url(store), {"limit": 2}).json()
        second = api.get(first["next"]).json()

        assert len(everything["results"]) == 4 and everything["next"] is None
        assert [o["customer"]["customerId"] for o in by_customer["results"]] == [str(other_customer.uuid)]
        assert {o["orderStatus"] for o in confirmed["results"]} == {"CONFIRMED"}
        assert len(confirmed["results"]) == 3
        ids = [o["partsOrderId"] for o in first["results"] + second["results"]]
        assert ids == [o["partsOrderId"] for o in everything["results"]]

    @pytest.mark.parametrize(
        "query, field", [({"orderStatus": "DONE"}, "orderStatus"), ({"customerId": "x"}, "customerId")]
    )
    def test_bad_list_filters_answer_400(self, api, store, query, field):
        response = api.get(orders_url(store), query)

        assert [d["field"] for d in details(response)] == [field]


def seed_002_world_elsewhere(store):
    """An orderable part and a customer in another dealer (the sample's customer UUID is taken)."""
    customer = CustomerFactory(dealer=store.dealer)
    part = PartFactory(dealer=store.dealer, part_id="S7654321", brand_code="S", part_code="7654321")
    StockFactory(department=store, part=part, on_hand=25)
    return {
        "body": {
            "customerId": str(customer.uuid),
            "orderType": "STK",
            "parts": [{"part": {"partId": "S7654321"}, "quantity": 1}],
        }
    }


def test_both_bad_list_filters_are_answered_at_once(api, store):
    response = api.get(orders_url(store), {"customerId": "x", "orderStatus": "DONE"})

    assert details(response) == [
        {"field": "customerId", "value": "x", "issue": "customerId must be a UUID"},
        {
            "field": "orderStatus",
            "value": "DONE",
            "issue": "The value 'DONE' is not valid; use one of CREATED, CONFIRMED, INPROGRESS, SHIPPED, CLOSED.",
        },
    ]


class TestScopes:
    def test_parts_read_cannot_place_an_order(self, store, world):
        client = client_for(partner_on(store, ["parts.read"]))

        refused = post_order(client, store, world["body"])

        assert refused.status_code == 403
        assert refused.json()["message"] == (
            f"The partner lacks the scope parts.order on department {store.uuid}; ask the dealer for a grant with it."
        )
        assert PartsOrder.objects.count() == 0

    def test_parts_order_alone_cannot_read(self, api, store, world):
        created = post_order(api, store, world["body"]).json()
        client = client_for(partner_on(store, ["parts.order"]))

        assert post_order(client, store, world["body"]).status_code == 201
        for path in (f"/parts-orders/{created['partsOrderId']}", "/parts-orders", "/parts", "/price-availability"):
            assert client.get(f"{base_url(store)}{path}").status_code == 403, path

    def test_without_credentials_it_answers_401(self, anon, store):
        response = anon.get(orders_url(store))

        assert response.status_code == 401
        assert response["WWW-Authenticate"] == 'Basic realm="OrMa"'


class TestIdempotency:
    def test_a_replay_answers_the_same_status_and_body_and_places_one_order(self, api, store, world):
        first = post_order(api, store, world["body"], HTTP_IDEMPOTENCY_KEY="order-1")
        replay = post_order(api, store, world["body"], HTTP_IDEMPOTENCY_KEY="order-1")

        assert first.status_code == replay.status_code == 201
        assert replay.json() == first.json()
        assert replay["Location"] == first["Location"]
        assert replay["Idempotent-Replayed"] == "true"
        assert PartsOrder.objects.count() == 1
        assert Stock.objects.get(pk=world["stock"].pk).reserved == 10

    def test_a_replay_of_a_202_answers_202(self, api, store, world):
        store.dealer.dms_mode = "async"
        store.dealer.save()

        first = post_order(api, store, world["body"], HTTP_IDEMPOTENCY_KEY="order-2")
        replay = post_order(api, store, world["body"], HTTP_IDEMPOTENCY_KEY="order-2")

        assert first.status_code == replay.status_code == 202
        assert replay.json() == first.json()
        assert PartsOrder.objects.count() == 1

    def test_another_body_with_the_same_key_answers_422(self, api, store, world):
        assert post_order(api, store, world["body"], HTTP_IDEMPOTENCY_KEY="order-3").status_code == 201
        world["body"]["parts"][0]["quantity"] = 5

        refused = post_order(api, store, world["body"], HTTP_IDEMPOTENCY_KEY="order-3")

        assert refused.status_code == 422
        assert set(refused.json()) == {"correlationId", "message", "details", "links"}
        assert PartsOrder.objects.count() == 1

    def test_the_same_key_still_in_flight_answers_409(self, api, partner, store, world):
        raw = json.dumps(world["body"]).encode()
        in_flight = SimpleNamespace(
            method="POST", get_full_path=lambda: orders_url(store), _request=SimpleNamespace(body=raw)
        )
        IdempotencyRecord.objects.create(partner=partner, key="order-4", fingerprint=fingerprint(in_flight))

        refused = api.post(orders_url(store), raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY="order-4")

        assert refused.status_code == 409
        assert "still being processed" in refused.json()["message"]
        assert PartsOrder.objects.count() == 0

    def test_a_rejected_order_replays_its_400(self, api, store, world):
        world["body"]["orderType"] = "XYZ"

        first = post_order(api, store, world["body"], HTTP_IDEMPOTENCY_KEY="order-5")
        replay = post_order(api, store, world["body"], HTTP_IDEMPOTENCY_KEY="order-5")

        assert first.status_code == replay.status_code == 400
        assert replay.json()["details"] == first.json()["details"]


class TestQueryCounts:
    def order_with(self, store, customer, count):
        parts = PartFactory.create_batch(count, dealer=store.dealer)
        StockFactory.create_batch(count, department=store, part=factory.Iterator(parts, cycle=False), on_hand=5)
        return {
            "customerId": str(customer.uuid),
            "orderType": "STK",
            "parts": [{"part": {"partId": part.part_id}, "quantity": 2} for part in parts],
        }

    def test_placing_an_order_runs_the_same_queries_for_1_10_and_50_lines(
        self, api, store, django_assert_max_num_queries
    ):
        customer = CustomerFactory(dealer=store.dealer)
        CustomerDiscountFactory(customer=customer)
        SurchargeFactory(dealer=store.dealer, order_type="STK")
        warm, *bodies = [self.order_with(store, customer, count) for count in (1, 1, 10, 50)]
        # credentials cached, as in steady state (and on Redis the store's webhook subscribers held by the process)
        assert post_order(api, store, warm).status_code == 201

        counts = []
        for body in bodies:
            with django_assert_max_num_queries(PLACE_ORDER_QUERIES), CaptureQueriesContext(connection) as queries:
                response = post_order(api, store, body)
            assert response.status_code == 201, response.content
            assert {line["partsOrderLineStatus"] for line in response.json()["parts"]} == {"RESERVED"}
            counts.append(len(queries))

        assert counts[0] == counts[1] == counts[2]
        assert PartsOrderLine.objects.count() == 62


# customers with discounts, parts with chains + stock + surcharge, savepoint, the stock (PostgreSQL,
# parts.sql: locked, read and reserved in one statement; elsewhere a lock and an update), the order with its
# lines and history (PostgreSQL: one statement; elsewhere three INSERTs), release savepoint, the sandbox DMS's
# update, the DMS push row (the outbox: the worker polls the order's lines from then on), the webhook
# subscribers of parts_order.created (notifications: one query when there are none, none on Redis, where the
# process holds them: orma.nearcache); the grant comes from the cache, with the credentials
_SUBSCRIBERS_ASKED = 0 if "redis" in settings.CACHES["default"]["BACKEND"].lower() else 1
PLACE_ORDER_QUERIES = (8 if connection.vendor == "postgresql" else 11) + _SUBSCRIBERS_ASKED
