"""Builders for repair-order tests: customers, vehicles, packages and request bodies."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from orders.models import (
    Customer,
    PackageLabourLine,
    PackagePartLine,
    PackagePrice,
    ServicePackage,
    Vehicle,
)
from tenancy.models import Dealer

SAMPLE = Path(__file__).parent / "data" / "seed001_sample.json"
_vin_counter = iter(range(100000, 999999))


def make_customer(dealer: Dealer, **fields: Any) -> Customer:
    return Customer.objects.create(dealer=dealer, **{"family_name": "Muster", **fields})


def make_vehicle(dealer: Dealer, customer: Customer | None = None, vin: str | None = None, **fields: Any) -> Vehicle:
    vin = vin or f"WVWZZZ1JZXW{next(_vin_counter):06d}"
    return Vehicle.objects.create(dealer=dealer, customer=customer, vin=vin, brand="VW", **fields)


def make_package(dealer: Dealer, code: str = "OIL-SERVICE", price: str = "149.00", brands=()) -> ServicePackage:
    package = ServicePackage.objects.create(code=code, description=f"{code} package", brands=list(brands))
    PackageLabourLine.objects.create(
        package=package, labor_op_code="OIL", description="Oil change", sold_hours=Decimal("0.5")
    )
    PackagePartLine.objects.create(package=package, part_number="06L115562B", description="Oil filter", quantity=1)
    PackagePrice.objects.create(package=package, dealer=dealer, price=Decimal(price))
    return package


def sample_body(customer: Customer, vehicle: Vehicle | None = None) -> dict[str, Any]:
    """Seed 001's sample request (its two typos mended, real values), for this customer and vehicle."""
    text = SAMPLE.read_text().replace("{customer_uuid}", str(customer.uuid))
    body = json.loads(
        text.replace("{vehicle_uuid}", str(vehicle.uuid) if vehicle else "00000000-0000-0000-0000-000000000000")
    )
    if vehicle is None:
        del body["order"]["vehicle"]
    return body


def minimal_body(
    customer: Customer, number: str = "RO-1", date: str = "2024-02-01", time: str = "08:00:00", jobs: int = 0,
    lines_per_job: int = 0,
) -> dict[str, Any]:  # fmt: skip
    """The smallest valid order, optionally with ``jobs`` jobs of ``lines_per_job`` part lines each."""
    job = {
        "jobNumberString": "A",
        "laborOpCode": "OIL",
        "laborType": "C",
        "parts": [{"partNumber": f"P-{n}", "quantityOrdered": "1", "salePrice": "10.00"} for n in range(lines_per_job)],
    }
    return {
        "order": {
            "type": "RO",
            "header": {
                "orderNumber": number,
                "status": "OPENED",
                "advisorNumber": "ADV-1",
                "createDate": date,
                "createTime": time,
            },
            "customer": {"uuid": str(customer.uuid)},
            "jobs": [copy.deepcopy(job) for _ in range(jobs)],
        }
    }


def orders_url(department: Any) -> str:
    return f"/order/v2/department/{department.uuid}/order"
