"""One attempt of a delivery against a real endpoint on 127.0.0.1 (issue 10, point 4), called in the test
process: outcomes, the log, signatures and rotation, the webhook-id, the schedule, the claim's ordering and
cap, disabling and re-enabling, redelivery and the log's retention. The worker itself: ``test_worker.py``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.utils import timezone
from freezegun import freeze_time
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from notifications import delivery as core
from notifications.delivery import (
    RETRY_SCHEDULE,
    DeliverySettings,
    deliveries_requeue,
    delivery_attempt,
    delivery_log_purge,
    retry_delay,
    subscriptions_disable_failing,
)
from notifications.models import Delivery, DeliveryAttempt, DeliveryStatus, SubscriptionNotice
from notifications.signing import new_secret
from notifications.tests.factories import (
    DeliveryAttemptFactory,
    DeliveryFactory,
    EventFactory,
    SubscriptionFactory,
    pending_delivery,
)
from notifications.tests.receiver import Receiver, Reply
from orma.events import EventType

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _loopback(settings):
    settings.ORMA_WEBHOOK_ALLOW_PRIVATE = True
    settings.ORMA_WEBHOOK_TIMEOUT_SECONDS = 2
    settings.ORMA_WEBHOOK_RETRY_SCHEDULE = []
    # One delivery per attempt: these tests follow single deliveries; batches of several: test_batches.py
    settings.ORMA_WEBHOOK_BATCH_SIZE = 1


@pytest.fixture
def endpoint():
    with Receiver() as receiver:
        yield receiver


@pytest.fixture
def subscription(endpoint):
    return SubscriptionFactory(url=endpoint.url)


def due_now(delivery):
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


def fresh(row):
    row.refresh_from_db()
    return row


def log_of(delivery):
    return list(
        DeliveryAttempt.objects.filter(delivery=delivery)
        .order_by("number")
        .values_list("number", "status_code", "succeeded")
    )


def hand_verified(secret, headers, body):
    """The receiver's side of Standard Webhooks, written out: HMAC-SHA256 of "id.timestamp.body" with the
    secret's decoded bytes, compared with each v1 signature of the header."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    given = [part.split(",", 1)[1] for part in headers["webhook-signature"].split(" ") if part.startswith("v1,")]
    return any(hmac.compare_digest(expected, signature) for signature in given)


