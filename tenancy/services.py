"""Writes of tenancy: dealers, departments, partners with their grants, secret rotation.

Each service checks its arguments and raises :class:`orma.errors.DomainError` naming what is wrong; the
support commands print it as one line (``orma.management.base``).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from orma.crypto import generate_secret, hash_secret
from orma.errors import DomainError, ErrorCode

from .choices import ALL_BRANDS, ALL_SCOPES, DepartmentType, DmsKind, DmsMode
from .models import Dealer, Department, Grant, Partner
from .selectors import partner_generation_renew

MAX_GRACE_HOURS = 30 * 24  # a rotation's old secret works at most 30 days more

logger = logging.getLogger(__name__)


def partner_access_evict(*, usernames: set[str]) -> None:
    """Make these partners' cached credentials and grants stale, now and again once the change commits.

    Called by the signals for every save or delete of a partner, a grant, a department or a dealer (the
    admin, the services, the commands); a bulk ``QuerySet.update()`` sends no signal and must call it
    itself. Now: this transaction's own later reads (and the tests, which never commit) see the change;
    on commit: a request that meanwhile cached the rows as they were before the commit stamped them with
    the token replaced here (tenancy.selectors), so the very next request in every process reloads.
    """
    usernames = {name for name in usernames if name}
    if not usernames:
        return
    _renew(usernames)
    transaction.on_commit(lambda: _renew(usernames))


def _renew(usernames: set[str]) -> None:
    try:
        partner_generation_renew(usernames=usernames)
    except Exception:  # a cache that is down must not fail the write; its entries expire on their own
        logger.exception("could not renew the cached access of partners %s", sorted(usernames))


def _invalid(description: str) -> DomainError:
    return DomainError.of(ErrorCode.FIELD_INVALID, description)


def username_problem(username: str) -> str | None:
    """Why a partner username cannot be used, or None: HTTP Basic joins username and secret with ``:``,
    so a username holding one cannot log in, and control characters cannot be typed or logged safely."""
    if not username.strip():
        return "a username must not be empty"
    if ":" in username:
        return f"a username must not contain ':' (HTTP Basic separates username and secret with it): {username!r}"
    if any(not char.isprintable() or char.isspace() for char in username):
        return f"a username must not contain spaces or control characters: {username!r}"
    return None


def duplicate_dealer(name: str) -> Dealer | None:
    """A dealer of this name (any case), if one exists: a second one is usually a mistake."""
    return Dealer.objects.filter(name__iexact=name.strip()).order_by("id").first()


def duplicate_department(dealer: Dealer, name: str) -> Department | None:
    """A department of this dealer with this name (any case), if one exists."""
    return Department.objects.filter(dealer=dealer, name__iexact=name.strip()).order_by("id").first()


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
    allow_duplicate: bool = False,
) -> Dealer:
    """Create a dealer; every brand of seed 000 unless told otherwise. A name another dealer has is
    refused unless ``allow_duplicate`` (two "Autohaus Nord" are usually a command run twice)."""
    if not allow_duplicate and (existing := duplicate_dealer(name)):
        raise _invalid(
            f"a dealer named {existing.name!r} exists ({existing.uuid}); pass --allow-duplicate to add another"
        )
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


def department_create(
    *, dealer: Dealer, name: str, type: str = DepartmentType.SERVICE, dms_id: str = "", allow_duplicate: bool = False
) -> Department:
    """Create a department of a dealer; its DMS id defaults to its own UUID. A name the dealer already has
    for a department is refused unless ``allow_duplicate``."""
    if not allow_duplicate and (existing := duplicate_department(dealer, name)):
        raise _invalid(
            f"dealer {dealer.name} has a department named {existing.name!r} ({existing.uuid}); "
            "pass --allow-duplicate to add another"
        )
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
    if problem := username_problem(username):
        raise _invalid(problem)
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
def partner_rotate_secret(
    *, username: str, grace_hours: float = 0, force: bool = False
) -> tuple[Partner, str, datetime | None]:
    """Give a partner a new secret; the old one keeps working for ``grace_hours`` (at most 30 days), then
    never again.

    Refused while an earlier rotation's grace period runs, unless ``force``: rotating again would end the
    secret that period keeps alive at once (the partner may not have switched yet).
    """
    if not 0 <= grace_hours <= MAX_GRACE_HOURS:
        raise _invalid(f"grace hours must be from 0 to {MAX_GRACE_HOURS} (30 days), not {grace_hours:g}")
    partner = Partner.objects.select_for_update().filter(username=username).first()
    if partner is None:
        raise _invalid(f"no partner with username {username!r}")
    running = partner.previous_secret_valid_until
    if running is not None and running > timezone.now() and not force:
        raise _invalid(
            f"partner {username} is inside the grace period of its last rotation: its previous secret works until "
            f"{running.isoformat()}; rotating again would end that secret now. Wait, or pass --force"
        )
    secret = generate_secret()
    valid_until = timezone.now() + timedelta(hours=grace_hours) if grace_hours > 0 else None
    partner.previous_secret_hash = partner.secret_hash if valid_until else ""
    partner.previous_secret_valid_until = valid_until
    partner.secret_hash = hash_secret(secret)
    partner.save(update_fields=["secret_hash", "previous_secret_hash", "previous_secret_valid_until"])
    return partner, secret, valid_until
