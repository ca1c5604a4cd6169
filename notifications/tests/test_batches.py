"""Batched attempts (issue 12 / issue 10's throughput): one doorbell takes several due deliveries of a
subscription, sends them one after the other and records them together, against a real endpoint on 127.0.0.1.
Every guarantee of a single attempt (``test_delivery.py``) must hold for each delivery of a batch: the
per-object ordering, the cap of requests in flight, the token, 410, the log of every attempt."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from notifications import delivery as core
from notifications import doorbell, transport
from notifications.delivery import delivery_attempt
from notifications.models import Delivery, DeliveryAttempt, DeliveryStatus, Subscription, SubscriptionNotice
from notifications.tests.factories import (
    DeliveryAttemptFactory,
    DeliveryFactory,
    EventFactory,
    SubscriptionFactory,
    pending_delivery,
)
from notifications.tests.receiver import Receiver, Reply
from orma import outbox

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _loopback(settings):
    settings.ORMA_WEBHOOK_ALLOW_PRIVATE = True
    settings.ORMA_WEBHOOK_TIMEOUT_SECONDS = 2
    settings.ORMA_WEBHOOK_RETRY_SCHEDULE = []
    settings.ORMA_WEBHOOK_BATCH_SIZE = 16


@pytest.fixture
def endpoint():
    with Receiver() as receiver:
        yield receiver


@pytest.fixture
def subscription(endpoint):
    return SubscriptionFactory(url=endpoint.url)


def fresh(row):
    row.refresh_from_db()
    return row


def statuses(deliveries):
    return [fresh(d).status for d in deliveries]


def sent_ids(endpoint):
    return [r.webhook_id for r in endpoint.requests]


class TestOneDoorbellManyDeliveries:
    def test_one_attempt_sends_and_logs_every_delivery_of_the_batch_in_pinned_queries(
        self, endpoint, subscription, django_assert_max_num_queries
    ):
        pending_delivery(subscription)  # an older one: its own doorbell takes it, not this batch
        rows = [pending_delivery(subscription) for _ in range(16)]
        later = pending_delivery(subscription)  # the 17th after the rung one: beyond the batch
        delivery_attempt(delivery_id=pending_delivery(SubscriptionFactory(url=endpoint.url)).pk)  # warm the connection
        Subscription.objects.filter(pk=subscription.pk).update(last_success_at=timezone.now())  # written already
        # the same 8 statements as one delivery (test_delivery.py), with their 2 SAVEPOINT/RELEASE pairs, and
        # the next due delivery to ring for, as the batch came back full
        with django_assert_max_num_queries(13):
            assert delivery_attempt(delivery_id=rows[0].pk) == DeliveryStatus.DELIVERED
        assert statuses(rows) == [DeliveryStatus.DELIVERED] * 16
        assert fresh(later).status == DeliveryStatus.PENDING
        assert sent_ids(endpoint)[1:] == [d.webhook_id for d in rows]  # in id order
        log = DeliveryAttempt.objects.filter(delivery__in=rows)
        assert sorted(log.values_list("delivery_id", "number", "status_code", "succeeded")) == [
            (d.pk, 1, 200, True) for d in rows
        ]
        assert all(fresh(d).attempts == 1 and fresh(d).attempt_token is None for d in rows)

    def test_the_doorbells_of_a_batch_s_other_deliveries_cost_one_statement_each(
        self, endpoint, subscription, django_assert_max_num_queries
    ):
        rows = [pending_delivery(subscription) for _ in range(3)]
        delivery_attempt(delivery_id=rows[0].pk)
        for row in rows[1:]:
            with django_assert_max_num_queries(3):  # the lock that finds nothing due, in its SAVEPOINT
                assert delivery_attempt(delivery_id=row.pk) == "skipped"
        assert len(endpoint.requests) == 3

    def test_attempt_numbers_continue_across_a_redelivery_for_each_delivery_of_a_batch(self, endpoint, subscription):
        first, second = pending_delivery(subscription), pending_delivery(subscription)
        DeliveryAttemptFactory(delivery=first, number=1)
        DeliveryAttemptFactory(delivery=first, number=2)
        delivery_attempt(delivery_id=first.pk)
        assert sorted(DeliveryAttempt.objects.filter(succeeded=True).values_list("delivery_id", "number")) == [
            (first.pk, 3),
            (second.pk, 1),
        ]

    def test_a_ping_of_a_disabled_subscription_goes_and_its_other_deliveries_fail_unsent(self, endpoint, subscription):
        subscription.enabled = False
        subscription.save()
        order = pending_delivery(subscription)
        ping = DeliveryFactory(subscription=subscription, event=EventFactory(type="ping", subject_key=""))
        delivery_attempt(delivery_id=order.pk)
        assert fresh(order).status == DeliveryStatus.FAILED and "disabled" in fresh(order).last_error
        assert fresh(ping).status == DeliveryStatus.DELIVERED
        assert sent_ids(endpoint) == [ping.webhook_id]
        assert not DeliveryAttempt.objects.filter(delivery=order).exists()
        assert fresh(subscription).enabled  # the ping re-enabled it


class TestRingingAfterAFullBatch:
    """A full batch rings for what follows it, unless a run head's batch held exactly the subscription's
    deliveries from the head on: the next one heads the next run and has its doorbell queued (issue 10: the
    stale doorbells a burst left queued ahead of fresh ones, the first-attempt p99)."""

    @pytest.fixture
    def rung(self, monkeypatch):
        rung: list[int] = []
        monkeypatch.setattr(core, "_ring", rung.append)
        return rung

    @pytest.fixture(autouse=True)
    def _batch_of_four(self, settings):
        settings.ORMA_WEBHOOK_BATCH_SIZE = 4

    def test_a_run_head_s_full_batch_leaves_the_next_run_s_head_alone(self, endpoint, subscription, rung):
        rows = [pending_delivery(subscription) for _ in range(8)]
        assert delivery_attempt(delivery_id=rows[0].pk, run_head=True) == DeliveryStatus.DELIVERED
        assert statuses(rows) == [DeliveryStatus.DELIVERED] * 4 + [DeliveryStatus.PENDING] * 4
        assert rung == []  # rows[4] heads the next run: its doorbell is queued already
        assert delivery_attempt(delivery_id=rows[4].pk, run_head=True) == DeliveryStatus.DELIVERED
        assert statuses(rows) == [DeliveryStatus.DELIVERED] * 8

    def test_any_other_full_batch_rings_for_the_next(self, endpoint, subscription, rung):
        rows = [pending_delivery(subscription) for _ in range(8)]
        assert delivery_attempt(delivery_id=rows[0].pk) == DeliveryStatus.DELIVERED
        assert rung == [rows[4].pk]

    def test_a_run_head_s_batch_that_reached_past_a_waiting_delivery_rings_for_the_next(
        self, endpoint, subscription, rung, settings
    ):
        settings.ORMA_WEBHOOK_RETRY_SCHEDULE = [60]
        endpoint.script = lambda request: Reply(500) if request.payload["data"]["orderUUID"] == "a" else Reply(200)
        a1 = pending_delivery(subscription, "order:a")
        assert delivery_attempt(delivery_id=a1.pk) == "RETRY"  # a1 open, in its backoff
        rows = [pending_delivery(subscription), pending_delivery(subscription, "order:a")]  # [1] waits for a1
        rows += [pending_delivery(subscription) for _ in range(6)]
        rung.clear()
        # the run from rows[0] on: the batch leaves rows[1] out and takes rows[4], the next run's head
        assert delivery_attempt(delivery_id=rows[0].pk, run_head=True) == DeliveryStatus.DELIVERED
        assert statuses(rows[:6]) == [DeliveryStatus.DELIVERED, DeliveryStatus.PENDING] + [
            DeliveryStatus.DELIVERED
        ] * 3 + [DeliveryStatus.PENDING]
        assert rung == [rows[5].pk]  # no doorbell of its own: rung now, not at the sweep

    def test_a_run_head_s_batch_with_nothing_after_it_rings_for_an_older_waiting_one(
        self, endpoint, subscription, rung
    ):
        older = pending_delivery(subscription)
        rows = [pending_delivery(subscription) for _ in range(4)]
        assert delivery_attempt(delivery_id=rows[0].pk, run_head=True) == DeliveryStatus.DELIVERED
        assert rung == [older.pk]


class TestDoorbellsOfACommit:
    def test_a_commit_rings_each_run_s_head_as_a_run_and_one_by_one_asks_as_single_deliveries(
        self, subscription, settings, monkeypatch, django_capture_on_commit_callbacks
    ):
        settings.ORMA_WEBHOOK_BATCH_SIZE = 4
        published: list[tuple[str, int]] = []
        monkeypatch.setattr(outbox, "_publish", lambda task, row_id: published.append((task.name, row_id)))
        rows = [pending_delivery(subscription) for _ in range(6)]
        with django_capture_on_commit_callbacks(execute=True):
            with transaction.atomic():
                for row in rows:
                    doorbell.ring(row.pk, subscription_id=subscription.pk)
                doorbell.ring(rows[2].pk)  # the next of an object, asked for alone
        assert published == [
            ("notifications.deliver", rows[2].pk),
            ("notifications.deliver_run", rows[0].pk),
            ("notifications.deliver_run", rows[4].pk),
        ]

    @pytest.mark.parametrize("thread_on", [True, False])
    def test_with_a_real_broker_the_doorbells_go_out_on_the_webhooks_own_publisher_thread(
        self, subscription, settings, monkeypatch, django_capture_on_commit_callbacks, thread_on
    ):
        from notifications.tasks import deliver

        settings.ORMA_WEBHOOK_DOORBELL_THREAD = thread_on
        published: list[tuple[str, int, str]] = []
        monkeypatch.setattr(
            outbox,
            "_publish",
            lambda task, row_id: published.append((task.name, row_id, threading.current_thread().name)),
        )
        rows = [pending_delivery(subscription) for _ in range(2)]
        eager = deliver.app.conf.task_always_eager
        deliver.app.conf.task_always_eager = False  # as a process on a real broker (the publish is the stand-in)
        try:
            with django_capture_on_commit_callbacks(execute=True):
                with transaction.atomic():
                    doorbell.ring(rows[0].pk, subscription_id=subscription.pk)
                    doorbell.ring(rows[1].pk)
            assert doorbell._publisher.drain(5.0)
        finally:
            deliver.app.conf.task_always_eager = eager
        expected = "webhook-doorbells" if thread_on else threading.current_thread().name  # off: the committer
        assert published == [
            ("notifications.deliver", rows[1].pk, expected),
            ("notifications.deliver_run", rows[0].pk, expected),
        ]
        assert doorbell._publisher is not outbox._publisher  # the webhooks' doorbells never wait behind the DMS's


class TestOrderingInABatch:
    def test_a_batch_takes_one_version_per_object_and_the_next_follows_in_order(self, endpoint, subscription):
        a1, a2, a3 = (pending_delivery(subscription, "order:a") for _ in range(3))
        b1 = pending_delivery(subscription, "order:b")
        assert delivery_attempt(delivery_id=a1.pk) == DeliveryStatus.DELIVERED
        assert sent_ids(endpoint) == [a1.webhook_id, b1.webhook_id]  # a2 waited for a1: not in the batch
        assert statuses([a2, a3]) == [DeliveryStatus.PENDING] * 2
        assert delivery_attempt(delivery_id=a2.pk) == DeliveryStatus.DELIVERED
        assert delivery_attempt(delivery_id=a3.pk) == DeliveryStatus.DELIVERED
        assert sent_ids(endpoint) == [a1.webhook_id, b1.webhook_id, a2.webhook_id, a3.webhook_id]

    def test_a_retry_in_a_batch_holds_its_object_s_next_version_back(self, endpoint, subscription, settings):
        settings.ORMA_WEBHOOK_RETRY_SCHEDULE = [60]
        endpoint.script = lambda request: Reply(500) if request.payload["data"]["orderUUID"] == "a" else Reply(200)
        a1 = pending_delivery(subscription, "order:a")
        b1 = pending_delivery(subscription, "order:b")
        a2 = pending_delivery(subscription, "order:a")
        assert delivery_attempt(delivery_id=a1.pk) == "RETRY"
        assert statuses([a1, b1, a2]) == [DeliveryStatus.PENDING, DeliveryStatus.DELIVERED, DeliveryStatus.PENDING]
        assert delivery_attempt(delivery_id=a2.pk) == "skipped"  # a1 is open, in its backoff
        assert sent_ids(endpoint).count(a2.webhook_id) == 0


class TestCapWithBatches:
    def test_a_batch_is_one_request_in_flight_and_the_cap_counts_batches(self, endpoint, subscription, settings):
        settings.ORMA_WEBHOOK_MAX_IN_FLIGHT = 2
        lease = timezone.now() + timedelta(minutes=1)
        batch = uuid.uuid4()
        held = [pending_delivery(subscription, status=DeliveryStatus.SENDING, lease_until=lease, attempt_token=batch)]
        held += [pending_delivery(subscription, status=DeliveryStatus.SENDING, lease_until=lease, attempt_token=batch)]
        waiting = pending_delivery(subscription)
        # one batch of two rows holds one slot of two: this claim may go
        assert delivery_attempt(delivery_id=waiting.pk) == DeliveryStatus.DELIVERED

        pending_delivery(subscription, status=DeliveryStatus.SENDING, lease_until=lease, attempt_token=uuid.uuid4())
        turned_away = pending_delivery(subscription)
        assert delivery_attempt(delivery_id=turned_away.pk) == "skipped"  # two batches: the cap
        assert fresh(turned_away).attempts == 0
        assert core.deliveries_due() == []  # the sweep leaves a subscription at its cap out as well

        Delivery.objects.filter(pk__in=[d.pk for d in held]).update(lease_until=timezone.now() - timedelta(seconds=1))
        assert delivery_attempt(delivery_id=turned_away.pk) == DeliveryStatus.DELIVERED

    def test_a_doorbell_at_the_cap_costs_one_statement_and_takes_no_lock(
        self, subscription, settings, django_assert_max_num_queries
    ):
        settings.ORMA_WEBHOOK_MAX_IN_FLIGHT = 2
        lease = timezone.now() + timedelta(minutes=1)
        for _ in range(2):  # a hanging endpoint: both slots held
            pending_delivery(subscription, status=DeliveryStatus.SENDING, lease_until=lease, attempt_token=uuid.uuid4())
        turned_away = pending_delivery(subscription)
        with django_assert_max_num_queries(3) as queries:  # the one statement, in its SAVEPOINT
            assert delivery_attempt(delivery_id=turned_away.pk) == "skipped"
        [claim] = [q["sql"] for q in queries.captured_queries if "notifications_subscription" in q["sql"]]
        assert claim.count("FOR NO KEY UPDATE") <= 1  # the lock is in the statement, taken only below the cap
        assert fresh(turned_away).attempts == 0 and fresh(turned_away).status == DeliveryStatus.PENDING

    def test_the_sweep_counts_a_batch_of_many_rows_as_one_slot(self, subscription, settings):
        settings.ORMA_WEBHOOK_MAX_IN_FLIGHT = 2
        lease = timezone.now() + timedelta(minutes=1)
        token = uuid.uuid4()
        for _ in range(5):
            pending_delivery(subscription, status=DeliveryStatus.SENDING, lease_until=lease, attempt_token=token)
        waiting = pending_delivery(subscription)
        assert core.deliveries_due() == [waiting.pk]


class TestABatchPartlyFailing:
    def test_failures_are_retried_and_successes_delivered_each_logged(self, endpoint, subscription, settings):
        settings.ORMA_WEBHOOK_RETRY_SCHEDULE = [300]
        endpoint.script = lambda request: Reply(503) if request.number % 2 == 0 else Reply(200)
        rows = [pending_delivery(subscription) for _ in range(6)]
        before = timezone.now()
        assert delivery_attempt(delivery_id=rows[0].pk) == DeliveryStatus.DELIVERED
        assert statuses(rows) == [DeliveryStatus.DELIVERED, DeliveryStatus.PENDING] * 3
        for row in rows[1::2]:
            row = fresh(row)
            assert row.attempts == 1 and row.last_error == "HTTP 503" and row.attempt_token is None
            assert before + timedelta(seconds=239) < row.next_attempt_at < before + timedelta(seconds=361)
        log = sorted(DeliveryAttempt.objects.values_list("delivery_id", "status_code", "succeeded"))
        assert log == sorted((d.pk, 200 if i % 2 == 0 else 503, i % 2 == 0) for i, d in enumerate(rows))
        assert fresh(subscription).failing_since is not None  # its last request failed

    def test_the_last_request_succeeding_leaves_the_subscription_healthy(self, endpoint, subscription):
        endpoint.script = lambda request: Reply(500) if request.number == 1 else Reply(200)
        rows = [pending_delivery(subscription) for _ in range(3)]
        delivery_attempt(delivery_id=rows[0].pk)
        subscription = fresh(subscription)
        assert subscription.failing_since is None and subscription.last_success_at is not None

    def test_a_refused_connection_does_not_stop_the_batch_each_delivery_has_its_attempt(self, subscription, settings):
        settings.ORMA_WEBHOOK_RETRY_SCHEDULE = [60]
        down = Receiver()
        down.stop()  # nothing listens on its port: connections are refused
        subscription.url = down.url
        subscription.save()
        rows = [pending_delivery(subscription) for _ in range(4)]
        assert delivery_attempt(delivery_id=rows[0].pk) == "RETRY"
        for row in (fresh(d) for d in rows):
            assert (row.status, row.attempts, row.attempt_token) == (DeliveryStatus.PENDING, 1, None)
            assert row.next_attempt_at > timezone.now()
        assert DeliveryAttempt.objects.filter(delivery__in=rows, status_code=None, succeeded=False).count() == 4

    def test_a_timeout_hands_the_rest_of_the_batch_back_untried(self, endpoint, subscription, settings):
        settings.ORMA_WEBHOOK_TIMEOUT_SECONDS = 0.5
        endpoint.script = lambda request: Reply(hang=True) if request.number == 2 else Reply(200)
        rows = [pending_delivery(subscription) for _ in range(5)]
        assert delivery_attempt(delivery_id=rows[0].pk) == DeliveryStatus.DELIVERED
        assert len(endpoint.requests) == 2  # the third was never sent
        first, timed_out, *rest = (fresh(d) for d in rows)
        assert first.status == DeliveryStatus.DELIVERED
        assert timed_out.status == DeliveryStatus.PENDING and timed_out.last_error.startswith("timeout")
        assert DeliveryAttempt.objects.get(delivery=timed_out).error.startswith("timeout")
        for row in rest:  # as before the claim: no attempt counted, none logged, due at once, free to take
            assert (row.status, row.attempts, row.attempt_token, row.lease_until) == (
                DeliveryStatus.PENDING,
                0,
                None,
                None,
            )
            assert row.next_attempt_at <= timezone.now()
        assert not DeliveryAttempt.objects.filter(delivery__in=rest).exists()
        assert sorted(core.deliveries_due()) == [d.pk for d in rest]

    def test_410_mid_batch_disables_the_subscription_and_fails_the_rest_unsent(self, endpoint, subscription):
        endpoint.script = lambda request: Reply(410) if request.number == 2 else Reply(200)
        rows = [pending_delivery(subscription) for _ in range(4)]
        assert delivery_attempt(delivery_id=rows[0].pk) == DeliveryStatus.DELIVERED
        assert len(endpoint.requests) == 2
        assert statuses(rows) == [DeliveryStatus.DELIVERED] + [DeliveryStatus.FAILED] * 3
        assert "subscription disabled" in fresh(rows[2]).last_error and fresh(rows[2]).attempts == 0
        subscription = fresh(subscription)
        assert not subscription.enabled and "410" in subscription.disabled_reason
        assert [n.kind for n in subscription.notices.all()] == [SubscriptionNotice.Kind.DISABLED_GONE]
        assert DeliveryAttempt.objects.count() == 2

    def test_a_row_another_attempt_took_after_the_lease_keeps_that_attempt_s_state(
        self, endpoint, subscription, monkeypatch
    ):
        rows = [pending_delivery(subscription) for _ in range(3)]
        other_token = uuid.uuid4()
        send = transport.send

        def send_and_lose_the_third(**kwargs):
            # as if the lease had run out and another worker had claimed the third row meanwhile
            Delivery.objects.filter(pk=rows[2].pk).update(attempt_token=other_token)
            return send(**kwargs)

        monkeypatch.setattr(transport, "send", send_and_lose_the_third)
        delivery_attempt(delivery_id=rows[0].pk)
        assert statuses(rows[:2]) == [DeliveryStatus.DELIVERED] * 2
        third = fresh(rows[2])
        assert third.status == DeliveryStatus.SENDING and third.attempt_token == other_token
        assert third.delivered_at is None
        assert DeliveryAttempt.objects.filter(delivery=third).count() == 1  # the request was made: it is logged

    def test_a_lease_too_short_for_another_request_hands_the_rest_back(self, endpoint, subscription, settings):
        settings.ORMA_WEBHOOK_TIMEOUT_SECONDS = 2
        settings.ORMA_WEBHOOK_LEASE_SECONDS = 2 + core.LEASE_MARGIN_SECONDS  # room for one request only
        rows = [pending_delivery(subscription) for _ in range(3)]
        assert delivery_attempt(delivery_id=rows[0].pk) == DeliveryStatus.DELIVERED
        assert len(endpoint.requests) == 1
        assert [(fresh(d).status, fresh(d).attempts) for d in rows[1:]] == [(DeliveryStatus.PENDING, 0)] * 2
