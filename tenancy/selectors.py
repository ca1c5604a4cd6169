"""Reads of tenancy on every request's hot path: a partner's credentials and its grant on a department."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from django.conf import settings

from orma.cache import set_json
from orma.crypto import cache_key_part

from .models import Grant, Partner


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


# What the cache holds for a username no active partner has: the next guess at it costs what a known
# username costs (no database query), so the two answer in the same time (issue 14, defect 4).
ABSENT = {"absent": True}


def partner_credentials_cache_key(username: str) -> str:
    return f"partner-credentials:{cache_key_part(username)}"


def partner_credentials_from_cache(cached: Any) -> PartnerCredentials | None:
    """The cached form back (None for the cached absence; callers tell "absent" from "not cached" first)."""
    return None if cached is None or cached == ABSENT else PartnerCredentials.from_json(cached)


def partner_credentials_load(*, username: str) -> PartnerCredentials | None:
    """The active partner with this username from the database (one query), cached for the next requests;
    an unknown or inactive username is cached as such too, for as long."""
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
        credentials.as_json() if credentials is not None else ABSENT,
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


def partner_holds_scope(*, partner_id: int, scope: str) -> bool:
    """Whether the partner holds ``scope`` on at least one department (views without a department)."""
    return any(
        scope in scopes for scopes in Grant.objects.filter(partner_id=partner_id).values_list("scopes", flat=True)
    )
