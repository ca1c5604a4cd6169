"""Reads of tenancy on every request's hot path: a partner's credentials and its grant on a department, both
kept in the shared cache and checked against the partner's generation (below) on every request."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.conf import settings
from django.db import models

from orma import nearcache
from orma.cache import add_json, get_json, set_json
from orma.crypto import cache_key_part
from orma.db import loaded_instance

from .models import Dealer, Department, Grant, Partner

M = TypeVar("M", bound=models.Model)


@dataclass(frozen=True)
class PartnerCredentials:
    """What authentication needs of a partner; cached briefly, evicted on every change of the partner."""

    id: int
    uuid: uuid.UUID
    username: str
    name: str  # the display name: what other partners see of this one (history's actor), never the login
    secret_hash: str
    previous_secret_hash: str
    previous_secret_valid_until: datetime | None
    rate_limit_per_minute: int | None

    # DRF treats request.user as a user object
    is_authenticated = True

    def as_json(self) -> dict[str, Any]:
        """The form kept in the shared cache."""
        return {
            **asdict(self),
            "uuid": str(self.uuid),
            "previous_secret_valid_until": self.previous_secret_valid_until.isoformat()
            if self.previous_secret_valid_until
            else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PartnerCredentials:
        until = data["previous_secret_valid_until"]
        return cls(
            **{
                **data,
                "uuid": uuid.UUID(data["uuid"]),
                "previous_secret_valid_until": datetime.fromisoformat(until) if until else None,
            }
        )


# The partner's entries in the shared cache (its credentials, its grant on each department it used) are each
# stamped with the partner's *generation*, a random token kept under a key of its own and read in the same
# round trip as the entries. Any write to the partner, its grants, or a department or dealer it holds a grant
# on replaces the token (tenancy.services.partner_access_evict, from the signals), at once and again on
# commit; an entry whose stamp is not the current token is not used. The stamp is the token read BEFORE the
# database was, so a request that loaded the old rows while a write committed stores them under a token the
# write has already replaced: they are never used. A missing token (evicted, expired) matches no stamp.
# Entries and tokens are per username: a change to one partner never costs another partner a reload.
ABSENT = {"absent": True}
# A dealer's DMS password stays out of the cache: left deferred, it is read from the database if ever used.
_UNCACHED_FIELDS = {"dms_password"}


def partner_credentials_cache_key(username: str) -> str:
    # v2: the stamped form; a process of the previous release (a rolling deploy) never reads it
    return f"partner-credentials:v2:{cache_key_part(username)}"


def partner_generation_cache_key(username: str) -> str:
    """Where the partner's generation token lives (see above)."""
    return f"partner-generation:{cache_key_part(username)}"


def partner_grant_cache_key(username: str, department_uuid: str | None) -> str:
    """The partner's cached grant on one department; without a department, the scopes it holds anywhere."""
    return f"partner-grant:{cache_key_part(username)}:{department_uuid or 'any'}"


def _generation_timeout() -> int:
    # longer than the entries it stamps; when it expires first the entries only reload
    return 2 * settings.ORMA_CREDENTIAL_CACHE_SECONDS


def partner_generation(*, username: str, seen: str | None) -> str:
    """The partner's current generation token: ``seen`` (read with the entries), or a new one when there
    was none; obtained before the database is read, so what is then loaded is stamped with it."""
    if seen is not None:
        return seen
    token = secrets.token_hex(8)
    key = partner_generation_cache_key(username)
    if add_json(key, token, _generation_timeout()):
        return token
    return get_json(key) or token  # another process set it first (or it vanished: a stamp nothing matches)


def partner_cache_tag(username: str) -> str:
    """What every process holds of the partner's entries is kept under this tag (orma.nearcache)."""
    return f"partner:{cache_key_part(username)}"


