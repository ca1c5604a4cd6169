"""The list filters of repair orders (``GET order``), as a django-filter FilterSet.

Each filter reads its query parameter exactly as DESIGN §4 documents it: ``status`` one of the statuses,
``orderNumber`` as sent, ``vin`` in any case, ``createdFrom``/``createdTo`` (yyyy-MM-dd) on the order's
creation instant, ``updatedSince`` (ISO 8601, read in UTC). A value that does not parse is a FIELD_INVALID
problem naming the parameter; :meth:`RepairOrderFilterSet.filtered` raises them all at once as one
DomainError. The API's list serializer uses it; the admin's order list can use the same filters.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from orma.errors import DomainError, ErrorCode, Problem

from .choices import RepairOrderStatus
from .models import RepairOrder


class ParsedField(forms.Field):
    """A query parameter read by ``parse`` (None when absent); what ``parse`` refuses is ``message``."""

    def __init__(self, *, parse: Callable[[str], Any], message: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.parse = parse
        self.message = message

    def clean(self, value: Any) -> Any:
        if value is None:
            return None
        try:
            return self.parse(value)
        except (ValueError, OverflowError):
            raise ValidationError(self.message, code=ErrorCode.FIELD_INVALID) from None


class ParsedFilter(django_filters.Filter):
    """A filter on a :class:`ParsedField`; an empty parsed value filters nothing."""

    field_class = ParsedField


def _status(raw: str) -> str:
    if raw not in RepairOrderStatus.values:
        raise ValueError(raw)
    return raw


def _date(raw: str) -> dt.date:
    if len(raw) != 10:
        raise ValueError(raw)
    return dt.date.fromisoformat(raw)


def _instant(raw: str) -> dt.datetime:
    # in UTC: PostgreSQL refuses offsets beyond ±15:59 that Python accepts
    since = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return since.replace(tzinfo=since.tzinfo or dt.UTC).astimezone(dt.UTC)


def _date_message(name: str) -> str:
    return f"{name} must be a date in yyyy-MM-dd format"


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


class RepairOrderFilterSet(django_filters.FilterSet):
    """The filters of the repair-order list, named by their query parameters."""

    status = ParsedFilter(
        field_name="status",
        label="status",
        parse=_status,
        message=f"status must be one of {', '.join(RepairOrderStatus.values)}",
    )
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
        message="updatedSince must be an ISO 8601 date-time",
    )

    def filter_created_from(self, orders: QuerySet[RepairOrder], name: str, day: dt.date) -> QuerySet[RepairOrder]:
        return orders.filter(created_instant__gte=_day_start(day))

    def filter_created_to(self, orders: QuerySet[RepairOrder], name: str, day: dt.date) -> QuerySet[RepairOrder]:
        if day >= dt.date.max:  # the calendar's last day: nothing lies after it
            return orders
        return orders.filter(created_instant__lt=_day_start(day + dt.timedelta(days=1)))

    def filtered(self) -> QuerySet[RepairOrder]:
        """The orders these parameters select; a DomainError naming every parameter that does not parse."""
        if not self.is_valid():
            raise DomainError(
                Problem(str(error.code), str(error.message), name, self.data.get(name))
                for name, errors in self.form.errors.as_data().items()
                for error in errors
            )
        return self.qs
