"""Tenancy's part of the demo world: the dealer with a service and a parts department, a partner holding
every scope on both, an admin (superuser) and a staff user of the dealer."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from orma.crypto import generate_secret, hash_secret, secret_matches
from orma.demo import Demo, demo_uuid

from .choices import ALL_BRANDS, ALL_SCOPES, DepartmentType
from .models import Dealer, DealerStaff, Department, Grant, Partner
from .staff import DEALER_STAFF_GROUP

DEALER_UUID = demo_uuid("1")
SERVICE_DEPARTMENT_UUID = demo_uuid("11")
PARTS_DEPARTMENT_UUID = demo_uuid("12")
PARTNER_USERNAME = "demo-partner"
ADMIN_USERNAME = "admin"
STAFF_USERNAME = "staff"


def _partner_secret(stored: str) -> str:
    """The demo partner's secret: the stored one while it still matches, else a new one."""
    partner = Partner.objects.filter(username=PARTNER_USERNAME).first()
    if partner is not None and stored and secret_matches(stored, partner.secret_hash):
        return stored
    secret = generate_secret()
    if partner is None:
        partner = Partner(name="Demo partner", username=PARTNER_USERNAME)
    partner.secret_hash = hash_secret(secret)
    partner.is_active = True
    partner.save()
    return secret


def _user(username: str, password: str, *, superuser: bool) -> object:
    """The demo user with this password (created, or its password reset to it)."""
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    if user is None:
        email = f"{username}@orma.invalid"
        if superuser:
            return user_model.objects.create_superuser(username, email, password)
        return user_model.objects.create_user(username, email, password, is_staff=True)
    if not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


def seed_demo(demo: Demo) -> None:
    """Create (or find) the demo dealer, its departments, partner, admin and staff user."""
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
    secret = _partner_secret(demo.credentials.get("partnerSecret", ""))
    partner = Partner.objects.get(username=PARTNER_USERNAME)
    for department in (service, parts):
        Grant.objects.update_or_create(partner=partner, department=department, defaults={"scopes": list(ALL_SCOPES)})

    admin_password = demo.credentials.get("adminPassword") or secrets.token_urlsafe(12)
    _user(ADMIN_USERNAME, admin_password, superuser=True)
    staff_password = demo.credentials.get("staffPassword") or secrets.token_urlsafe(12)
    staff = _user(STAFF_USERNAME, staff_password, superuser=False)
    DealerStaff.objects.get_or_create(user=staff, defaults={"dealer": dealer})
    # the role a workshop's people get: the group its migration created (tenancy.staff)
    staff.groups.add(Group.objects.get_or_create(name=DEALER_STAFF_GROUP)[0])  # type: ignore[attr-defined]

    demo.credentials.update(partnerSecret=secret, adminPassword=admin_password, staffPassword=staff_password)
    demo.made.update(
        dealer=dealer, service=service, parts=parts, partner_username=PARTNER_USERNAME, partner_secret=secret
    )
    demo.result.update(
        dealerUUID=str(dealer.uuid),
        departments={"service": str(service.uuid), "parts": str(parts.uuid)},
        partner={"username": PARTNER_USERNAME, "secret": secret},
        admin={"username": ADMIN_USERNAME, "password": admin_password},
        staff={"username": STAFF_USERNAME, "password": staff_password},
    )
    base = demo.base_url
    demo.lines += [
        f"  Admin:        {base}/admin/  user {ADMIN_USERNAME}  password {admin_password}",
        f"  Dealer staff: {base}/admin/  user {STAFF_USERNAME}  password {staff_password}",
        f"  Partner API:  user {PARTNER_USERNAME}  secret {secret}",
        f"  API docs:     {base}/api/docs/",
        f"  Dealer {dealer.uuid}: service department {service.uuid}, parts department {parts.uuid}",
    ]
