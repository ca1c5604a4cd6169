"""The list filters of repair orders (``GET order``), as a django-filter FilterSet.

Each filter reads its query parameter exactly as DESIGN §4 documents it: ``status`` one of the statuses,
``orderNumber`` as sent, ``vin`` in any case, ``createdFrom``/``createdTo`` (yyyy-MM-dd) on the order's
creation instant, ``updatedSince`` (ISO 8601, read in UTC; a space where the offset's ``+`` was meant, as
an unencoded ``+`` arrives, is read as ``+``), ``customer`` (a customerUUID). A value that does not parse
is a FIELD_INVALID problem naming the parameter and quoting the value received; ``filtered()``
(``orma.filters.RuleFilterSet``) raises them all at once as one DomainError. The API's list serializer
uses it; the admin's order list can use the same filters.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable

from django.db.models import QuerySet

from orma.filters import ParsedFilter, RuleFilterSet

from .choices import RepairOrderStatus
from .models import RepairOrder


def _status(raw: str) -> str:
    if raw not in RepairOrderStatus.values:
        raise ValueError(raw)
    return raw


def _date(raw: str) -> dt.date:
    if len(raw) != 10:
        raise ValueError(raw)
    return dt.date.fromisoformat(raw)


# A "+" sent unencoded in a query arrives as a space: "2024-02-01T08:30:00 01:00" meant "+01:00".
_SPACE_FOR_PLUS = re.compile(r"^(?P<instant>.+[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (?P<offset>\d{2}(?::?\d{2})?)$")


def _instant(raw: str) -> dt.datetime:
    # in UTC: PostgreSQL refuses offsets beyond ±15:59 that Python accepts
    raw = raw.strip()
    if match := _SPACE_FOR_PLUS.match(raw):
        raw = f"{match['instant']}+{match['offset']}"
    since = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return since.replace(tzinfo=since.tzinfo or dt.UTC).astimezone(dt.UTC)


def _quoted(raw: str) -> str:
    """The value received, as a message quotes it (cut to a readable length)."""
    return repr(raw[:60] + ("…" if len(raw) > 60 else ""))


def _date_message(name: str) -> Callable[[str], str]:
    return lambda raw: f"{name} must be a date in yyyy-MM-dd format (e.g. 2024-02-01), not {_quoted(raw)}"


def _instant_message(raw: str) -> str:
    return (
        "updatedSince must be an ISO 8601 date-time such as 2024-02-01T08:30:00Z or 2024-02-01T09:30:00+01:00 "
        f"(encode + as %2B in a URL), not {_quoted(raw)}"
    )


def _status_message(raw: str) -> str:
    return f"status must be one of {', '.join(RepairOrderStatus.values)}, not {_quoted(raw)}"


def _customer(raw: str) -> uuid.UUID:
    return uuid.UUID(raw.strip())


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


class RepairOrderFilterSet(RuleFilterSet):
    """The filters of the repair-order list, named by their query parameters."""

    status = ParsedFilter(field_name="status", label="status", parse=_status, message=_status_message)
    orderNumber = ParsedFilter(field_name="order_number", label="orderNumber", parse=str)
    vin = ParsedFilter(field_name="vin", label="vin", parse=lambda raw: raw.strip().upper())
    createdFrom = ParsedFilter(
        label="createdFrom", parse=_date, message=_date_message("createdFrom"), method="filter_created_from"
    )
    createdTo = ParsedFilter(
        label="createdTo", parse=_date, message=_date_message("createdTo"), method="filter_created_to"
    )
    updatedSince = ParsedFilter(
        field_name="updated_at",
        lookup_expr="gte",
        label="updatedSince",
        parse=_instant,
        message=_instant_message,
    )
    customer = ParsedFilter(
        field_name="customer__uuid",
        label="customer",
        parse=_customer,
        message=lambda raw: f"customer must be a customerUUID, not {_quoted(raw)}",
    )

    def filter_created_from(self, orders: QuerySet[RepairOrder], name: str, day: dt.date) -> QuerySet[RepairOrder]:
        return orders.filter(created_instant__gte=_day_start(day))

    def filter_created_to(self, orders: QuerySet[RepairOrder], name: str, day: dt.date) -> QuerySet[RepairOrder]:
        if day >= dt.date.max:  # the calendar's last day: nothing lies after it
            return orders
        return orders.filter(created_instant__lt=_day_start(day + dt.timedelta(days=1)))
