"""After placing: line status changes (service and admin), retention purge, the demo catalogue."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from orders.tests.factories import CustomerFactory
from orma import events
from orma.actors import Actor, Channel
from parts.demo import seed_parts_demo
from parts.models import CustomerDiscount, Part, PartsOrder, PartsOrderLine, PartsOrderStatusChange, Stock
from parts.services import parts_order_line_status_change, parts_orders_purge
from parts.tasks import purge_parts_orders

from .factories import PartFactory, StockFactory, base_url

pytestmark = pytest.mark.django_db

DMS = Actor(Channel.DMS, "sandbox")


@pytest.fixture
def store(department):
    return department


@pytest.fixture
def stock(store):
    return StockFactory(department=store, part=PartFactory(dealer=store.dealer), on_hand=10)


@pytest.fixture
def customer(store):
    return CustomerFactory(dealer=store.dealer)


def place(api, store, customer, *lines):
    body = {
        "customerId": str(customer.uuid),
        "orderType": "STK",
        "parts": [{"part": {"partId": part.part_id}, "quantity": quantity} for part, quantity in lines],
    }
    response = api.post(f"{base_url(store)}/parts-orders", body, format="json")
    assert response.status_code == 201, response.content
    return PartsOrder.objects.get(uuid=response.json()["partsOrderId"])


def fresh(row):
    row.refresh_from_db()
    return row


class TestLineStatusChanges:
    def test_issuing_a_reserved_line_takes_it_off_the_shelf_and_moves_the_order_on(self, api, store, stock, customer):
        parts_order = place(api, store, customer, (stock.part, 4))
        line = parts_order.lines.get()
        assert (fresh(stock).on_hand, stock.reserved, parts_order.status) == (10, 4, "CONFIRMED")

        updated = parts_order_line_status_change(line=line, status="ISSUED", actor=DMS)

        assert updated.status == "INPROGRESS"
        assert (fresh(stock).on_hand, stock.reserved) == (6, 0)
        assert (fresh(line).status, line.reserved_quantity) == ("ISSUED", 0)
        changes = list(
            PartsOrderStatusChange.objects.filter(parts_order=parts_order).values_list(
                "line_id", "old_status", "new_status", "channel"
            )
        )
        assert changes == [
            (None, "", "CONFIRMED", "API"),
            (line.id, "RESERVED", "ISSUED", "DMS"),
            (None, "CONFIRMED", "INPROGRESS", "DMS"),
        ]

    def test_cancelling_a_reserved_line_releases_the_stock_and_closes_the_order(
        self, api, store, stock, customer, django_capture_on_commit_callbacks
    ):
        parts_order = place(api, store, customer, (stock.part, 4))
        with (
            events.recording(events.EventType.PARTS_ORDER_STATUS_CHANGED) as received,
            django_capture_on_commit_callbacks(execute=True),
        ):
            updated = parts_order_line_status_change(line=parts_order.lines.get(), status="CANCELLED", actor=DMS)

        assert (updated.status, fresh(stock).reserved, stock.on_hand) == ("CLOSED", 0, 10)
        assert updated.closed_at is not None
        assert [(event.data["old_status"], event.data["new_status"]) for event in received] == [("CONFIRMED", "CLOSED")]

    def test_a_back_order_is_reserved_when_stock_arrives(self, api, store, stock, customer):
        parts_order = place(api, store, customer, (stock.part, 12))
        line = parts_order.lines.get()
        assert line.status == "BACKORDER"
        with pytest.raises(ValidationError, match="only 10 of part"):
            parts_order_line_status_change(line=line, status="RESERVED", actor=DMS)
        Stock.objects.filter(pk=stock.pk).update(on_hand=15)

        updated = parts_order_line_status_change(line=line, status="RESERVED", actor=DMS)

        assert (updated.status, fresh(stock).reserved, fresh(line).reserved_quantity) == ("CONFIRMED", 12, 12)

    def test_a_final_line_cannot_change(self, api, store, stock, customer):
        line = place(api, store, customer, (stock.part, 1)).lines.get()
        parts_order_line_status_change(line=line, status="INVOICED", actor=DMS)

        with pytest.raises(ValidationError, match="can no longer change"):
            parts_order_line_status_change(line=line, status="RESERVED", actor=DMS)

    def test_an_unknown_status_is_refused(self, api, store, stock, customer):
        line = place(api, store, customer, (stock.part, 1)).lines.get()

        with pytest.raises(ValidationError):
            parts_order_line_status_change(line=line, status="LOST", actor=DMS)

    def test_placing_an_order_tells_the_listeners_after_commit(
        self, api, store, stock, customer, django_capture_on_commit_callbacks
    ):
        with (
            events.recording(events.EventType.PARTS_ORDER_CREATED) as received,
            django_capture_on_commit_callbacks(execute=True) as callbacks,
        ):
            parts_order = place(api, store, customer, (stock.part, 1))
            assert received == []  # nothing is told before the commit

        assert callbacks
        assert [event.subject.uuid for event in received] == [parts_order.uuid]

    def test_the_admin_changes_a_line_status_through_the_service(self, api, client, store, stock, customer):
        parts_order = place(api, store, customer, (stock.part, 4))
        line = parts_order.lines.get()
        admin = get_user_model().objects.create_superuser("root", "root@example.invalid", "pw-Admin-1234")
        client.force_login(admin)
        url = f"/admin/parts/partsorder/{parts_order.pk}/change/"
        assert client.get(url).status_code == 200
        form = {
            "department": store.pk,
            "customer": customer.pk,
            "company": "",
            "partner": parts_order.partner_id,
            "order_type": "STK",
            "order_reference": "",
            "contact": "{}",
            "delivery_street_name": parts_order.delivery_street_name,
            "delivery_postal_code": parts_order.delivery_postal_code,
            "delivery_city": parts_order.delivery_city,
            "delivery_country_code": parts_order.delivery_country_code,
            "dms_order_number": "",
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "1",
            "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "1000",
            "lines-0-id": line.pk,
            "lines-0-parts_order": parts_order.pk,
            "lines-0-status": "CANCELLED",
            "status_changes-TOTAL_FORMS": "0",
            "status_changes-INITIAL_FORMS": "0",
            "status_changes-MIN_NUM_FORMS": "0",
            "status_changes-MAX_NUM_FORMS": "1000",
        }

        response = client.post(url, form)

        assert response.status_code == 302, response.content.decode()[:2000]
        assert (fresh(line).status, fresh(stock).reserved, fresh(parts_order).status) == ("CANCELLED", 0, "CLOSED")
        assert PartsOrderStatusChange.objects.filter(line=line, channel="ADMIN", actor="root").count() == 1

    @pytest.mark.parametrize("model", ["part", "stock", "customerdiscount", "surcharge", "partsorder"])
    def test_the_admin_lists_load(self, client, model, api, store, stock, customer):
        place(api, store, customer, (stock.part, 1))
        client.force_login(get_user_model().objects.create_superuser("root", "root@example.invalid", "pw-Admin-1234"))

        assert client.get(f"/admin/parts/{model}/").status_code == 200


class TestRetention:
    def closed_order(self, api, store, customer, stock, closed_days_ago):
        parts_order = place(api, store, customer, (stock.part, 1))
        parts_order_line_status_change(line=parts_order.lines.get(), status="INVOICED", actor=DMS)
        PartsOrder.objects.filter(pk=parts_order.pk).update(closed_at=timezone.now() - timedelta(days=closed_days_ago))
        return parts_order

    def test_closed_orders_past_retention_are_purged_and_answer_404(self, api, store, stock, customer):
        store.dealer.parts_order_retention_days = 30
        store.dealer.save()
        expired = self.closed_order(api, store, customer, stock, closed_days_ago=31)
        recent = self.closed_order(api, store, customer, stock, closed_days_ago=29)
        open_order = place(api, store, customer, (stock.part, 1))
        PartsOrder.objects.filter(pk=open_order.pk).update(created_at=timezone.now() - timedelta(days=400))
        url = f"{base_url(store)}/parts-orders/{expired.uuid}"
        assert api.get(url).status_code == 200

        dry = StringIO()
        call_command("orma_purge_parts_orders", "--dry-run", "--json", stdout=dry)
        assert json.loads(dry.getvalue()) == {"purged": 1}
        assert PartsOrder.objects.count() == 3
        out = StringIO()
        call_command("orma_purge_parts_orders", "--json", stdout=out)

        assert json.loads(out.getvalue()) == {"purged": 1}
        assert set(PartsOrder.objects.values_list("uuid", flat=True)) == {recent.uuid, open_order.uuid}
        assert not PartsOrderLine.objects.filter(parts_order_id=expired.pk).exists()
        assert api.get(url).status_code == 404

    def test_each_dealer_keeps_its_own_retention(self, api, store, stock, customer):
        self.closed_order(api, store, customer, stock, closed_days_ago=100)  # default retention: 365 days

        assert parts_orders_purge() == 0
        store.dealer.parts_order_retention_days = 90
        store.dealer.save()
        assert purge_parts_orders() == 1  # the periodic task calls the same service


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
            {"partId": "VW1K0615301AA", "customerId": str(customer.uuid), "quantity": 2, "orderType": "VOR"},
        ).json()
        assert answer["supersession"]["chain"] == ["VW1K0615301AA", "VW1K0615301AB", "VW1K0615301AC"]
        assert answer["availability"] == "IN_STOCK"
        assert answer["discountPercent"] == 10
        assert answer["surcharge"] is not None
        assert Decimal(str(answer["customerPrice"]["netValue"])) == Decimal("85.32")  # 94.80 less 10 %
