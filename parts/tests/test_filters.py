"""The parts-order list filters (``parts.filters.PartsOrderFilterSet``) at their home, without HTTP."""

from __future__ import annotations

import uuid

import pytest
from django.http import QueryDict

from orders.tests.factories import CustomerFactory
from orma.errors import DomainError, ErrorCode, Problem
from parts.filters import PartsOrderFilterSet
from parts.models import PartsOrder
from parts.selectors import parts_orders

pytestmark = pytest.mark.django_db


@pytest.fixture
def orders(department):
    customer, other = CustomerFactory.create_batch(2, dealer=department.dealer)
    for who, status in ((customer, "CLOSED"), (customer, "CONFIRMED"), (other, "CLOSED")):
        PartsOrder.objects.create(department=department, customer=who, order_type="STK", status=status)
    return customer


def selected(department, query: str) -> list[tuple[str, str]]:
    found = PartsOrderFilterSet(QueryDict(query), queryset=parts_orders(department_id=department.id)).filtered()
    return sorted((str(order.customer.uuid), order.status) for order in found)


def test_no_filter_selects_every_order_of_the_store(department, orders):
    assert len(selected(department, "")) == 3


def test_the_filters_select_by_customer_and_status(department, orders):
    mine = str(orders.uuid)
    assert selected(department, f"customerId={mine}") == [(mine, "CLOSED"), (mine, "CONFIRMED")]
    assert selected(department, f"customerId={mine}&orderStatus=CLOSED") == [(mine, "CLOSED")]
    assert selected(department, f"customerId={uuid.uuid4()}") == []


def test_bad_list_filters_are_refused_together(department):
    with pytest.raises(DomainError) as refused:
        PartsOrderFilterSet(QueryDict("customerId=x&orderStatus=DONE"), queryset=PartsOrder.objects.none()).filtered()

    assert refused.value.problems == [
        Problem(ErrorCode.FIELD_INVALID, "customerId must be a UUID", "customerId", "x"),
        Problem(
            ErrorCode.FIELD_INVALID,
            "The value 'DONE' is not valid; use one of CREATED, CONFIRMED, INPROGRESS, SHIPPED, CLOSED.",
            "orderStatus",
            "DONE",
        ),
    ]
