"""The DMS push on the outbox, attempt by attempt (the task's logic, called directly; the delivery by a real
worker is tested in tests/test_dms_delivery.py): outcomes, retries, coalescing, leases, the circuit."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from dms_adapters.models import DmsAttempt, DmsCircuit, DmsPush
from dms_adapters.services import _settled_unless_newer, dms_push_attempt, dms_pushes_due, dms_pushes_resend
from orders.models import RepairOrder
from orders.tests.factories import CustomerFactory, minimal_body, orders_url
from orma import events, outbox
from orma.outbox import OutboxStatus
from tenancy.choices import DmsKind

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(department):
    return CustomerFactory(dealer=department.dealer)


@pytest.fixture
def peer_dealer(department, dms_peer, settings):
    settings.ORMA_DMS_READ_TIMEOUT_SECONDS = 0.3  # a hanging peer times out fast
    return dms_peer.connect(department.dealer, DmsKind.MYKAARMA)


def create(api, department, customer, **body: Any) -> RepairOrder:
    response = api.put(orders_url(department), minimal_body(customer, **body), format="json")
    assert response.status_code == 201, response.json()
    return RepairOrder.objects.get(uuid=response.json()["orderUUID"])


def update(api, department, order: RepairOrder, customer, **body: Any) -> None:
    response = api.put(f"{orders_url(department)}/{order.uuid}", minimal_body(customer, **body), format="json")
    assert response.status_code == 200, response.json()


def push_of(order: RepairOrder) -> DmsPush:
    return DmsPush.objects.get(repair_order=order)


def attempt(order: RepairOrder) -> str:
    """One attempt, made due first (the backoff is the clock's business, not this test's)."""
    DmsPush.objects.filter(repair_order=order).update(next_attempt_at=timezone.now())
    return dms_push_attempt(push_id=push_of(order).pk)


def dms_state(api, department, order: RepairOrder) -> dict[str, Any]:
    return api.get(f"{orders_url(department)}/{order.uuid}").json()["order"]["dms"]


class TestOutcomes:
    def test_a_new_order_is_pushed_once_and_shows_synced(
        self, api, department, customer, django_capture_on_commit_callbacks
    ):
        order = create(api, department, customer)
        assert (push_of(order).status, push_of(order).version) == (OutboxStatus.PENDING, 1)

        with events.recording(events.EventType.ORDER_DMS_SYNCED) as synced:
            with django_capture_on_commit_callbacks(execute=True):
                assert attempt(order) == "SYNCED"

        dms = dms_state(api, department, order)
        assert dms["status"] == "SYNCED" and dms["orderNumber"].startswith("SBX-") and dms["syncedAt"]
        assert (push_of(order).status, push_of(order).pushed_version) == (OutboxStatus.SYNCED, 1)
        assert [event.subject.pk for event in synced] == [order.pk]
        assert list(DmsAttempt.objects.values_list("number", "version", "outcome")) == [(1, 1, "SYNCED")]
        assert attempt(order) == "skipped"  # nothing left to do: an extra doorbell changes nothing

    def test_business_errors_reject_at_once_and_show_on_the_order(self, api, department, customer):
        order = create(api, department, customer)
        RepairOrder.objects.filter(pk=order.pk).update(
            document={**order.document, "header": {**order.document["header"], "advisorNumber": "X-99"}}
        )

        assert attempt(order) == "REJECTED"

        dms = dms_state(api, department, order)
        assert dms["status"] == "REJECTED"
        assert [error["errorCode"] for error in dms["errors"]] == ["UNKNOWN_ADVISOR"]
        assert push_of(order).status == OutboxStatus.REJECTED

    def test_two_5xx_then_success_is_three_attempts_and_one_dms_order(
        self, api, department, customer, peer_dealer, dms_peer
    ):
        dms_peer.fail(500, times=2)
        order = create(api, department, customer)

        assert [attempt(order) for _ in range(3)] == ["RETRY", "RETRY", "SYNCED"]

        assert len(dms_peer.orders_of(order.uuid)) == 1
        assert list(push_of(order).attempts_log.values_list("outcome", "status_code")) == [
            ("RETRY", 500),
            ("RETRY", 500),
            ("SYNCED", 201),
        ]

    def test_a_retry_waits_with_backoff_and_honours_retry_after(self, api, department, customer, peer_dealer, dms_peer):
        dms_peer.fail(429, retry_after=120)
        order = create(api, department, customer)
        before = timezone.now()

        assert attempt(order) == "RETRY"

        push = push_of(order)
        assert push.status == OutboxStatus.PENDING and push.next_attempt_at >= before + dt.timedelta(seconds=120)
        assert dms_push_attempt(push_id=push.pk) == "skipped"  # not due yet

    def test_an_unreachable_dms_fails_after_the_budget_and_a_resend_delivers(
        self, api, department, customer, peer_dealer, dms_peer, settings
    ):
        order = create(api, department, customer)
        dms_peer.stop()
        assert attempt(order) == "RETRY"
        DmsPush.objects.filter(pk=push_of(order).pk).update(pending_since=timezone.now() - dt.timedelta(days=2))

        assert attempt(order) == "FAILED"
        assert dms_state(api, department, order)["status"] == "FAILED"
        assert push_of(order).attempts_log.count() == 2

        dms_peer.start()
        peer_dealer.dms_base_url = dms_peer.base_url  # the restarted peer listens on a new port
        peer_dealer.save()
        assert dms_pushes_resend(pushes=DmsPush.objects.filter(repair_order=order)) == 1
        assert attempt(order) == "SYNCED"
        assert dms_state(api, department, order)["status"] == "SYNCED"


class TestNewestVersionWins:
    def test_updates_during_a_push_coalesce_into_one_push_of_the_newest(
        self, api, department, customer, peer_dealer, dms_peer
    ):
        order = create(api, department, customer)
        push = outbox.claim(DmsPush, push_of(order).pk, lease=dt.timedelta(minutes=2))  # a worker holds v1
        update(api, department, order, customer, number="RO-2")
        update(api, department, order, customer, number="RO-3")
        assert (push_of(order).status, push_of(order).version) == (OutboxStatus.SENDING, 3)

        # the held attempt ends as the service ends one (it had pushed v1): the row is due again, for v3
        assert outbox.finish(push, status=_settled_unless_newer(1, OutboxStatus.SYNCED), pushed_version=1)
        assert push_of(order).status == OutboxStatus.PENDING

        assert attempt(order) == "SYNCED"  # one more push, of the newest only
        assert dms_peer.versions_seen(order.uuid) == [3]
        assert push_of(order).pushed_version == 3

    def test_an_update_while_sending_leaves_the_row_pending_for_the_newer_version(
        self, api, department, customer, peer_dealer, dms_peer
    ):
        order = create(api, department, customer)
        dms_peer.hang(0.6)  # the first push is still at the DMS when the update comes

        assert attempt(order) == "RETRY"  # timed out (0.3 s); the peer still takes v1 afterwards
        update(api, department, order, customer, number="RO-2")
        dms_peer.wait_idle()
        assert attempt(order) == "SYNCED"

        seen = dms_peer.versions_seen(order.uuid)
        assert seen == sorted(seen) and seen[-1] == 2  # never an older version after a newer one
        assert len(dms_peer.orders_of(order.uuid)) == 1


class TestLeases:
    def test_a_worker_whose_lease_ran_out_cannot_overwrite_the_newer_result(self, api, department, customer):
        order = create(api, department, customer)
        stale = outbox.claim(DmsPush, push_of(order).pk, lease=dt.timedelta(seconds=-1))  # already expired
        assert stale is not None

        assert dms_push_attempt(push_id=stale.pk) == "SYNCED"  # another worker takes the row and finishes

        assert outbox.finish(stale, status=OutboxStatus.FAILED, last_error="late") is False
        assert push_of(order).status == OutboxStatus.SYNCED

    def test_a_held_row_is_not_taken_twice(self, api, department, customer):
        order = create(api, department, customer)
        assert outbox.claim(DmsPush, push_of(order).pk, lease=dt.timedelta(minutes=2)) is not None

        assert dms_push_attempt(push_id=push_of(order).pk) == "skipped"
        assert push_of(order).pk not in dms_pushes_due()

    def test_the_sweep_finds_due_rows_and_expired_leases(self, api, department, customer):
        due, held, later = (create(api, department, customer, number=f"RO-{n}") for n in range(3))
        outbox.claim(DmsPush, push_of(held).pk, lease=dt.timedelta(seconds=-1))
        DmsPush.objects.filter(repair_order=later).update(next_attempt_at=timezone.now() + dt.timedelta(hours=1))

        assert set(dms_pushes_due()) == {push_of(due).pk, push_of(held).pk}

    def test_a_sweep_while_another_runs_rings_nothing(self, api, department, customer, monkeypatch):
        """Two sweeps at once both counted the same waiting doorbells and rang the same rows: one at a time."""
        from django.core.cache import cache

        from dms_adapters import tasks

        create(api, department, customer)
        rung = []
        monkeypatch.setattr(tasks.outbox, "ring", lambda task, row_id: rung.append(row_id))
        assert cache.add(tasks.SWEEP_LOCK, True, timeout=30)  # another sweep is running
        assert tasks.sweep() == 0 and rung == []
        cache.delete(tasks.SWEEP_LOCK)
        assert tasks.sweep() == 1 and len(rung) == 1
        assert cache.add(tasks.SWEEP_LOCK, True, timeout=30)  # the sweep released its lock
        cache.delete(tasks.SWEEP_LOCK)


class TestDealerCircuit:
    def test_a_dms_that_keeps_failing_is_paused_then_probed(
        self, api, department, customer, peer_dealer, dms_peer, settings
    ):
        settings.ORMA_DMS_BREAKER_THRESHOLD = 2
        orders = [create(api, department, customer, number=f"RO-{n}") for n in range(3)]
        dms_peer.fail(503, times=2)

        assert [attempt(order) for order in orders[:2]] == ["RETRY", "RETRY"]

        circuit = DmsCircuit.objects.get(dealer=peer_dealer)
        assert circuit.open_until > timezone.now() and "503" in circuit.reason
        assert attempt(orders[2]) == "skipped"  # paused: the order keeps its attempts
        assert push_of(orders[2]).attempts == 0
        assert dms_pushes_due() == []

        DmsCircuit.objects.filter(pk=circuit.pk).update(open_until=timezone.now() - dt.timedelta(seconds=1))
        assert attempt(orders[2]) == "SYNCED"  # the probe succeeds: closed again
        circuit.refresh_from_db()
        assert (circuit.consecutive_failures, circuit.pauses, circuit.open_until) == (0, 0, None)

    def test_one_dealer_may_hold_only_so_many_workers(self, api, department, customer, settings):
        settings.ORMA_DMS_DEALER_CONCURRENCY = 1
        first, second = (create(api, department, customer, number=f"RO-{n}") for n in range(2))
        outbox.claim(DmsPush, push_of(first).pk, lease=dt.timedelta(minutes=2))

        assert attempt(second) == "skipped"
        assert push_of(second).status == OutboxStatus.PENDING
