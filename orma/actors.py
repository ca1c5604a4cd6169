"""Who writes: a partner through the API, a staff user in the admin, or the DMS. Every history row of
every app names its actor and channel in these terms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import models


class Channel(models.TextChoices):
    """Through which door a change came in (the ``channel`` of every history row)."""

    API = "API"
    ADMIN = "ADMIN"
    DMS = "DMS"


@dataclass(frozen=True)
class Actor:
    """Who writes: a partner (API), a staff user (admin) or the DMS."""

    channel: str
    name: str
    partner_id: int | None = None
    user_id: int | None = None

    @classmethod
    def partner(cls, credentials: Any) -> Actor:
        """The authenticated partner of an API request (``request.user``), named by its display name: a
        history row is read by other partners too, and a login they learnt could be guessed at."""
        return cls(Channel.API, credentials.name, partner_id=credentials.id)

    @classmethod
    def staff(cls, user: Any) -> Actor:
        """A staff user working in the admin."""
        return cls(Channel.ADMIN, user.get_username(), user_id=user.pk)