class TestOutcomes:
    def test_it_delivers_a_2xx_logs_it_and_marks_the_subscription_healthy(self, endpoint, subscription):
        delivery = pending_delivery(subscription)
        subscription.failing_since = timezone.now() - timedelta(hours=1)
        subscription.save()

        assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.DELIVERED

        delivery = fresh(delivery)
        assert delivery.status == DeliveryStatus.DELIVERED and delivery.delivered_at is not None
        assert delivery.lease_until is None and delivery.attempt_token is None
        [attempt] = DeliveryAttempt.objects.filter(delivery=delivery)
        assert (attempt.number, attempt.status_code, attempt.succeeded, attempt.response_body) == (1, 200, True, "ok")
        assert attempt.error == ""
        subscription = fresh(subscription)
        assert subscription.last_success_at is not None and subscription.failing_since is None
        [request] = endpoint.requests
        assert request.headers["content-type"] == "application/json"
        assert request.headers["user-agent"].startswith("OrMa-Webhooks/")
        assert request.payload["id"] == str(delivery.event.uuid)

    def test_500_500_200_is_three_attempts_one_success_all_logged_with_one_webhook_id(self, endpoint, subscription):
        endpoint.script = lambda request: Reply(500, body=b"boom") if request.number <= 2 else Reply(200)
        delivery = pending_delivery(subscription)

        outcomes = []
        for _ in range(3):
            outcomes.append(delivery_attempt(delivery_id=delivery.pk))
            due_now(delivery)

        assert outcomes == ["RETRY", "RETRY", DeliveryStatus.DELIVERED]
        assert log_of(delivery) == [(1, 500, False), (2, 500, False), (3, 200, True)]
        assert DeliveryAttempt.objects.filter(delivery=delivery, number=1).get().response_body == "boom"
        assert {r.webhook_id for r in endpoint.requests} == {delivery.webhook_id}
        assert len({r.headers["webhook-timestamp"] for r in endpoint.requests}) >= 1
        assert fresh(delivery).status == DeliveryStatus.DELIVERED

    def test_a_failure_is_retried_on_the_schedule_with_next_attempt_at_in_the_database(self, endpoint, subscription):
        endpoint.script = lambda request: Reply(503)
        delivery = pending_delivery(subscription)
        before = timezone.now()
        assert delivery_attempt(delivery_id=delivery.pk) == "RETRY"
        delivery = fresh(delivery)
        wait = (delivery.next_attempt_at - before).total_seconds()
        assert delivery.status == DeliveryStatus.PENDING and 4 <= wait <= 6.5  # 5 s ± 20 %
        assert delivery.last_error == "HTTP 503"
        assert delivery_attempt(delivery_id=delivery.pk) == "skipped"  # not due yet
        assert fresh(subscription).failing_since is not None

    @pytest.mark.parametrize("status", [400, 404, 429, 500, 502])
    def test_other_statuses_are_retried(self, endpoint, subscription, status):
        endpoint.script = lambda request: Reply(status)
        delivery = pending_delivery(subscription)
        assert delivery_attempt(delivery_id=delivery.pk) == "RETRY"
        assert fresh(subscription).enabled

    def test_it_fails_after_the_last_scheduled_attempt(self, endpoint, subscription, settings):
        settings.ORMA_WEBHOOK_RETRY_SCHEDULE = [0, 0]
        endpoint.script = lambda request: Reply(500)
        delivery = pending_delivery(subscription)
        outcomes = [delivery_attempt(delivery_id=delivery.pk) for _ in range(4)]
        assert outcomes == ["RETRY", "RETRY", DeliveryStatus.FAILED, "skipped"]
        assert fresh(delivery).status == DeliveryStatus.FAILED
        assert len(endpoint.requests) == 3

    def test_410_disables_the_subscription_at_once_and_fails_its_open_deliveries(self, endpoint, subscription):
        endpoint.script = lambda request: Reply(410)
        first, other = pending_delivery(subscription), pending_delivery(subscription)

        assert delivery_attempt(delivery_id=first.pk) == DeliveryStatus.FAILED

        subscription = fresh(subscription)
        assert not subscription.enabled and subscription.disabled_at and "410" in subscription.disabled_reason
        assert [n.kind for n in subscription.notices.all()] == [SubscriptionNotice.Kind.DISABLED_GONE]
        assert fresh(first).status == DeliveryStatus.FAILED
        other = fresh(other)
        assert other.status == DeliveryStatus.FAILED and "subscription disabled" in other.last_error
        assert len(endpoint.requests) == 1

    def test_a_disabled_subscription_is_not_sent_to_and_a_redelivery_after_re_enabling_goes(
        self, endpoint, subscription
    ):
        delivery = pending_delivery(subscription)
        subscription.enabled, subscription.disabled_reason = False, "by the partner"
        subscription.save()
        assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.FAILED
        assert endpoint.requests == []
        assert "by the partner" in fresh(delivery).last_error

        subscription.enabled = True
        subscription.save()
        assert deliveries_requeue(Delivery.objects.filter(pk=delivery.pk)) == 1
        assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.DELIVERED

    def test_a_redirect_is_not_followed(self, endpoint, subscription):
        with Receiver() as target:
            endpoint.script = lambda request: Reply(302, headers={"Location": target.url})
            delivery = pending_delivery(subscription)
            assert delivery_attempt(delivery_id=delivery.pk) == "RETRY"
            assert target.requests == []
        assert len(endpoint.requests) == 1
        attempt = DeliveryAttempt.objects.get(delivery=delivery)
        assert attempt.status_code == 302 and not attempt.succeeded and "not followed" in attempt.error

    def test_a_hanging_endpoint_is_cut_at_the_timeout(self, endpoint, subscription, settings):
        settings.ORMA_WEBHOOK_TIMEOUT_SECONDS = 0.5
        endpoint.script = lambda request: Reply(hang=True)
        delivery = pending_delivery(subscription)
        assert delivery_attempt(delivery_id=delivery.pk) == "RETRY"
        attempt = DeliveryAttempt.objects.get(delivery=delivery)
        assert attempt.status_code is None and attempt.error.startswith("timeout")
        assert 400 <= attempt.duration_ms < 2000

    def test_a_body_dripping_a_byte_at_a_time_is_cut_at_the_timeout_not_after_it(
        self, endpoint, subscription, settings
    ):
        settings.ORMA_WEBHOOK_TIMEOUT_SECONDS = 0.6
        # each byte comes well within any per-read timeout; only a deadline on the whole request cuts it
        endpoint.script = lambda request: Reply(200, body=b"x" * 100, drip=0.05)
        delivery = pending_delivery(subscription)
        assert delivery_attempt(delivery_id=delivery.pk) == "RETRY"
        attempt = DeliveryAttempt.objects.get(delivery=delivery)
        assert attempt.error.startswith("timeout") and not attempt.succeeded
        assert attempt.duration_ms < 2500  # the body alone would take 5 s

    def test_only_the_first_64_kib_of_an_answer_are_read_and_kept(self, endpoint, subscription):
        endpoint.script = lambda request: Reply(200, body=b"y" * (200 * 1024))
        delivery = pending_delivery(subscription)
        assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.DELIVERED
        assert len(DeliveryAttempt.objects.get(delivery=delivery).response_body) == 64 * 1024

    def test_a_connection_refused_is_retried_with_the_error_logged(self, subscription):
        from tests.processes import free_port

        subscription.url = f"http://127.0.0.1:{free_port()}/hook"
        subscription.save()
        delivery = pending_delivery(subscription)
        assert delivery_attempt(delivery_id=delivery.pk) == "RETRY"
        attempt = DeliveryAttempt.objects.get(delivery=delivery)
        assert attempt.status_code is None and "refused" in attempt.error.lower()


