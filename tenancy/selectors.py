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


def partner_credentials_cache_key(username: str) -> str:
    return f"partner-credentials:{cache_key_part(username)}"


def partner_credentials_load(*, username: str) -> PartnerCredentials | None:
    """The active partner with this username from the database (one query), cached for the next requests."""
    row = (
        Partner.objects.filter(username=username, is_active=True)
        .values_list(
            "id",
            "uuid",
            "username",
            "secret_hash",
            "previous_secret_hash",
            "previous_secret_valid_until",
            "rate_limit_per_minute",
        )
        .first()
    )
    if row is None:
        return None
    credentials = PartnerCredentials(*row)
    set_json(partner_credentials_cache_key(username), credentials.as_json(), settings.ORMA_CREDENTIAL_CACHE_SECONDS)
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
