"""Demo data for the embedded default (``orma_seed_demo``): idempotent, stable UUIDs, working credentials.

The demo secrets are kept in ``var/demo_credentials.json`` (a development-only file, never committed) so
that re-running the seed prints credentials that still work instead of rotating them every time.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from orders.choices import ALL_BRANDS, ALL_SCOPES, DepartmentType
from orders.models import (
    Customer,
    Dealer,
    DealerStaff,
    Department,
    Grant,
    PackageLabourLine,
    PackagePartLine,
    PackagePrice,
    Partner,
    ServicePackage,
    Vehicle,
)
from orders.vins import vin_brand
from orma.crypto import generate_secret, hash_secret, secret_matches
from parts.demo import seed_parts_demo

DEALER_UUID = uuid.UUID("d0000000-0000-4000-8000-000000000001")
SERVICE_DEPARTMENT_UUID = uuid.UUID("d0000000-0000-4000-8000-000000000011")
PARTS_DEPARTMENT_UUID = uuid.UUID("d0000000-0000-4000-8000-000000000012")
PARTNER_USERNAME = "demo-partner"
ADMIN_USERNAME = "admin"
STAFF_USERNAME = "staff"


@dataclass
class DemoData:
    """What the seed made (or found): the ids and credentials ``orma_seed_demo`` prints."""

    dealer: Dealer
    service: Department
    parts: Department
    partner_username: str
    partner_secret: str
    admin_password: str
    staff_password: str
    customers: list[str] = field(default_factory=list)
    part_ids: list[str] = field(default_factory=list)


def _credentials_file() -> Path:
    return Path(settings.VAR_DIR) / "demo_credentials.json"


def _load_credentials() -> dict[str, str]:
    try:
        return json.loads(_credentials_file().read_text())
    except (OSError, ValueError):
        return {}


def _save_credentials(credentials: dict[str, str]) -> None:
    path = _credentials_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(credentials, indent=2))
    path.chmod(0o600)


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


def _demo_uuid(suffix: str) -> uuid.UUID:
    return uuid.UUID(f"d0000000-0000-4000-8000-000000000{suffix}")


def _seed_customers_and_vehicles(dealer: Dealer) -> list[Customer]:
    customers = []
    for suffix, given, family, company, city in DEMO_CUSTOMERS:
        customer, _ = Customer.objects.get_or_create(
            uuid=_demo_uuid(suffix),
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
                "uuid": _demo_uuid(suffix),
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


@transaction.atomic
def seed_demo() -> DemoData:
    """Create (or find) the demo dealer, its departments, partner, admin and staff user."""
    credentials = _load_credentials()
    dealer, _ = Dealer.objects.get_or_create(
        uuid=DEALER_UUID,
        defaults={"name": "Autohaus Demo", "country": "DE", "brands": list(ALL_BRANDS)},
    )
    service, _ = Department.objects.get_or_create(
        uuid=SERVICE_DEPARTMENT_UUID, defaults={"dealer": dealer, "name": "Service", "type": DepartmentType.SERVICE}
    )
    parts, _ = Department.objects.get_or_create(
        uuid=PARTS_DEPARTMENT_UUID, defaults={"dealer": dealer, "name": "Parts", "type": DepartmentType.PARTS}
    )

    partner = Partner.objects.filter(username=PARTNER_USERNAME).first()
    secret = credentials.get("partnerSecret", "")
    if partner is None or not secret or not secret_matches(secret, partner.secret_hash):
        secret = generate_secret()
        if partner is None:
            partner = Partner(name="Demo partner", username=PARTNER_USERNAME)
        partner.secret_hash = hash_secret(secret)
        partner.is_active = True
        partner.save()
    for department in (service, parts):
        Grant.objects.update_or_create(partner=partner, department=department, defaults={"scopes": list(ALL_SCOPES)})

    user_model = get_user_model()
    admin_password = credentials.get("adminPassword") or secrets.token_urlsafe(12)
    admin = user_model.objects.filter(username=ADMIN_USERNAME).first()
    if admin is None:
        user_model.objects.create_superuser(ADMIN_USERNAME, "admin@orma.invalid", admin_password)
    elif not admin.check_password(admin_password):
        admin.set_password(admin_password)
        admin.save(update_fields=["password"])

    staff_password = credentials.get("staffPassword") or secrets.token_urlsafe(12)
    staff = user_model.objects.filter(username=STAFF_USERNAME).first()
    if staff is None:
        staff = user_model.objects.create_user(STAFF_USERNAME, "staff@orma.invalid", staff_password, is_staff=True)
    elif not staff.check_password(staff_password):
        staff.set_password(staff_password)
        staff.save(update_fields=["password"])
    DealerStaff.objects.get_or_create(user=staff, defaults={"dealer": dealer})

    customers = _seed_customers_and_vehicles(dealer)
    _seed_packages(dealer)
    part_ids = seed_parts_demo(dealer=dealer, store=parts, customers=customers)

    _save_credentials({"partnerSecret": secret, "adminPassword": admin_password, "staffPassword": staff_password})
    return DemoData(
        dealer=dealer,
        service=service,
        parts=parts,
        partner_username=PARTNER_USERNAME,
        partner_secret=secret,
        admin_password=admin_password,
        staff_password=staff_password,
        customers=[str(customer.uuid) for customer in customers],
        part_ids=list(part_ids),
    )
