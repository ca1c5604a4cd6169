"""The parts family's schema examples: seed 002's shapes on the demo world of ``orma_seed_demo``, so that
"Try it out" answers 2xx on the demo data (``tests/test_schema_examples.py`` runs each on a live server)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample

from orma.demo import demo_uuid
from tenancy.demo import DEALER_UUID, PARTS_DEPARTMENT_UUID

from ..demo import DEMO_PARTS_ORDER_NUMBER

CUSTOMER_UUID = str(demo_uuid("101"))

PARAMETER_DOCS: dict[str, tuple[str, Any]] = {
    "enterpriseId": ("the dealer's UUID (Keyloop's enterpriseId); demo: the demo dealer", str(DEALER_UUID)),
    "storeId": (
        "a department of that dealer (Keyloop's storeId, OrMa's departmentUUID); demo: its parts department",
        str(PARTS_DEPARTMENT_UUID),
    ),
    "partId": ("brand code + part code (seed 002: S7654321)", "V1K0615301AC"),
    "partsOrderId": ("the number placing the order answered (seed 002's partsOrderId)", DEMO_PARTS_ORDER_NUMBER),
    "customerId": ("a customer of this dealer (its customerUUID)", CUSTOMER_UUID),
    "orderType": ("EMG, VOR, STK, DPO or COL (VOR and EMG may carry a surcharge)", "VOR"),
    "search": ("the start of a partId or partCode, or text in the description", "brake"),
    "brandCode": ("V, N, A, S, E or C (the long names VW, VWN, AUDI, SKODA, SEAT, CUPRA are accepted)", "V"),
    "quantity": ("how many; priced as the next multiple of the unit of sale; default 1", 2),
    "orderStatus": ("only orders in this status", None),
}

PARTS_ORDER_CREATE = [
    OpenApiExample(
        "seed 002's order on the demo data",
        value={
            "customerId": CUSTOMER_UUID,
            "orderContact": {"name": "Cate ContactPerson", "phone": "123-4567890", "email": "cate@example.com"},
            "alternateDeliveryAddress": {
                "streetName": "Narrow street",
                "postalCode": "38440",
                "city": "Wolfsburg",
                "countryCode": "DE",
            },
            "orderType": "VOR",
            "orderReference": "Parts for Golf WOB-JN 101",
            "parts": [
                {"part": {"partId": "V1K0615301AC", "brandCode": "V", "partCode": "1K0615301AC"}, "quantity": 2},
                {
                    "part": {"partId": "A8W0959754"},
                    "quantity": 1,
                    "mandatoryVehicleReferences": [{"type": "KEYNUMBER", "value": "AO339223X/2926"}],
                },
            ],
        },
        request_only=True,
        description="The demo dealer's DMS (the sandbox) takes it at once: 201 with the whole order.",
    )
]

BASKET = [
    OpenApiExample(
        "a basket on the demo data",
        value={
            "customerId": CUSTOMER_UUID,
            "orderType": "VOR",
            "parts": [
                {"partId": "V1K0615301AA", "quantity": 2},
                {"partId": "VG052195M2", "quantity": 5},
                {"partId": "V0000000", "quantity": 1},
            ],
        },
        request_only=True,
        description="A superseded part (answered with its successor), oil sold in sixes (priced for 6), and an "
        "unknown part (NOT_FOUND on its line).",
    )
]
