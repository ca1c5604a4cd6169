"""Writes of tenancy: dealers, departments, partners with their grants, secret rotation.

Each service checks its arguments and raises :class:`orma.errors.DomainError` naming what is wrong; the
support commands print it as one line (``orma.management.base``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from orma.crypto import generate_secret, hash_secret
from orma.errors import DomainError, ErrorCode

from .choices import ALL_BRANDS, ALL_SCOPES, DepartmentType, DmsKind, DmsMode
from .models import Dealer, Department, Grant, Partner


def _invalid(description: str) -> DomainError:
    return DomainError.of(ErrorCode.FIELD_INVALID, description)


def dealer_create(
    *,
    name: str,
    country: str = "DE",
    brands: list[str] | None = None,
    dms_kind: str = DmsKind.SANDBOX,
    dms_base_url: str = "",
    dms_username: str = "",
    dms_password: str = "",
    dms_mode: str = DmsMode.SYNC,
    parts_order_reference_required: bool = False,
) -> Dealer:
    """Create a dealer; every brand of seed 000 unless told otherwise."""
    brands = list(ALL_BRANDS) if brands is None else brands
    unknown = [brand for brand in brands if brand not in ALL_BRANDS]
    if unknown:
        raise _invalid(f"unknown brand(s) {', '.join(unknown)}; known: {', '.join(ALL_BRANDS)}")
    if dms_kind != DmsKind.SANDBOX and not dms_base_url:
        raise _invalid(f"a {dms_kind} DMS needs a base URL")
    dealer = Dealer(
        name=name,
        country=country.upper(),
        brands=brands,
        dms_kind=dms_kind,
        dms_base_url=dms_base_url,
        dms_username=dms_username,
        dms_password=dms_password,
        dms_mode=dms_mode,
        parts_order_reference_required=parts_order_reference_required,
    )
    dealer.full_clean()
    dealer.save()
    return dealer


def department_create(*, dealer: Dealer, name: str, type: str = DepartmentType.SERVICE, dms_id: str = "") -> Department:
    """Create a department of a dealer; its DMS id defaults to its own UUID."""
    department = Department(dealer=dealer, name=name, type=type)
    department.dms_id = dms_id or str(department.uuid)
    department.full_clean()
    department.save()
    return department


@dataclass(frozen=True)
class GrantSpec:
    """One ``DEPARTMENT_UUID=scope,scope`` of the partner commands, parsed and checked."""

    department_uuid: uuid.UUID
    scopes: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> GrantSpec:
        department_text, sep, scopes_text = text.partition("=")
        if not sep:
            raise _invalid(f"malformed grant {text!r}: expected DEPARTMENT_UUID=scope,scope")
        try:
            department_uuid = uuid.UUID(department_text.strip())
        except ValueError:
            raise _invalid(f"malformed grant {text!r}: {department_text!r} is not a UUID") from None
        scopes = tuple(dict.fromkeys(s.strip() for s in scopes_text.split(",") if s.strip()))
        if not scopes:
            raise _invalid(f"malformed grant {text!r}: no scopes")
        unknown = [scope for scope in scopes if scope not in ALL_SCOPES]
        if unknown:
            raise _invalid(f"unknown scope(s) {', '.join(unknown)}; known: {', '.join(ALL_SCOPES)}")
        return cls(department_uuid, scopes)


@transaction.atomic
def partner_create(*, name: str, username: str, grants: list[GrantSpec]) -> tuple[Partner, str]:
    """Create a partner with its grants; answers the partner and its secret, which is never stored."""
    if Partner.objects.filter(username=username).exists():
        raise _invalid(f"a partner with username {username!r} already exists")
    departments = Department.objects.in_bulk([g.department_uuid for g in grants], field_name="uuid")
    missing = [str(g.department_uuid) for g in grants if g.department_uuid not in departments]
    if missing:
        raise _invalid(f"unknown department(s) {', '.join(missing)}")
    secret = generate_secret()
    partner = Partner(name=name, username=username, secret_hash=hash_secret(secret))
    partner.full_clean()
    partner.save()
    grant_set(partner=partner, grants=grants, departments=departments)
    return partner, secret


def grant_set(
    *, partner: Partner, grants: list[GrantSpec], departments: dict[uuid.UUID, Department] | None = None
) -> None:
    """Give a partner these scopes on these departments (replacing the scopes of an existing grant)."""
    if departments is None:
        departments = Department.objects.in_bulk([g.department_uuid for g in grants], field_name="uuid")
    for spec in grants:
        Grant.objects.update_or_create(
            partner=partner, department=departments[spec.department_uuid], defaults={"scopes": list(spec.scopes)}
        )


@transaction.atomic
def partner_rotate_secret(*, username: str, grace_hours: float = 0) -> tuple[Partner, str, datetime | None]:
    """Give a partner a new secret; the old one keeps working for ``grace_hours``, then never again."""
    if grace_hours < 0:
        raise _invalid("grace hours cannot be negative")
    partner = Partner.objects.select_for_update().filter(username=username).first()
    if partner is None:
        raise _invalid(f"no partner with username {username!r}")
    secret = generate_secret()
    valid_until = timezone.now() + timedelta(hours=grace_hours) if grace_hours > 0 else None
    partner.previous_secret_hash = partner.secret_hash if valid_until else ""
    partner.previous_secret_valid_until = valid_until
    partner.secret_hash = hash_secret(secret)
    partner.save(update_fields=["secret_hash", "previous_secret_hash", "previous_secret_valid_until"])
    return partner, secret, valid_until