def partner_generation_renew(*, usernames: set[str]) -> None:
    """Replace these partners' generation tokens: every entry stamped with the old ones is stale, in the
    shared cache and, once announced, in every process."""
    for username in usernames:
        set_json(partner_generation_cache_key(username), secrets.token_hex(8), _generation_timeout())
    nearcache.announce(partner_cache_tag(username) for username in usernames)


def cached_value(entry: Any, generation: str | None) -> Any:
    """The value of a stamped cache entry when it is of this generation, else :data:`STALE`."""
    if generation is None or not isinstance(entry, dict) or entry.get("generation") != generation:
        return STALE
    return entry.get("value")


STALE = object()


def _stamped(value: Any, generation: str) -> dict[str, Any]:
    return {"generation": generation, "value": value}


_CREDENTIALS: dict[int, tuple[Any, PartnerCredentials]] = {}  # by the entry's identity, as _PREPARED below


def partner_credentials_from_cache(cached: Any) -> PartnerCredentials | None:
    """The cached form back (None for the cached absence; callers tell "absent" from "stale" first)."""
    if cached is None or cached == ABSENT:
        return None
    held = _CREDENTIALS.get(id(cached))
    if held is not None and held[0] is cached:
        return held[1]  # frozen: safe to share between requests
    credentials = PartnerCredentials.from_json(cached)
    if len(_CREDENTIALS) >= 1024:
        _CREDENTIALS.clear()
    _CREDENTIALS[id(cached)] = (cached, credentials)
    return credentials


def partner_credentials_load(*, username: str, generation: str) -> PartnerCredentials | None:
    """The active partner with this username from the database (one query), cached for the next requests
    under ``generation``; an unknown or inactive username is cached as such too, for as long."""
    row = (
        Partner.objects.filter(username=username, is_active=True)
        .values_list(
            "id",
            "uuid",
            "username",
            "name",
            "secret_hash",
            "previous_secret_hash",
            "previous_secret_valid_until",
            "rate_limit_per_minute",
        )
        .first()
    )
    credentials = PartnerCredentials(*row) if row is not None else None
    set_json(
        partner_credentials_cache_key(username),
        _stamped(credentials.as_json() if credentials is not None else ABSENT, generation),
        settings.ORMA_CREDENTIAL_CACHE_SECONDS,
    )
    return credentials


def grant_get(*, partner_id: int, department_uuid: uuid.UUID, dealer_uuid: uuid.UUID | None = None) -> Grant | None:
    """The partner's grant on a department (with department and dealer), or None when it holds none."""
    grants = Grant.objects.select_related("department__dealer").filter(
        partner_id=partner_id, department__uuid=department_uuid
    )
    if dealer_uuid is not None:
        grants = grants.filter(department__dealer__uuid=dealer_uuid)
    return grants.first()


def _row_json(instance: models.Model) -> dict[str, Any]:
    """A model row's cacheable columns as JSON values (UUIDs, datetimes and any other non-JSON value as the
    field's own text form, which its ``to_python`` reads back)."""
    row = {}
    for field in instance._meta.concrete_fields:
        if field.attname in _UNCACHED_FIELDS:
            continue
        value = field.value_from_object(instance)
        if value is not None and not isinstance(value, str | int | float | bool | list | dict):
            value = field.value_to_string(instance)
        row[field.attname] = value
    return row


def _row_from_json(model: type[M], data: dict[str, Any]) -> M:
    """The row back as a model instance, as if loaded from the database (uncached columns deferred)."""
    fields = [field for field in model._meta.concrete_fields if field.attname in data]
    return loaded_instance(model, [f.attname for f in fields], [f.to_python(data[f.attname]) for f in fields])


def grant_to_json(grant: Grant) -> dict[str, Any]:
    """A grant with its department and dealer, as the cache keeps it."""
    return {
        "grant": _row_json(grant),
        "department": _row_json(grant.department),
        "dealer": _row_json(grant.department.dealer),
    }


# The columns of a cached grant once read back (field by field, ~25 us), by the identity of the entry: the
# near cache (orma.nearcache) hands every request of a process the same entry object. Instances are built anew
# each time (cheap), so no request sees what another one set on them.
_PREPARED: dict[int, tuple[dict[str, Any], list[tuple[type[models.Model], list[str], list[Any]]]]] = {}


