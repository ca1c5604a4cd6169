"""The orders app's part of the demo world: customers with vehicles of every brand, service packages at
the demo dealer's price, and a ``curl`` that creates a repair order (a fresh number on every run)."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

from django.utils import timezone

from orma.demo import Demo, demo_uuid
from tenancy.models import Dealer

from .models import Customer, PackageLabourLine, PackagePartLine, PackagePrice, ServicePackage, Vehicle
from .vins import vin_brand

DEMO_CUSTOMERS = (
    # uuid suffix, given name, family name, company, city
    ("101", "Jana", "Novak", "", "Wolfsburg"),
    ("102", "Lukas", "Schmidt", "", "Ingolstadt"),
    ("103", "", "", "Stadtwerke Demo GmbH", "Braunschweig"),
)
# Real-format VINs (WMI of each brand, no I/O/Q); the brand comes from the WMI.
DEMO_VEHICLES = (
    ("201", "WVWZZZCDZMW000101", "101", "Golf", 2021, "WOB-JN 101"),
    ("202", "WAUZZZF40NA000102", "102", "A4 Avant", 2022, "IN-LS 102"),
    ("203", "TMBJJ7NX0PY000103", "103", "Octavia Combi", 2023, "BS-SW 103"),
    ("204", "VSSZZZKLZPR000104", "103", "Leon", 2023, "BS-SW 104"),
)
DEMO_PACKAGES = (
    # code, description, brands, price, labour [(op, desc, hours)], parts [(number, desc, qty)]
    ("OIL-SERVICE", "Oil service with filter", [], "149.00",
     [("OIL", "Change engine oil and filter", "0.50")],
     [("06L115562B", "Oil filter", "1"), ("G052195M4", "Engine oil 5W-30, 1 l", "4.5")]),
    ("INSPECTION-VW", "Volkswagen inspection", ["VW", "VWN"], "289.00",
     [("INSP", "Inspection per service plan", "1.60")], [("5Q0819653", "Pollen filter", "1")]),
    ("BRAKES-FRONT", "Front brake pads and discs", [], "419.00",
     [("BRK-F", "Replace front pads and discs", "1.80")],
     [("5Q0615301F", "Brake disc, front", "2"), ("5Q0698151B", "Brake pads, front", "1")]),
)  # fmt: skip


def _seed_customers_and_vehicles(dealer: Dealer) -> list[Customer]:
    customers = []
    for suffix, given, family, company, city in DEMO_CUSTOMERS:
        customer, _ = Customer.objects.get_or_create(
            uuid=demo_uuid(suffix),
            defaults={
                "dealer": dealer,
                "given_name": given,
                "family_name": family,
                "company_name": company,
                "email": f"demo{suffix}@example.com",
                "street_name": "Hauptstraße 1",
                "postal_code": "38440",
                "city": city,
                "country_code": "DE",
            },
        )
        customers.append(customer)
    by_suffix = {str(c.uuid)[-3:]: c for c in customers}
    for suffix, vin, owner, model, year, plate in DEMO_VEHICLES:
        Vehicle.objects.get_or_create(
            dealer=dealer,
            vin=vin,
            defaults={
                "uuid": demo_uuid(suffix),
                "customer": by_suffix[owner],
                "brand": vin_brand(vin) or "",
                "model": model,
                "model_year": year,
                "license_plate": plate,
            },
        )
    return customers


def _seed_packages(dealer: Dealer) -> None:
    for code, description, brands, price, labour, parts in DEMO_PACKAGES:
        package, created = ServicePackage.objects.get_or_create(
            code=code, defaults={"description": description, "brands": brands}
        )
        if created:
            PackageLabourLine.objects.bulk_create(
                PackageLabourLine(package=package, labor_op_code=op, description=desc, sold_hours=Decimal(hours))
                for op, desc, hours in labour
            )
            PackagePartLine.objects.bulk_create(
                PackagePartLine(package=package, part_number=number, description=desc, quantity=Decimal(qty))
                for number, desc, qty in parts
            )
        PackagePrice.objects.get_or_create(package=package, dealer=dealer, defaults={"price": Decimal(price)})


def demo_order_body(*, customer_uuid: str) -> dict[str, Any]:
    """A repair order by VIN with a service package, numbered after this moment (so it never repeats)."""
    now = timezone.now()
    return {
        "order": {
            "type": "RO",
            "header": {
                "orderNumber": f"DEMO-{now:%Y%m%d-%H%M%S}",
                "status": "OPENED",
                "advisorNumber": "ADV-1",
                "createDate": f"{now:%Y-%m-%d}",
                "createTime": f"{now:%H:%M:%S}",
                "description": "Oil service",
            },
            "customer": {"uuid": customer_uuid},
            "vehicle": {"vin": "WVWZZZCDZMW000101"},
            "jobs": [
                {
                    "jobNumberString": "A",
                    "laborOpCode": "OIL",
                    "laborType": "C",
                    "packages": [{"packageCode": "OIL-SERVICE"}],
                    "ccc": {"complaint": "Service due"},
                }
            ],
        }
    }


DEMO_ORDER_UUID = demo_uuid("301")
# The demo world's one repair order (its body is the schema's update example: sent back, it changes nothing).
DEMO_ORDER_BODY: dict[str, Any] = {
    "order": {
        "type": "RO",
        "header": {
            "orderNumber": "DEMO-1",
            "status": "OPENED",
            "advisorNumber": "ADV-1",
            "createDate": "2024-02-01",
            "createTime": "08:30:00",
            "description": "Inspection and front brakes",
        },
        "customer": {"uuid": str(demo_uuid("101"))},
        "vehicle": {"vin": "WVWZZZCDZMW000101"},
        "jobs": [
            {
                "jobNumberString": "A",
                "laborOpCode": "INSP",
                "laborType": "C",
                "packages": [{"packageCode": "INSPECTION-VW"}],
                "ccc": {"complaint": "Inspection due", "correction": "Inspected per service plan"},
            }
        ],
    }
}


def _seed_demo_order(demo: Demo) -> None:
    """The demo repair order (stable UUID), written through the one write path, once."""
    from orma.actors import Actor, Channel

    from .models import RepairOrder
    from .services import repair_order_write
    from .validation import validate_repair_order

    service = demo.made["service"]
    if RepairOrder.objects.filter(uuid=DEMO_ORDER_UUID).exists():
        return
    validated = validate_repair_order(copy.deepcopy(DEMO_ORDER_BODY), department=service)
    repair_order_write(
        repair_order=RepairOrder(uuid=DEMO_ORDER_UUID),
        department=service,
        validated=validated,
        actor=Actor(Channel.ADMIN, "orma_seed_demo"),
    )


def seed_demo(demo: Demo) -> None:
    """Customers, vehicles and packages of the demo dealer, and the curls that create and list orders."""
    dealer = demo.made["dealer"]
    customers = _seed_customers_and_vehicles(dealer)
    _seed_packages(dealer)
    _seed_demo_order(demo)
    demo.made["customers"] = customers
    demo.result["customers"] = [str(customer.uuid) for customer in customers]
    login = f"{demo.made['partner_username']}:{demo.made['partner_secret']}"
    orders_url = f"{demo.base_url}/order/v2/department/{demo.made['service'].uuid}/order"
    demo.lines += [
        "",
        "Try it (a repair order; its number is new each time the curl runs, so it never answers 409):",
        order_curl(login=login, orders_url=orders_url, customer_uuid=str(customers[0].uuid)),
        f"  curl -s -u '{login}' '{orders_url}?limit=5'",
    ]


NUMBER_PLACEHOLDER = "DEMO-NUMBER"


def order_curl(*, login: str, orders_url: str, customer_uuid: str) -> str:
    """The printed ``curl`` creating a demo order: the shell fills in the order number (``date +%s%N``)
    each time it runs, so a second run creates a second order instead of answering 409 DUPLICATE_ORDER."""
    body = json.dumps(demo_order_body(customer_uuid=customer_uuid), separators=(",", ":"))
    header = json.loads(body)["order"]["header"]
    body = body.replace(f'"orderNumber":"{header["orderNumber"]}"', f'"orderNumber":"{NUMBER_PLACEHOLDER}"')
    shell_body = body.replace(NUMBER_PLACEHOLDER, "DEMO-'\"$(date +%s%N | cut -c1-16)\"'")
    return f"  curl -s -X PUT -u '{login}' -H 'Content-Type: application/json' '{orders_url}' -d '{shell_body}'"
