"""The services of parts: checking and placing an order, line status changes, retention purge."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from orma import events
from orma.actors import Actor, Channel
from orma.errors import DomainError, ErrorCode, Problem
from parts import rules, services
from parts.models import PartsOrder, PartsOrderLine, PartsOrderStatusChange, Stock
from parts.services import parts_order_line_status_change, parts_orders_purge
from parts.tasks import purge_parts_orders

from .factories import PartFactory, StockFactory, base_url, fresh, place

pytestmark = pytest.mark.django_db

DMS = Actor(Channel.DMS, "sandbox")


def order_request(customer, *lines, **fields):
    """A well-shaped request of ``(partId, quantity)`` lines, as the API serializer hands it to the rules."""
    return rules.PartsOrderRequest(
        customer_uuid=customer.uuid,
        order_type=fields.pop("order_type", "STK"),
        lines=[rules.RequestedLine(quantity=quantity, part_id=part_id) for part_id, quantity in lines],
        **fields,
    )


class TestPlacing:
    """``parts_order_check`` then ``parts_order_place``: the API's path, callable from anywhere (admin, DMS)."""

    def test_it_checks_and_places_an_order_without_the_api(self, partner, store, stock, customer):
        successor = PartFactory(dealer=store.dealer)
        StockFactory(department=store, part=successor, on_hand=1)
        old = PartFactory(dealer=store.dealer, superseded_by=successor)

        checked = services.parts_order_check(
            store=store, request=order_request(customer, (stock.part.part_id, 4), (old.part_id, 2))
        )
        placed = services.parts_order_place(store=store, checked=checked, actor=Actor.partner(partner))

        assert checked.customer.customer == customer
        assert [(line.part, line.superseded) for line in checked.lines] == [(stock.part, None), (successor, old)]
        assert placed.accepted  # the sandbox DMS took it in the transaction
        assert [(line.part_number, line.status, line.quantity) for line in placed.lines] == [
            (stock.part.part_id, "RESERVED", 4),
            (successor.part_id, "RESERVED", 1),  # 1 on hand of 2: split
            (successor.part_id, "BACKORDER", 1),
        ]
        assert fresh(placed.parts_order).status == "INPROGRESS"
        assert fresh(stock).reserved == 4

    def test_the_check_raises_every_problem_with_its_code_field_and_value(self, store, stock, customer):
        store.dealer.parts_order_reference_required = True
        store.dealer.save()
        unknown_company = uuid.uuid4()

        with pytest.raises(DomainError) as refused:
            services.parts_order_check(
                store=store,
                request=order_request(customer, ("VW-NONE", 1), (stock.part.part_id, 0), company_uuid=unknown_company),
            )

        assert refused.value.problems == [
            Problem(
                ErrorCode.UNKNOWN_CUSTOMER,
                f"companyId {unknown_company} is not a customer of this dealer",
                "companyId",
                unknown_company,
            ),
            Problem(ErrorCode.FIELD_REQUIRED, "orderReference is required by this dealer", "orderReference", ""),
            Problem(
                ErrorCode.UNKNOWN_PART,
                "part VW-NONE is not in this dealer's catalogue",
                "parts[0].part.partId",
                "VW-NONE",
            ),
            Problem(ErrorCode.FIELD_INVALID, "quantity must be positive, not 0", "parts[1].quantity", 0),
        ]
        assert PartsOrder.objects.count() == 0

    @pytest.mark.parametrize("count", [0, rules.MAX_LINES + 1])
    def test_the_check_refuses_an_order_without_lines_or_with_too_many(self, store, stock, customer, count):
        with pytest.raises(DomainError, match=f"parts must hold 1 to {rules.MAX_LINES} lines") as refused:
            services.parts_order_check(store=store, request=order_request(customer, *[(stock.part.part_id, 1)] * count))

        assert (refused.value.code, refused.value.problems[0].field) == (ErrorCode.FIELD_INVALID, "parts")


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
        Stock.objects.filter(pk=stock.pk).update(on_hand=0)
        parts_order = place(api, store, customer, (stock.part, 12))
        line = parts_order.lines.get()
        assert line.status == "BACKORDER"
        Stock.objects.filter(pk=stock.pk).update(on_hand=10)
        with pytest.raises(DomainError, match="only 10 of part") as refused:
            parts_order_line_status_change(line=line, status="RESERVED", actor=DMS)
        assert refused.value.code == ErrorCode.CONFLICT
        Stock.objects.filter(pk=stock.pk).update(on_hand=15)

        updated = parts_order_line_status_change(line=line, status="RESERVED", actor=DMS)

        assert (updated.status, fresh(stock).reserved, fresh(line).reserved_quantity) == ("CONFIRMED", 12, 12)

    def test_a_final_line_cannot_change(self, api, store, stock, customer):
        line = place(api, store, customer, (stock.part, 1)).lines.get()
        parts_order_line_status_change(line=line, status="INVOICED", actor=DMS)

        with pytest.raises(DomainError, match="can no longer change") as refused:
            parts_order_line_status_change(line=line, status="RESERVED", actor=DMS)
        assert refused.value.code == ErrorCode.CONFLICT

    def test_an_unknown_status_is_refused(self, api, store, stock, customer):
        line = place(api, store, customer, (stock.part, 1)).lines.get()

        with pytest.raises(DomainError) as refused:
            parts_order_line_status_change(line=line, status="LOST", actor=DMS)
        assert refused.value.problems == [
            Problem(ErrorCode.FIELD_INVALID, "unknown line status 'LOST'", "status", "LOST")
        ]

    def test_a_refusal_is_a_django_validation_error_for_the_admin_and_forms(self, api, store, stock, customer):
        line = place(api, store, customer, (stock.part, 1)).lines.get()

        with pytest.raises(ValidationError) as refused:
            parts_order_line_status_change(line=line, status="LOST", actor=DMS)

        assert refused.value.messages == ["unknown line status 'LOST'"]

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
        url = f"{base_url(store)}/parts-orders/{expired.number}"
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