def _prepared_rows(data: dict[str, Any]) -> list[tuple[type[models.Model], list[str], list[Any]]]:
    held = _PREPARED.get(id(data))
    if held is not None and held[0] is data:
        return held[1]
    rows: list[tuple[type[models.Model], list[str], list[Any]]] = []
    models_and_parts: tuple[tuple[type[models.Model], str], ...] = (
        (Dealer, "dealer"),
        (Department, "department"),
        (Grant, "grant"),
    )
    for model, part in models_and_parts:
        fields = [field for field in model._meta.concrete_fields if field.attname in data[part]]
        rows.append((model, [f.attname for f in fields], [f.to_python(data[part][f.attname]) for f in fields]))
    if len(_PREPARED) >= 1024:
        _PREPARED.clear()
    _PREPARED[id(data)] = (data, rows)  # holding the entry keeps its id from being reused meanwhile
    return rows


def grant_from_json(data: dict[str, Any]) -> Grant:
    """The cached grant back: model instances with their department and its dealer attached, no query."""
    dealer, department, grant = (loaded_instance(model, names, values) for model, names, values in _prepared_rows(data))
    assert isinstance(dealer, Dealer) and isinstance(department, Department) and isinstance(grant, Grant)
    department.dealer = dealer
    grant.department = department
    return grant


def grant_get_cached(
    *,
    partner: PartnerCredentials,
    department_uuid: uuid.UUID,
    dealer_uuid: uuid.UUID | None,
    cached: Any,
    generation: str | None,
) -> Grant | None:
    """:func:`grant_get` answered from the entry authentication read (``cached``, of ``generation``) when it
    is current, else from the database, then cached for the next request. No grant is not cached: a 404
    costs its query, and guessed department UUIDs fill no cache."""
    value = cached_value(cached, generation)
    if value is not STALE and value is not None:
        grant = grant_from_json(value)
        if grant.partner_id == partner.id and str(grant.department.uuid) == str(department_uuid):
            if dealer_uuid is not None and str(grant.department.dealer.uuid) != str(dealer_uuid):
                return None
            return grant
    generation = partner_generation(username=partner.username, seen=generation)
    grant = grant_get(partner_id=partner.id, department_uuid=department_uuid)
    if grant is not None:
        set_json(
            partner_grant_cache_key(partner.username, str(department_uuid)),
            _stamped(grant_to_json(grant), generation),
            settings.ORMA_CREDENTIAL_CACHE_SECONDS,
        )
        if dealer_uuid is not None and str(grant.department.dealer.uuid) != str(dealer_uuid):
            return None
    return grant


def partner_holds_scope(*, partner_id: int, scope: str) -> bool:
    """Whether the partner holds ``scope`` on at least one department (views without a department)."""
    return scope in partner_scopes_held(partner_id=partner_id)


def partner_scopes_held(*, partner_id: int) -> set[str]:
    """Every scope the partner holds on any department."""
    held = Grant.objects.filter(partner_id=partner_id).values_list("scopes", flat=True)
    return {scope for scopes in held for scope in scopes}


def partner_holds_scope_cached(*, partner: PartnerCredentials, scope: str, cached: Any, generation: str | None) -> bool:
    """:func:`partner_holds_scope` answered from the entry authentication read when it is current."""
    value = cached_value(cached, generation)
    if value is STALE or not isinstance(value, dict) or value.get("partner_id") != partner.id:
        generation = partner_generation(username=partner.username, seen=generation)
        value = {"partner_id": partner.id, "scopes": sorted(partner_scopes_held(partner_id=partner.id))}
        set_json(
            partner_grant_cache_key(partner.username, None),
            _stamped(value, generation),
            settings.ORMA_CREDENTIAL_CACHE_SECONDS,
        )
    return scope in value["scopes"]
