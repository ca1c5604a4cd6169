"""The rules of a subscription's settings (DESIGN §7), pure: one home for the API, the admin and commands.

Each answers the problems it finds (none when the value is fine), so a caller reports every problem of a
request at once. The departments' rule needs the partner's grants: ``selectors.departments_for_subscription``.
"""

from __future__ import annotations

from collections.abc import Iterable

from orma.errors import ErrorCode, Problem
from orma.events import EventType

from . import ssrf

# The types a subscription may ask for; a ping goes to the subscription it is sent to, whatever it asks.
SUBSCRIBABLE = tuple(choice.value for choice in EventType if choice != EventType.PING)
URL_MAX_LENGTH = 2000  # Subscription.url
MAX_EVENT_TYPES = len(SUBSCRIBABLE)
MAX_DEPARTMENTS = 200


def event_types_problems(event_types: Iterable[str], field: str = "eventTypes") -> list[Problem]:
    """An unknown or unsubscribable event type, each named by its place in the list."""
    return [
        Problem(
            ErrorCode.FIELD_INVALID,
            f"{field}[{index}]: {event_type!r} is not an event type one can subscribe to; expected one of "
            + ", ".join(SUBSCRIBABLE),
            f"{field}[{index}]",
            event_type,
        )
        for index, event_type in enumerate(event_types)
        if event_type not in SUBSCRIBABLE
    ]


def url_problems(url: str, field: str = "url") -> list[Problem]:
    """The URL refused by the SSRF rules (``ssrf.url_refusal``: https, globally routable, no credentials)."""
    why = ssrf.url_refusal(url)
    return [Problem(ErrorCode.FIELD_INVALID, f"{field}: {why}", field, url)] if why else []


def unique(values: Iterable[str]) -> list[str]:
    """The values in their first order, each once (a repeated event type or department means it once)."""
    return list(dict.fromkeys(values))
