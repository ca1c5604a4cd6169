"""Demo data for the embedded default (``orma_seed_demo``): idempotent, stable UUIDs, working credentials.

The demo secrets are kept in ``var/demo_credentials.json`` (a development-only file, never committed) so
that re-running the seed prints credentials that still work instead of rotating them every time.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from orders.choices import ALL_BRANDS, ALL_SCOPES, DepartmentType
from orders.models import Dealer, DealerStaff, Department, Grant, Partner
from orma.crypto import generate_secret, hash_secret, secret_matches

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

    _save_credentials({"partnerSecret": secret, "adminPassword": admin_password, "staffPassword": staff_password})
    return DemoData(
        dealer=dealer,
        service=service,
        parts=parts,
        partner_username=PARTNER_USERNAME,
        partner_secret=secret,
        admin_password=admin_password,
        staff_password=staff_password,
    )