class TestSignatures:
    def test_standardwebhooks_and_a_hand_written_check_verify_it(self, endpoint, subscription):
        delivery = pending_delivery(subscription)
        delivery_attempt(delivery_id=delivery.pk)
        [request] = endpoint.requests
        assert Webhook(subscription.secret).verify(request.body, request.headers) == request.payload
        assert hand_verified(subscription.secret, request.headers, request.body)
        assert request.webhook_id == delivery.webhook_id == f"msg_{delivery.uuid.hex}"

    def test_a_wrong_secret_does_not_verify(self, endpoint, subscription):
        delivery_attempt(delivery_id=pending_delivery(subscription).pk)
        [request] = endpoint.requests
        with pytest.raises(WebhookVerificationError):
            Webhook(new_secret()).verify(request.body, request.headers)
        assert not hand_verified(new_secret(), request.headers, request.body)

    def test_during_a_rotation_both_secrets_verify_and_after_it_only_the_new_one(self, endpoint, subscription):
        old = subscription.secret
        subscription.previous_secret, subscription.secret = old, new_secret()
        subscription.previous_secret_until = timezone.now() + timedelta(hours=24)
        subscription.save()

        delivery_attempt(delivery_id=pending_delivery(subscription).pk)
        during = endpoint.requests[-1]
        assert len(during.headers["webhook-signature"].split(" ")) == 2
        for secret in (old, subscription.secret):
            assert Webhook(secret).verify(during.body, during.headers) == during.payload
            assert hand_verified(secret, during.headers, during.body)

        subscription.previous_secret_until = timezone.now() - timedelta(seconds=1)
        subscription.save()
        delivery_attempt(delivery_id=pending_delivery(subscription).pk)
        after = endpoint.requests[-1]
        assert len(after.headers["webhook-signature"].split(" ")) == 1
        assert Webhook(subscription.secret).verify(after.body, after.headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(old).verify(after.body, after.headers)

    def test_the_webhook_id_is_the_same_on_every_retry_and_on_a_redelivery(self, endpoint, subscription, settings):
        settings.ORMA_WEBHOOK_RETRY_SCHEDULE = [0]
        endpoint.script = lambda request: Reply(500) if request.number <= 2 else Reply(200)
        delivery = pending_delivery(subscription)
        assert [delivery_attempt(delivery_id=delivery.pk) for _ in range(2)] == ["RETRY", DeliveryStatus.FAILED]
        assert deliveries_requeue(Delivery.objects.filter(pk=delivery.pk)) == 1
        assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.DELIVERED
        assert [r.webhook_id for r in endpoint.requests] == [delivery.webhook_id] * 3
        # the same message each time: only the timestamp and its signature change
        assert len({r.body for r in endpoint.requests}) == 1
        assert log_of(delivery) == [(1, 500, False), (2, 500, False), (3, 200, True)]


class TestSchedule:
    knobs = DeliverySettings(
        lease=timedelta(seconds=60),
        timeout=15,
        max_in_flight=4,
        schedule=RETRY_SCHEDULE,
        disable_after=timedelta(days=5),
    )

    def test_it_is_standard_webhooks_schedule(self):
        assert RETRY_SCHEDULE == (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
        assert self.knobs.max_attempts == 10

    @pytest.mark.parametrize("attempt", range(1, 10))
    def test_each_delay_is_its_step_within_20_percent(self, attempt):
        step = RETRY_SCHEDULE[attempt - 1]
        delays = [retry_delay(attempt, self.knobs) for _ in range(300)]
        assert all(step * 0.8 <= delay <= step * 1.2 for delay in delays)
        assert min(delays) < step * 0.9 and max(delays) > step * 1.1  # the jitter is there, both ways

    def test_after_the_tenth_attempt_there_is_none(self):
        assert retry_delay(10, self.knobs) is None

    def test_retry_after_is_honoured_when_later_and_bounded_at_24_hours(self):
        assert retry_delay(1, self.knobs, retry_after=60) == 60  # later than 5 s ± 20 %: waited for
        assert 4 <= retry_delay(1, self.knobs, retry_after=1) <= 6  # sooner than the schedule: the schedule
        assert retry_delay(1, self.knobs, retry_after=10 * 86400) == 86400  # a week: cut to 24 h
        assert 4 <= retry_delay(1, self.knobs, retry_after=-5) <= 6

    def test_retry_after_is_read_as_seconds_or_an_http_date(self):
        from notifications.transport import parse_retry_after

        assert parse_retry_after("120") == 120
        assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480 - 30) == 30
        assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480 + 30) == 0
        assert parse_retry_after("soon") is None and parse_retry_after("") is None and parse_retry_after(None) is None

    def test_a_429_with_retry_after_waits_for_it(self, endpoint, subscription):
        endpoint.script = lambda request: Reply(429, headers={"Retry-After": "600"})
        delivery = pending_delivery(subscription)
        before = timezone.now()
        assert delivery_attempt(delivery_id=delivery.pk) == "RETRY"
        wait = (fresh(delivery).next_attempt_at - before).total_seconds()
        assert 599 <= wait <= 601


