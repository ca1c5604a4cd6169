"""factory-boy factories of the parts app, and seed 002's sample with the rows it names."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import factory

from orders.tests.factories import CustomerFactory
from parts.models import CustomerDiscount, Part, PartsOrder, Stock, Surcharge
from tenancy.tests.factories import DealerFactory, DepartmentFactory


class PartFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Part

    dealer = factory.SubFactory(DealerFactory)
    part_id = factory.Sequence(lambda n: f"V{n:07d}")
    brand_code = "V"
    part_code = factory.LazyAttribute(lambda o: o.part_id[len(o.brand_code) :])
    description = factory.Sequence(lambda n: f"Part number {n}")
    list_net_price = Decimal("100.00")
    tax_rate = Decimal("20.00")
    currency_code = "EUR"
    unit_of_sale = 1


class StockFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stock

    department = factory.SubFactory(DepartmentFactory)
    part = factory.SubFactory(PartFactory)
    on_hand = 10
    reserved = 0


class CustomerDiscountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerDiscount

    customer = factory.SubFactory(CustomerFactory)
    brand_code = "V"
    discount_group = ""
    percent = Decimal("10.00")


class SurchargeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Surcharge

    dealer = factory.SubFactory(DealerFactory)
    order_type = "VOR"
    percent = Decimal("5.00")
    fixed_net = None


def base_url(store: Any) -> str:
    return f"/parts-api/{store.dealer.uuid}/{store.uuid}/v1"


def place(api: Any, store: Any, customer: Any, *lines: tuple[Part, int]) -> PartsOrder:
    """Place a STK parts order of ``(part, quantity)`` lines through the API (it must answer 201)."""
    body = {
        "customerId": str(customer.uuid),
        "orderType": "STK",
        "parts": [{"part": {"partId": part.part_id}, "quantity": quantity} for part, quantity in lines],
    }
    response = api.post(f"{base_url(store)}/parts-orders", body, format="json")
    assert response.status_code == 201, response.content
    return PartsOrder.objects.get(number=response.json()["partsOrderId"])


def fresh(row: Any) -> Any:
    """``row`` as the database has it now."""
    row.refresh_from_db()
    return row


# Seed 002's sample request, verbatim except for companyId: the sample's "345e7890-f23y-12d3-a456-537766551112"
# is not a UUID ("f23y"), so the tests put a real company customer's id in its place.
SEED_002_REQUEST: dict[str, Any] = {
    "customerId": "123e4569-e89b-12e3-a452-426655440001",
    "companyId": "345e7890-f23y-12d3-a456-537766551112",
    "orderContact": {
        "name": "Cate ContactPerson",
        "phone": "123-4567890",
        "email": "cate.contactperson@company.com",
        "companyName": "Company Ltd.",
    },
    "alternateDeliveryAddress": {
        "streetName": "Narrow street",
        "postalCode": 123456,
        "city": "Smalltown",
        "countryCode": "GB",
    },
    "orderType": "VOR",
    "orderReference": "Parts for Golf XN06 TTY",
    "parts": [
        {
            "part": {"partId": "S7654321", "brandCode": "S", "partCode": 7654321},
            "quantity": 10,
            "mandatoryVehicleReferences": [{"type": "KEYNUMBER", "value": "AO339223X/2926"}],
        }
    ],
}


def seed_002_world(store: Any) -> dict[str, Any]:
    """The rows seed 002's sample names, in ``store``'s dealer: customer, company, part S7654321 with stock."""
    dealer = store.dealer
    customer = CustomerFactory(
        dealer=dealer,
        uuid="123e4569-e89b-12e3-a452-426655440001",
        family_name="OrderPerson",
        given_name="Ollie",
        title_common="Mr.",
    )
    company = CustomerFactory(
        dealer=dealer, family_name="", given_name="", title_common="", company_name="Company Ltd."
    )
    part = PartFactory(
        dealer=dealer,
        part_id="S7654321",
        brand_code="S",
        part_code="7654321",
        list_net_price=Decimal("100"),
        tax_rate=Decimal("20"),
        mandatory_vehicle_references=["KEYNUMBER"],
    )
    stock = StockFactory(department=store, part=part, on_hand=25)
    body = copy.deepcopy(SEED_002_REQUEST)
    body["companyId"] = str(company.uuid)
    return {"customer": customer, "company": company, "part": part, "stock": stock, "body": body}
