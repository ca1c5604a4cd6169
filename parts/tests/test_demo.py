"""The demo catalogue of ``orma_seed_demo``."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.tests.factories import CustomerFactory
from parts.demo import seed_parts_demo
from parts.models import CustomerDiscount, Part, Stock

from .factories import base_url

pytestmark = pytest.mark.django_db


class TestDemo:
    def test_it_seeds_a_catalogue_with_stock_discounts_and_a_supersession_chain_idempotently(self, store, api):
        customer = CustomerFactory(dealer=store.dealer)

        first = seed_parts_demo(dealer=store.dealer, store=store, customers=[customer])
        counts = (Part.objects.count(), Stock.objects.count(), CustomerDiscount.objects.count())
        second = seed_parts_demo(dealer=store.dealer, store=store, customers=[str(customer.uuid)])

        assert first == second and len(first) >= 8
        assert (Part.objects.count(), Stock.objects.count(), CustomerDiscount.objects.count()) == counts
        answer = api.get(
            f"{base_url(store)}/price-availability",
            {"partId": "V1K0615301AA", "customerId": str(customer.uuid), "quantity": 2, "orderType": "VOR"},
        ).json()
        assert answer["supersession"]["chain"] == ["V1K0615301AA", "V1K0615301AB", "V1K0615301AC"]
        assert answer["availability"] == "IN_STOCK"
        assert answer["discountPercent"] == 10
        assert answer["surcharge"] is not None
        assert Decimal(str(answer["customerPrice"]["netValue"])) == Decimal("85.32")  # 94.80 less 10 %
