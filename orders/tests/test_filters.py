"""The repair-order list filters (``orders.filters.RepairOrderFilterSet``) at their home, without HTTP:
each parameter with a value just inside and just outside what it accepts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.http import QueryDict

from orders.filters import RepairOrderFilterSet
from orders.models import RepairOrder
from orma.errors import DomainError

from .factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def orders(department):
    customer = CustomerFactory(dealer=department.dealer)
    rows = [
        ("RO-1", "OPENED", "WVWZZZ1JZXW000001", dt.datetime(2024, 3, 1, 0, 0, 0, tzinfo=dt.UTC)),
        ("RO-2", "PRE-INVOICED", "", dt.datetime(2024, 3, 1, 23, 59, 59, tzinfo=dt.UTC)),
        ("RO-3", "CLOSED", "WVWZZZ1JZXW000001", dt.datetime(2024, 3, 2, 0, 0, 0, tzinfo=dt.UTC)),
    ]
    RepairOrder.objects.bulk_create(
        RepairOrder(
            department=department,
            customer=customer,
            order_number=number,
            status=status,
            vin=vin,
            created_instant=instant,
            document={},
        )
        for number, status, vin, instant in rows
    )
    return RepairOrder.objects.filter(department=department)


def numbers(orders, query: str) -> list[str]:
    selected = RepairOrderFilterSet(QueryDict(query), queryset=orders).filtered()
    return sorted(selected.values_list("order_number", flat=True))


def problems(orders, query: str) -> list[tuple[str, str, str | None]]:
    with pytest.raises(DomainError) as refused:
        RepairOrderFilterSet(QueryDict(query), queryset=orders).filtered()
    return [(problem.code, problem.description, problem.field) for problem in refused.value.problems]


STATUS_MESSAGE = "status must be one of OPENED, PRE-INVOICED, CLOSED"


@pytest.mark.parametrize(
    ("query", "selected"),
    [
        ("", ["RO-1", "RO-2", "RO-3"]),
        ("status=OPENED", ["RO-1"]),
        ("status=PRE-INVOICED", ["RO-2"]),
        ("status=OPENED&status=CLOSED", ["RO-3"]),  # the last value counts, as QueryDict.get reads it
        ("orderNumber=RO-2", ["RO-2"]),
        ("orderNumber=", ["RO-1", "RO-2", "RO-3"]),  # empty: no filter
        ("orderNumber=ro-2", []),  # exact, as stored
        ("orderNumber=%20RO-2", []),  # not trimmed
        ("vin=%20wvwzzz1jzxw000001%20", ["RO-1", "RO-3"]),  # trimmed, any case
        ("vin=", ["RO-1", "RO-2", "RO-3"]),
        ("createdFrom=2024-03-01", ["RO-1", "RO-2", "RO-3"]),
        ("createdFrom=2024-03-02", ["RO-3"]),  # from the day's first second
        ("createdTo=2024-03-01", ["RO-1", "RO-2"]),  # to its last, inclusive
        ("createdTo=2024-02-29", []),
        ("createdFrom=0001-01-01&createdTo=9999-12-31", ["RO-1", "RO-2", "RO-3"]),
        ("updatedSince=2000-01-01T00:00:00Z", ["RO-1", "RO-2", "RO-3"]),
        ("updatedSince=2000-01-01", ["RO-1", "RO-2", "RO-3"]),  # a date alone is midnight UTC
        ("updatedSince=2000-01-01T00:00:00-19:30", ["RO-1", "RO-2", "RO-3"]),  # read in UTC
        ("updatedSince=2999-01-01T00:00:00%2B00:00", []),
    ],
)
def test_it_selects_what_the_parameters_name(orders, query, selected):
    assert numbers(orders, query) == selected


def _date(name: str, raw: str) -> str:
    return f"{name} must be a date in yyyy-MM-dd format (e.g. 2024-02-01), not {raw!r}"


def _since(raw: str) -> str:
    return (
        "updatedSince must be an ISO 8601 date-time such as 2024-02-01T08:30:00Z or 2024-02-01T09:30:00+01:00 "
        f"(encode + as %2B in a URL), not {raw!r}"
    )


@pytest.mark.parametrize(
    ("query", "refused"),
    [
        ("status=OPEN", [("FIELD_INVALID", f"{STATUS_MESSAGE}, not 'OPEN'", "status")]),
        ("status=opened", [("FIELD_INVALID", f"{STATUS_MESSAGE}, not 'opened'", "status")]),
        ("status=", [("FIELD_INVALID", f"{STATUS_MESSAGE}, not ''", "status")]),  # empty is not a status
        ("createdFrom=2024-02-30", [("FIELD_INVALID", _date("createdFrom", "2024-02-30"), "createdFrom")]),
        ("createdFrom=20240301", [("FIELD_INVALID", _date("createdFrom", "20240301"), "createdFrom")]),
        ("createdFrom=", [("FIELD_INVALID", _date("createdFrom", ""), "createdFrom")]),
        ("createdTo=2024-3-1", [("FIELD_INVALID", _date("createdTo", "2024-3-1"), "createdTo")]),
        ("updatedSince=yesterday", [("FIELD_INVALID", _since("yesterday"), "updatedSince")]),
        ("updatedSince=", [("FIELD_INVALID", _since(""), "updatedSince")]),
        # before the calendar's first day once in UTC
        (
            "updatedSince=0001-01-01T00:00:00%2B01:00",
            [("FIELD_INVALID", _since("0001-01-01T00:00:00+01:00"), "updatedSince")],
        ),
        ("customer=nobody", [("FIELD_INVALID", "customer must be a customerUUID, not 'nobody'", "customer")]),
    ],
)
def test_it_refuses_a_value_that_does_not_parse(orders, query, refused):
    assert problems(orders, query) == refused


def test_it_names_every_parameter_that_does_not_parse_in_their_order(orders):
    found = problems(orders, "updatedSince=z&createdTo=y&createdFrom=x&status=X&orderNumber=RO-1")

    assert [field for _, _, field in found] == ["status", "createdFrom", "createdTo", "updatedSince"]


def test_it_ignores_the_page_parameters(orders):
    assert numbers(orders, "limit=1&cursor=abc&status=CLOSED") == ["RO-3"]
