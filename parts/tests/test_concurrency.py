"""Stock reservation under real concurrency (PostgreSQL): simultaneous orders never oversell or deadlock."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connections

from orders.tests.factories import CustomerFactory
from parts.models import PartsOrder, PartsOrderLine, Stock
from tenancy.tests.factories import DepartmentFactory, partner_on
from tests.clients import client_for

from .factories import PartFactory, StockFactory, base_url

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_simultaneously(count, request):
    """Run ``request(index)`` in ``count`` threads released together; each uses and closes its own connection."""
    barrier = threading.Barrier(count)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def worker(index):
        try:
            barrier.wait(timeout=30)
            statuses.append(request(index).status_code)
        except BaseException as error:  # reported by the assertion below, not lost in the thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return statuses


@pytest.fixture
def store():
    return DepartmentFactory()


def test_ten_simultaneous_orders_of_3_against_10_on_hand_reserve_exactly_10(store):
    part = PartFactory(dealer=store.dealer)
    stock = StockFactory(department=store, part=part, on_hand=10)
    customer = CustomerFactory(dealer=store.dealer)
    clients = [client_for(partner_on(store)) for _ in range(10)]
    body = {
        "customerId": str(customer.uuid),
        "orderType": "EMG",
        "parts": [{"part": {"partId": part.part_id}, "quantity": 3}],
    }
    url = f"{base_url(store)}/parts-orders"

    statuses = run_simultaneously(10, lambda index: clients[index].post(url, body, format="json"))

    assert statuses == [201] * 10
    assert PartsOrder.objects.count() == 10
    # three orders reserve 3 each, one reserves the last 1 and back-orders 2 (a split line), six back-order 3
    assert Counter(PartsOrderLine.objects.values_list("status", "quantity")) == {
        ("RESERVED", 3): 3,
        ("RESERVED", 1): 1,
        ("BACKORDER", 2): 1,
        ("BACKORDER", 3): 6,
    }
    assert Counter(PartsOrder.objects.values_list("status", flat=True)) == {"CONFIRMED": 3, "INPROGRESS": 7}
    stock.refresh_from_db()
    assert (stock.on_hand, stock.reserved) == (10, 10)
    assert stock.on_hand - stock.reserved >= 0
    assert sum(PartsOrderLine.objects.values_list("reserved_quantity", flat=True)) == 10


def test_orders_locking_two_parts_in_opposite_orders_do_not_deadlock(store):
    first, second = PartFactory(dealer=store.dealer), PartFactory(dealer=store.dealer)
    StockFactory(department=store, part=first, on_hand=100)
    StockFactory(department=store, part=second, on_hand=100)
    customer = CustomerFactory(dealer=store.dealer)
    clients = [client_for(partner_on(store)) for _ in range(10)]
    url = f"{base_url(store)}/parts-orders"

    def order(index):
        parts = [first, second] if index % 2 else [second, first]
        body = {
            "customerId": str(customer.uuid),
            "orderType": "STK",
            "parts": [{"part": {"partId": part.part_id}, "quantity": 1} for part in parts],
        }
        return clients[index].post(url, body, format="json")

    statuses = run_simultaneously(10, order)

    assert statuses == [201] * 10
    assert sorted(Stock.objects.values_list("reserved", flat=True)) == [10, 10]
    assert set(PartsOrderLine.objects.values_list("status", flat=True)) == {"RESERVED"}
