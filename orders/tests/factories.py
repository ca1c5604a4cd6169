"""factory-boy factories of the orders app (customers, vehicles, service packages and their prices) and
the repair-order request bodies the tests send.

A dealer is made on demand through a SubFactory; pass ``dealer=department.dealer`` to make rows of the
department under test. The parts tests use the same customers.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import factory

from orders.models import (
    CommentLine,
    Customer,
    GogLine,
    Job,
    LabourLine,
    MlsLine,
    OrderHistory,
    OrderReference,
    PackageLabourLine,
    PackagePartLine,
    PackagePrice,
    PackageUse,
    PartLine,
    RepairOrder,
    ServicePackage,
    TechHoursLine,
    Vehicle,
)
from tenancy.tests.factories import DealerFactory

SAMPLE_PATH = Path(__file__).parent / "data" / "seed001_sample.json"

# Real-format VINs (the WMI names the brand; European VINs carry no check digit).
VW_VIN = "WVWZZZ1JZXW000001"
AUDI_VIN = "WAUZZZ8V0JA000001"
SKODA_VIN = "TMBZZZ1Z0F2000001"
HONDA_VIN = "1HGCM82633A004352"  # a manufacturer outside seed 000's brands


def vin_sequence(n: int) -> str:
    """A distinct, valid Volkswagen VIN per n."""
    return f"WVWZZZ1JZXW{n:06d}"


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    dealer = factory.SubFactory(DealerFactory)
    given_name = "Erika"
    family_name = factory.Sequence(lambda n: f"Mustermann {n}")
    email = factory.Sequence(lambda n: f"erika{n}@example.com")
    phone = "+49 30 1234567"
    street_name = "Invoice Road 1"
    postal_code = "10115"
    city = "Berlin"
    country_code = "DE"


class VehicleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vehicle

    dealer = factory.SubFactory(DealerFactory)
    customer = factory.SubFactory(CustomerFactory, dealer=factory.SelfAttribute("..dealer"))
    vin = factory.Sequence(vin_sequence)
    brand = "VW"
    model = "Golf"
    model_year = 2020
    license_plate = factory.Sequence(lambda n: f"B-OM {n}")
    mileage = 45210


class ServicePackageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServicePackage

    code = factory.Sequence(lambda n: f"PKG-{n}")
    description = factory.Sequence(lambda n: f"Service package {n}")
    brands = factory.LazyFunction(list)
    models = factory.LazyFunction(list)


class PackageLabourLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PackageLabourLine

    package = factory.SubFactory(ServicePackageFactory)
    labor_op_code = "INSP"
    description = "Inspection"
    sold_hours = Decimal("1.50")


class PackagePartLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PackagePartLine

    package = factory.SubFactory(ServicePackageFactory)
    part_number = "06L115562B"
    description = "Oil filter"
    quantity = Decimal("1.00")


class PackagePriceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PackagePrice

    package = factory.SubFactory(ServicePackageFactory)
    dealer = factory.SubFactory(DealerFactory)
    price = Decimal("199.00")
    currency_code = "EUR"


def priced_package(
    dealer: Any, *, price: str = "199.00", labour: dict[str, Any] | None = None, **package_fields: Any
) -> ServicePackage:
    """A package with one labour and one part line (an oil filter), priced for ``dealer``."""
    package = ServicePackageFactory(**package_fields)
    PackageLabourLineFactory(package=package, **(labour or {}))
    PackagePartLineFactory(package=package)
    PackagePriceFactory(package=package, dealer=dealer, price=Decimal(price))
    return package


def make_package(dealer: Any, code: str = "OIL-SERVICE", price: str = "149.00", brands: Any = ()) -> ServicePackage:
    """An oil service (half an hour of OIL and an oil filter) priced for ``dealer``."""
    oil_change = {"labor_op_code": "OIL", "description": "Oil change", "sold_hours": Decimal("0.5")}
    return priced_package(
        dealer, price=price, labour=oil_change, code=code, description=f"{code} package", brands=list(brands)
    )


def sample_body(customer: Customer, vehicle: Vehicle | None = None) -> dict[str, Any]:
    """Seed 001's sample with real values, referring to ``customer`` and ``vehicle`` (dropped when None)."""
    text = SAMPLE_PATH.read_text()
    text = text.replace("{customer_uuid}", str(customer.uuid))
    text = text.replace("{vehicle_uuid}", str(vehicle.uuid) if vehicle else "")
    body = json.loads(text)
    if vehicle is None:
        del body["order"]["vehicle"]
    return body


# Every table a repair-order write touches: after a refused request none of their counts may change.
ORDER_TABLES = (
    RepairOrder,
    Job,
    PartLine,
    GogLine,
    TechHoursLine,
    CommentLine,
    LabourLine,
    PackageUse,
    MlsLine,
    OrderReference,
    OrderHistory,
    Vehicle,
    Customer,
)


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in ORDER_TABLES}


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


def workshop_order_body(customer: Customer, vehicle: Vehicle, package: ServicePackage) -> dict[str, Any]:
    """A WorkshopOrder 2.x order on seed 001's sample: a package on its job, references, the customer's
    contact, warranty, and sublet lines of the order and of the job."""
    body = sample_body(customer, vehicle)
    order = body["order"]
    order["header"]["orderNumber"] = "WO-2001"
    order["jobs"][0]["packages"] = [{"packageCode": package.code, "quantity": "2"}]
    order["jobs"][0]["mls"] = [
        {"mlsType": "SUBLET", "laborType": "C", "opCode": "GLASS", "salePrice": "80.00", "description": "Windscreen",
         "vendor": "Glas Meier GmbH", "poNumber": "PO-10", "poCreateDate": "2024-02-01"},
    ]  # fmt: skip
    order["mls"].append({"mlsType": "SUBLET", "opCode": "TOW", "salePrice": "45.5", "vendor": "Abschlepp Nord"})
    order["references"] = [
        {"type": "APPOINTMENT", "value": "APT-55"},
        {"type": "PARTNER_ORDER_ID", "value": "partner-77"},
    ]
    order["customerContact"] = {"name": "Erika Mustermann", "phone": "+49 30 7654321", "email": "erika@example.com"}
    order["warranty"] = {
        "warrantyStartDate": "2022-05-01",
        "extendedWarrantyUntil": "2027-04-30",
        "claimReference": "CLM-9",
    }
    return body
