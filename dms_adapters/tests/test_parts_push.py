"""Parts orders to a network DMS (Keyloop) on the outbox, attempt by attempt, against the strict peer:
submit (201 and 202), polling that applies the DMS's line statuses through the parts service, refusals,
retries, and the API waiting a moment for a synchronous DMS."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from dms_adapters.models import PartsOrderPush
from dms_adapters.parts_push import parts_order_push_attempt, parts_order_pushes_due
from orma import events
from orma.outbox import OutboxStatus
from parts.models import PartsOrder, PartsOrderStatusChange
from parts.services import PlacedOrder, parts_order_await_dms
from parts.tests.factories import base_url, seed_002_world
from tenancy.choices import DmsKind

pytestmark = pytest.mark.django_db


@pytest.fixture
def keyloop(department, dms_peer, settings):
    settings.ORMA_DMS_READ_TIMEOUT_SECONDS = 0.3
    return dms_peer.connect(department.dealer, DmsKind.KEYLOOP)


@pytest.fixture
def parts_order(keyloop, api, department) -> PartsOrder:
    world = seed_002_world(department)
    response = api.post(f"{base_url(department)}/parts-orders", world["body"], format="json")
    assert response.status_code == 202, response.json()
    return PartsOrder.objects.get(number=response.json()["partsOrderId"])


def attempt(parts_order: PartsOrder) -> str:
    PartsOrderPush.objects.filter(parts_order=parts_order).update(next_attempt_at=timezone.now())
    return parts_order_push_attempt(push_id=PartsOrderPush.objects.get(parts_order=parts_order).pk)


def push_of(parts_order: PartsOrder) -> PartsOrderPush:
    return PartsOrderPush.objects.get(parts_order=parts_order)


def read(api, department, parts_order: PartsOrder) -> dict[str, Any]:
    return api.get(f"{base_url(department)}/parts-orders/{parts_order.number}").json()


def test_a_parts_order_gets_its_push_row_in_its_own_transaction(parts_order):
    push = push_of(parts_order)
    assert (push.status, push.stage, push.dealer_id) == (
        OutboxStatus.PENDING,
        "SUBMIT",
        parts_order.department.dealer_id,
    )
    assert push.pk in parts_order_pushes_due()


def test_a_sandbox_parts_order_is_taken_at_once_then_polled_as_time_passes(api, department):
    world = seed_002_world(department)
    response = api.post(f"{base_url(department)}/parts-orders", world["body"], format="json")
    assert response.status_code == 201 and response.json()["dms"]["status"] == "SYNCED"
    parts_order = PartsOrder.objects.get(number=response.json()["partsOrderId"])
    push = push_of(parts_order)
    assert (push.stage, push.status) == ("POLL", OutboxStatus.PENDING)
    assert push.next_attempt_at > timezone.now()  # the first poll is a little later

    PartsOrder.objects.filter(pk=parts_order.pk).update(created_at=timezone.now() - dt.timedelta(minutes=4))
    assert attempt(parts_order) == "POLLED"
    assert read(api, department, parts_order)["orderStatus"] == "SHIPPED"  # INTRANSIT after 3 minutes


def test_a_201_syncs_the_order_and_polling_follows_the_dms_to_closed(api, department, parts_order, dms_peer):
    assert attempt(parts_order) == "SUBMITTED"
    parts_order.refresh_from_db()
    assert (parts_order.dms_status, parts_order.dms_order_number) == ("SYNCED", "123445677")
    assert push_of(parts_order).stage == "POLL" and push_of(parts_order).next_attempt_at > timezone.now()

    dms_peer.set_line_statuses(parts_order.dms_order_number, ["INTRANSIT"])
    with events.recording(events.EventType.PARTS_ORDER_STATUS_CHANGED, phase=events.Phase.IN_TRANSACTION) as changed:
        assert attempt(parts_order) == "POLLED"
    assert read(api, department, parts_order)["orderStatus"] == "SHIPPED"
    assert [(e.data["old_status"], e.data["new_status"]) for e in changed] == [("CONFIRMED", "SHIPPED")]
    assert PartsOrderStatusChange.objects.filter(parts_order=parts_order, channel="DMS").exists()

    assert attempt(parts_order) == "POLLED"  # nothing changed: the next poll comes later
    assert push_of(parts_order).quiet_polls == 1

    dms_peer.set_line_statuses(parts_order.dms_order_number, ["INVOICED"])
    assert attempt(parts_order) == "CLOSED"
    assert read(api, department, parts_order)["orderStatus"] == "CLOSED"
    assert push_of(parts_order).status == OutboxStatus.SYNCED
    assert parts_order.pk not in parts_order_pushes_due()


def test_a_202_is_queued_then_confirmed_by_a_poll(api, department, parts_order, dms_peer):
    dms_peer.parts_orders_async = True

    assert attempt(parts_order) == "QUEUED"
    parts_order.refresh_from_db()
    assert (parts_order.dms_status, parts_order.dms_order_number) == ("PENDING", "123445677")

    dms_peer.set_line_statuses("123445677", ["RESERVED"])
    assert attempt(parts_order) == "POLLED"
    parts_order.refresh_from_db()
    assert parts_order.dms_status == "SYNCED"


def test_a_refused_submit_is_rejected_with_the_dms_errors(department, parts_order, dms_peer):
    dms_peer.refuse([{"field": "orderType", "value": "VOR", "issue": "VOR orders are closed today"}])

    assert attempt(parts_order) == "REJECTED"

    parts_order.refresh_from_db()
    assert parts_order.dms_status == "REJECTED"
    assert parts_order.dms_errors and "VOR orders are closed today" in str(parts_order.dms_errors)
    assert push_of(parts_order).status == OutboxStatus.REJECTED


def test_a_5xx_is_retried_later(parts_order, dms_peer):
    dms_peer.fail(503)

    assert attempt(parts_order) == "RETRY"
    assert push_of(parts_order).next_attempt_at > timezone.now()
    assert attempt(parts_order) == "SUBMITTED"
    assert len(dms_peer.parts_orders) == 1


class TestTheApiWaitsForASynchronousDms:
    def placed(self, parts_order: PartsOrder) -> PlacedOrder:
        return PlacedOrder(parts_order, list(parts_order.lines.all()), accepted=False)

    def test_it_answers_the_dms_lines_once_the_worker_synced_the_order(self, parts_order):
        PartsOrder.objects.filter(pk=parts_order.pk).update(dms_status="SYNCED")

        answer = parts_order_await_dms(placed=self.placed(parts_order), seconds=1)

        assert answer.accepted and answer.parts_order.pk == parts_order.pk

    def test_it_gives_up_after_its_seconds(self, parts_order):
        assert parts_order_await_dms(placed=self.placed(parts_order), seconds=0.2).accepted is False

    def test_an_asynchronous_dealer_is_not_waited_for(self, parts_order):
        dealer = parts_order.department.dealer
        dealer.dms_mode = "async"
        dealer.save()
        PartsOrder.objects.filter(pk=parts_order.pk).update(dms_status="SYNCED")
        parts_order.department.dealer = dealer

        assert parts_order_await_dms(placed=self.placed(parts_order), seconds=1).accepted is False
