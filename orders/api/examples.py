"""The orders family's schema examples: seed 001's shapes on the demo world of ``orma_seed_demo``, so that
"Try it out" answers 2xx on the demo data (``tests/test_schema_examples.py`` runs each on a live server)."""

from __future__ import annotations

import copy
from typing import Any

from drf_spectacular.utils import OpenApiExample

from orma.demo import demo_uuid
from tenancy.demo import SERVICE_DEPARTMENT_UUID

from ..demo import DEMO_ORDER_BODY, DEMO_ORDER_UUID

CUSTOMER_UUID = str(demo_uuid("101"))
VEHICLE_UUID = str(demo_uuid("201"))
VEHICLE_VIN = "WVWZZZCDZMW000101"

PARAMETER_DOCS: dict[str, tuple[str, Any]] = {
    "departmentUUID": (
        "the dealer department (myKaarma's departmentUUID) the partner holds a grant on; demo: the service department",
        str(SERVICE_DEPARTMENT_UUID),
    ),
    "orderUUID": ("the repair order, as its create answered it (orderUUID)", str(DEMO_ORDER_UUID)),
    "customerUUID": ("the customer, as its create answered it (customerUUID)", CUSTOMER_UUID),
    "vehicleUUID": ("the vehicle, as its create answered it (vehicleUUID)", VEHICLE_UUID),
    "vin": ("a vehicle identification number, 17 characters, any case", VEHICLE_VIN),
    "search": ("text in the customer's name, company, e-mail or phone; empty: every customer", "Novak"),
}


def _order(number: str) -> dict[str, Any]:
    body = copy.deepcopy(DEMO_ORDER_BODY)
    header = body["order"]["header"]
    header.update(orderNumber=number, createDate="2024-02-01", createTime="08:30:00")
    return body


def order_create(number: str) -> list[OpenApiExample]:
    return [
        OpenApiExample(
            "demo order",
            value=_order(number),
            request_only=True,
            description="A demo customer's order by VIN with a service package: 201 once; change orderNumber "
            "to create another (the same number within 30 days answers 409 DUPLICATE_ORDER).",
        )
    ]


ORDER_UPDATE = [
    OpenApiExample(
        "the demo order as it is",
        value=DEMO_ORDER_BODY,
        request_only=True,
        description="The demo order's own body: 200 without a new version (an identical PUT changes nothing); "
        "change a field to make version 2.",
    )
]

CUSTOMER_BODY = {
    "customer": {
        "titleCommon": "Mr.",
        "givenName": "Ollie",
        "familyName": "OrderPerson",
        "email": "ollie.orderperson@example.com",
        "phone": "123-4567890",
        "invoiceAddress": {
            "streetName": "Narrow street",
            "postalCode": "38440",
            "city": "Wolfsburg",
            "countryCode": "DE",
        },
    }
}
CUSTOMER_CREATE = [OpenApiExample("a customer", value=CUSTOMER_BODY, request_only=True)]
CUSTOMER_UPDATE = [
    OpenApiExample(
        "the demo customer Jana Novak",
        value={
            "customer": {
                "givenName": "Jana",
                "familyName": "Novak",
                "email": "demo101@example.com",
                "invoiceAddress": {
                    "streetName": "Hauptstraße 1",
                    "postalCode": "38440",
                    "city": "Wolfsburg",
                    "countryCode": "DE",
                },
            }
        },
        request_only=True,
    )
]


def vehicle_create(vin: str) -> list[OpenApiExample]:
    return [
        OpenApiExample(
            "a Golf of the demo customer",
            value={
                "vehicle": {"vin": vin, "customerUUID": CUSTOMER_UUID, "model": "Golf", "modelYear": 2021, "mileage": 0}
            },
            request_only=True,
            description="201 once: a VIN the dealer knows answers 409 DUPLICATE_VEHICLE",
        )
    ]


VEHICLE_UPDATE = [
    OpenApiExample(
        "the demo Golf",
        value={
            "vehicle": {
                "vin": VEHICLE_VIN,
                "customerUUID": CUSTOMER_UUID,
                "model": "Golf",
                "modelYear": 2021,
                "licensePlate": "WOB-JN 101",
            }
        },
        request_only=True,
    )
]
