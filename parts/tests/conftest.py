"""Fixtures of the parts tests: the store (the shared ``department``), its dealer, a stocked part, a customer."""

from __future__ import annotations

import pytest

from orders.tests.factories import CustomerFactory

from .factories import PartFactory, StockFactory


@pytest.fixture
def store(department):
    return department


@pytest.fixture
def dealer(store):
    return store.dealer


@pytest.fixture
def stock(store):
    return StockFactory(department=store, part=PartFactory(dealer=store.dealer), on_hand=10)


@pytest.fixture
def customer(store):
    return CustomerFactory(dealer=store.dealer)