class TestClaim:
    def test_a_later_delivery_of_an_object_waits_for_the_earlier_one_and_others_do_not(self, endpoint, subscription):
        endpoint.script = lambda request: Reply(500) if request.number == 1 else Reply(200)
        first = pending_delivery(subscription, "order:a")
        second = pending_delivery(subscription, "order:a")
        other = pending_delivery(subscription, "order:b")

        assert delivery_attempt(delivery_id=first.pk) == "RETRY"  # first stays open, in its backoff
        assert delivery_attempt(delivery_id=second.pk) == "skipped"
        assert delivery_attempt(delivery_id=other.pk) == DeliveryStatus.DELIVERED

        due_now(first)
        assert delivery_attempt(delivery_id=first.pk) == DeliveryStatus.DELIVERED
        assert delivery_attempt(delivery_id=second.pk) == DeliveryStatus.DELIVERED
        seen = [r.payload["id"] for r in endpoint.requests]
        assert seen.index(str(first.event.uuid)) < seen.index(str(second.event.uuid))

    def test_a_finally_failed_delivery_lets_the_next_one_go(self, endpoint, subscription, settings):
        settings.ORMA_WEBHOOK_RETRY_SCHEDULE = [0]
        endpoint.script = lambda request: Reply(500) if request.number <= 2 else Reply(200)
        first, second = pending_delivery(subscription, "order:a"), pending_delivery(subscription, "order:a")
        assert delivery_attempt(delivery_id=first.pk) == "RETRY"
        assert delivery_attempt(delivery_id=second.pk) == "skipped"
        assert delivery_attempt(delivery_id=first.pk) == DeliveryStatus.FAILED
        assert delivery_attempt(delivery_id=second.pk) == DeliveryStatus.DELIVERED

    def test_the_cap_of_requests_in_flight_is_enforced_and_an_expired_lease_does_not_count(
        self, subscription, settings
    ):
        settings.ORMA_WEBHOOK_MAX_IN_FLIGHT = 2
        now = timezone.now()
        held = [
            pending_delivery(subscription, status=DeliveryStatus.SENDING, lease_until=now + timedelta(minutes=1))
            for _ in range(2)
        ]
        waiting = pending_delivery(subscription)
        assert delivery_attempt(delivery_id=waiting.pk) == "skipped"
        assert fresh(waiting).status == DeliveryStatus.PENDING and fresh(waiting).attempts == 0

        Delivery.objects.filter(pk=held[0].pk).update(lease_until=now - timedelta(seconds=1))
        assert delivery_attempt(delivery_id=waiting.pk) == DeliveryStatus.DELIVERED

    def test_another_subscriptions_deliveries_do_not_count_toward_the_cap(self, endpoint, subscription, settings):
        settings.ORMA_WEBHOOK_MAX_IN_FLIGHT = 1
        other = SubscriptionFactory(url=endpoint.url)
        pending_delivery(other, status=DeliveryStatus.SENDING, lease_until=timezone.now() + timedelta(minutes=1))
        assert delivery_attempt(delivery_id=pending_delivery(subscription).pk) == DeliveryStatus.DELIVERED

    def test_a_sending_delivery_under_a_live_lease_is_not_taken_and_an_expired_one_is(self, endpoint, subscription):
        now = timezone.now()
        held = pending_delivery(subscription, status=DeliveryStatus.SENDING, lease_until=now + timedelta(minutes=1))
        assert delivery_attempt(delivery_id=held.pk) == "skipped"
        Delivery.objects.filter(pk=held.pk).update(lease_until=now - timedelta(seconds=1))
        assert delivery_attempt(delivery_id=held.pk) == DeliveryStatus.DELIVERED

    def test_the_sweep_leaves_out_deliveries_waiting_for_an_earlier_one(self, subscription):
        first, second = pending_delivery(subscription, "order:a"), pending_delivery(subscription, "order:a")
        ping = pending_delivery(subscription, "")
        assert core.deliveries_due() == [first.pk, ping.pk]
        Delivery.objects.filter(pk=first.pk).update(status=DeliveryStatus.DELIVERED)
        assert core.deliveries_due() == [second.pk, ping.pk]

    def test_the_sweep_leaves_out_subscriptions_at_their_cap(self, subscription, settings):
        settings.ORMA_WEBHOOK_MAX_IN_FLIGHT = 1
        other = SubscriptionFactory()
        waiting, elsewhere = pending_delivery(subscription), pending_delivery(other)
        held = pending_delivery(
            subscription, status=DeliveryStatus.SENDING, lease_until=timezone.now() + timedelta(minutes=1)
        )
        assert core.deliveries_due() == [elsewhere.pk]
        Delivery.objects.filter(pk=held.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
        assert sorted(core.deliveries_due()) == sorted([waiting.pk, elsewhere.pk, held.pk])


class TestDisabling:
    def test_a_successful_ping_re_enables_a_disabled_subscription_with_a_notice(self, endpoint, subscription):
        subscription.enabled, subscription.disabled_reason = False, "the endpoint answered 410 Gone"
        subscription.save()
        event = EventFactory(type=EventType.PING, department=None, subject_key=f"ping:{subscription.uuid}", data={})
        ping = DeliveryFactory(subscription=subscription, event=event)

        assert delivery_attempt(delivery_id=ping.pk) == DeliveryStatus.DELIVERED

        subscription = fresh(subscription)
        assert subscription.enabled and subscription.disabled_reason == "" and subscription.disabled_at is None
        assert [n.kind for n in subscription.notices.all()] == [SubscriptionNotice.Kind.ENABLED]
        assert endpoint.requests[0].payload["departmentUUID"] is None

    def test_a_failed_ping_leaves_it_disabled(self, endpoint, subscription):
        endpoint.script = lambda request: Reply(500)
        subscription.enabled = False
        subscription.save()
        event = EventFactory(type=EventType.PING, department=None, subject_key="ping:x", data={})
        assert delivery_attempt(delivery_id=DeliveryFactory(subscription=subscription, event=event).pk) == "RETRY"
        assert not fresh(subscription).enabled

    def test_failing_without_success_for_5_days_disables_it_on_the_next_failure(self, endpoint, subscription):
        endpoint.script = lambda request: Reply(500)
        subscription.failing_since = timezone.now() - timedelta(days=5, minutes=1)
        subscription.save()
        open_one = pending_delivery(subscription, next_attempt_at=timezone.now() + timedelta(hours=1))
        assert delivery_attempt(delivery_id=pending_delivery(subscription).pk) == "RETRY"
        subscription = fresh(subscription)
        assert not subscription.enabled and "no successful delivery since" in subscription.disabled_reason
        assert [n.kind for n in subscription.notices.all()] == [SubscriptionNotice.Kind.DISABLED_FAILING]
        assert fresh(open_one).status == DeliveryStatus.FAILED

    def test_failing_for_just_under_5_days_does_not(self, endpoint, subscription):
        endpoint.script = lambda request: Reply(500)
        subscription.failing_since = timezone.now() - timedelta(days=5) + timedelta(minutes=1)
        subscription.save()
        delivery_attempt(delivery_id=pending_delivery(subscription).pk)
        assert fresh(subscription).enabled

    def test_the_periodic_task_disables_those_past_5_days_only(self, subscription):
        now = timezone.now()
        past = SubscriptionFactory(failing_since=now - timedelta(days=5, seconds=1))
        within = SubscriptionFactory(failing_since=now - timedelta(days=5) + timedelta(seconds=30))
        healthy = SubscriptionFactory(failing_since=None)
        assert subscriptions_disable_failing(now=now) == 1
        assert [fresh(s).enabled for s in (past, within, healthy)] == [False, True, True]
        assert subscriptions_disable_failing(now=now) == 0  # already disabled: no second notice
        assert past.notices.count() == 1


class TestRequeueAndRetention:
    def test_requeue_resets_the_budget_keeps_the_uuid_and_leaves_a_sending_one_alone(self, subscription):
        failed = pending_delivery(subscription, failed=True)
        sending = pending_delivery(
            subscription, status=DeliveryStatus.SENDING, lease_until=timezone.now() + timedelta(minutes=1)
        )
        uuid = failed.uuid
        assert deliveries_requeue(Delivery.objects.filter(subscription=subscription)) == 1
        failed = fresh(failed)
        assert (failed.status, failed.attempts, failed.last_error, failed.uuid) == (DeliveryStatus.PENDING, 0, "", uuid)
        assert fresh(sending).status == DeliveryStatus.SENDING

    def test_the_purge_deletes_the_log_older_than_the_retention_and_keeps_the_rest(self, subscription):
        with freeze_time(timezone.now() - timedelta(days=31)):
            old = pending_delivery(subscription, delivered=True)
            old_attempt = DeliveryAttemptFactory(delivery=old, started_at=timezone.now())
            old_open = pending_delivery(subscription)
        recent = pending_delivery(subscription, delivered=True)
        DeliveryAttemptFactory(delivery=recent, started_at=timezone.now())

        purged = delivery_log_purge(batch_size=1)

        assert purged == {"attempts": 1, "deliveries": 1, "events": 1}
        assert not DeliveryAttempt.objects.filter(pk=old_attempt.pk).exists()
        assert not Delivery.objects.filter(pk=old.pk).exists()
        assert Delivery.objects.filter(pk__in=[old_open.pk, recent.pk]).count() == 2  # open ones stay
        assert DeliveryAttempt.objects.filter(delivery=recent).count() == 1

    def test_the_payload_sent_is_the_stored_event_not_the_object_as_it_is_now(self, endpoint, subscription):
        event = EventFactory(department=subscription.departments.first(), document={"version": 1})
        delivery = DeliveryFactory(subscription=subscription, event=event)
        delivery_attempt(delivery_id=delivery.pk)
        body = json.loads(endpoint.requests[0].body)
        assert body["data"]["order"] == {"version": 1} and body["data"]["version"] == 1


class TestQueries:
    def test_a_successful_attempt_runs_a_pinned_number_of_queries(
        self, endpoint, subscription, django_assert_max_num_queries
    ):
        delivery = pending_delivery(subscription, "order:a")
        delivery_attempt(delivery_id=pending_delivery(subscription, "order:warm").pk)  # last_success_at written once
        # 8 statements: the subscription's lock (only when the row is due), the in-flight count, the batch FOR UPDATE
        # with its subscription and event, and its update (the claim); the outcomes' UPDATE, the attempts'
        # numbers, the attempts' INSERT; the object's next. The same 8 for a batch of 16 (test_batches.py).
        # Inside the test's transaction each of the 2 atomic blocks adds a SAVEPOINT and its RELEASE.
        with django_assert_max_num_queries(12):
            assert delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.DELIVERED
