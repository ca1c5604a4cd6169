"""The delivery log API (``/notification/v1/delivery`` …, DESIGN §7, issue 10 point 5): the partner's own
deliveries only, the filters, one delivery with its attempts, redelivery with the same webhook-id."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from notifications.models import Delivery, DeliveryStatus, Subscription
from orma.events import EventType

from .factories import DeliveryAttemptFactory, DeliveryFactory, EventFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

BASE = "/notification/v1"
CID = "delivery-log-test"


@pytest.fixture
def subscription(partner, department):
    return SubscriptionFactory(partner=partner, departments=[department])


def ids(response):
    return [row["id"] for row in response.json()["results"]]


class TestList:
    def test_it_lists_the_partners_deliveries_newest_first_with_their_summary(self, api, subscription):
        older = DeliveryFactory(subscription=subscription, delivered=True)
        DeliveryAttemptFactory(delivery=older, number=1, status_code=200, succeeded=True, error="")
        newer = DeliveryFactory(subscription=subscription, failed=True)
        DeliveryAttemptFactory(delivery=newer, number=1, status_code=500)
        DeliveryAttemptFactory(delivery=newer, number=2, status_code=None, error="timed out after 15 s")
        DeliveryFactory()  # another partner's

        response = api.get(f"{BASE}/delivery")

        assert response.status_code == 200, response.content
        assert ids(response) == [str(newer.uuid), str(older.uuid)]
        row = response.json()["results"][0]
        assert row == {
            "id": str(newer.uuid),
            "webhookId": f"msg_{newer.uuid.hex}",
            "subscription": str(subscription.uuid),
            "eventId": str(newer.event.uuid),
            "eventType": "order.created",
            "subject": newer.subject_key,
            "status": "FAILED",
            "attempts": 2,
            "nextAttemptAt": None,
            "lastStatusCode": None,
            "lastError": "HTTP 500",
            "occurredAt": row["occurredAt"],
            "createdAt": row["createdAt"],
            "deliveredAt": None,
        }
        assert response.json()["results"][1]["lastStatusCode"] == 200
        assert response.json()["next"] is None

    def test_a_pending_delivery_shows_its_next_attempt(self, api, subscription):
        due = timezone.now() + dt.timedelta(minutes=5)
        DeliveryFactory(subscription=subscription, next_attempt_at=due)

        (row,) = api.get(f"{BASE}/delivery").json()["results"]

        assert row["nextAttemptAt"] == due.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        assert row["attempts"] == 0

    def test_the_filters(self, api, partner, subscription, department):
        other = SubscriptionFactory(partner=partner, departments=[department])
        failed = DeliveryFactory(subscription=subscription, failed=True)
        delivered = DeliveryFactory(subscription=subscription, delivered=True)
        parts = DeliveryFactory(
            subscription=other, event=EventFactory(department=department, type=EventType.PARTS_ORDER_CREATED)
        )
        Delivery.objects.filter(pk=failed.pk).update(created_at=timezone.now() - dt.timedelta(days=2))

        def listed(query):
            response = api.get(f"{BASE}/delivery?{query}")
            assert response.status_code == 200, response.content
            return set(ids(response))

        assert listed("status=FAILED") == {str(failed.uuid)}
        assert listed(f"subscription={other.uuid}") == {str(parts.uuid)}
        assert listed("eventType=parts_order.created") == {str(parts.uuid)}
        since = (timezone.now() - dt.timedelta(days=1)).isoformat().replace("+00:00", "Z")
        assert listed(f"since={since}") == {str(delivered.uuid), str(parts.uuid)}
        assert listed(f"status=DELIVERED&subscription={subscription.uuid}&eventType=order.created") == {
            str(delivered.uuid)
        }

    def test_another_partners_subscription_filters_to_nothing(self, api, subscription):
        DeliveryFactory(subscription=subscription)
        foreign = DeliveryFactory()

        assert ids(api.get(f"{BASE}/delivery?subscription={foreign.subscription.uuid}")) == []

    def test_bad_filter_values_are_each_named(self, api):
        response = api.get(f"{BASE}/delivery?status=LOST&subscription=nope&eventType=order.deleted&since=later")

        assert response.status_code == 400
        assert {d["field"] for d in response.json()["details"]} == {"status", "subscription", "eventType", "since"}

    def test_an_unknown_query_parameter_is_refused(self, api):
        response = api.get(f"{BASE}/delivery?state=FAILED")

        assert response.status_code == 400
        assert response.json()["details"][0]["field"] == "state"

    def test_it_is_paginated(self, api, subscription):
        deliveries = [DeliveryFactory(subscription=subscription) for _ in range(5)]

        first = api.get(f"{BASE}/delivery?limit=2&status=PENDING")
        second = api.get(first.json()["next"])
        third = api.get(second.json()["next"])

        assert ids(first) + ids(second) + ids(third) == [str(d.uuid) for d in reversed(deliveries)]
        assert "status=PENDING" in first.json()["next"]
        assert third.json()["next"] is None

    @pytest.mark.parametrize("cursor", ["forged", "WzBd", "WyJ4Il0", "WzE4NDQ2NzQ0MDczNzA5NTUxNjE2XQ"])
    def test_a_forged_cursor_is_400(self, api, cursor):
        assert api.get(f"{BASE}/delivery?cursor={cursor}").status_code == 400

    def test_it_runs_a_constant_number_of_queries(self, api, subscription, django_assert_max_num_queries):
        for _ in range(30):
            DeliveryAttemptFactory(delivery=DeliveryFactory(subscription=subscription))

        with django_assert_max_num_queries(3):
            response = api.get(f"{BASE}/delivery?limit=200")

        assert len(ids(response)) == 30


class TestDetail:
    def test_it_shows_the_delivery_with_its_attempts(self, api, subscription):
        delivery = DeliveryFactory(subscription=subscription, delivered=True)
        DeliveryAttemptFactory(delivery=delivery, number=1, status_code=503, response_body="busy", duration_ms=12)
        DeliveryAttemptFactory(
            delivery=delivery, number=2, status_code=200, succeeded=True, error="", response_body="ok"
        )

        response = api.get(f"{BASE}/delivery/{delivery.uuid}")

        assert response.status_code == 200, response.content
        answer = response.json()
        assert answer["id"] == str(delivery.uuid) and answer["status"] == "DELIVERED"
        assert answer["attempts"] == 2 and answer["lastStatusCode"] == 200
        assert [(a["number"], a["statusCode"], a["succeeded"], a["responseBody"]) for a in answer["log"]] == [
            (1, 503, False, "busy"),
            (2, 200, True, "ok"),
        ]
        assert answer["log"][0]["durationMs"] == 12 and answer["log"][0]["error"] == "HTTP 500"
        assert answer["log"][1]["error"] is None

    def test_it_is_found_by_its_webhook_id_too(self, api, subscription):
        delivery = DeliveryFactory(subscription=subscription)

        assert api.get(f"{BASE}/delivery/{delivery.webhook_id}").json()["id"] == str(delivery.uuid)

    def test_404_for_another_partners_delivery_is_byte_identical_to_a_missing_one(self, api, subscription):
        foreign = DeliveryFactory(failed=True)

        for action, method in (("", "get"), ("/redeliver", "post")):
            answers = [
                getattr(api, method)(f"{BASE}/delivery/{identifier}{action}", HTTP_X_CORRELATION_ID=CID)
                for identifier in (foreign.uuid, foreign.webhook_id, uuid.uuid4(), "msg_zz", "x" * 300)
            ]
            assert {answer.status_code for answer in answers} == {404}
            assert len({answer.content for answer in answers}) == 1
        foreign.refresh_from_db()
        assert foreign.status == DeliveryStatus.FAILED

    def test_it_runs_a_constant_number_of_queries(self, api, subscription, django_assert_max_num_queries):
        delivery = DeliveryFactory(subscription=subscription)
        for number in range(1, 12):
            DeliveryAttemptFactory(delivery=delivery, number=number)

        with django_assert_max_num_queries(4):
            assert len(api.get(f"{BASE}/delivery/{delivery.uuid}").json()["log"]) == 11


class TestRedeliver:
    def test_it_requeues_the_delivery_with_the_same_webhook_id_and_keeps_its_log(self, api, subscription):
        delivery = DeliveryFactory(subscription=subscription, failed=True)
        DeliveryAttemptFactory(delivery=delivery, number=1)

        response = api.post(f"{BASE}/delivery/{delivery.webhook_id}/redeliver")

        assert response.status_code == 202, response.content
        answer = response.json()
        assert (answer["id"], answer["webhookId"]) == (str(delivery.uuid), delivery.webhook_id)
        assert answer["status"] == "PENDING" and answer["attempts"] == 1 and answer["lastError"] is None
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.PENDING and delivery.next_attempt_at <= timezone.now()
        assert delivery.attempts_log.count() == 1

    def test_a_delivered_one_is_sent_again_too(self, api, subscription):
        delivery = DeliveryFactory(subscription=subscription, delivered=True)

        assert api.post(f"{BASE}/delivery/{delivery.uuid}/redeliver").json()["deliveredAt"] is None

    def test_one_being_sent_answers_409(self, api, subscription):
        delivery = DeliveryFactory(
            subscription=subscription,
            status=DeliveryStatus.SENDING,
            lease_until=timezone.now() + dt.timedelta(seconds=60),
            attempt_token=uuid.uuid4(),
        )

        response = api.post(f"{BASE}/delivery/{delivery.uuid}/redeliver", HTTP_X_CORRELATION_ID=CID)

        assert response.status_code == 409
        assert response.json()["message"] == "the delivery is being sent right now; redeliver it once this attempt ends"
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.SENDING

    def test_one_of_a_disabled_subscription_answers_409(self, api, subscription):
        delivery = DeliveryFactory(subscription=subscription, failed=True)
        Subscription.objects.filter(pk=subscription.pk).update(enabled=False)

        assert api.post(f"{BASE}/delivery/{delivery.uuid}/redeliver").status_code == 409
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.FAILED

    def test_a_body_with_fields_is_refused(self, api, subscription):
        delivery = DeliveryFactory(subscription=subscription, failed=True)

        response = api.post(f"{BASE}/delivery/{delivery.uuid}/redeliver", {"now": True}, format="json")

        assert response.status_code == 400
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.FAILED

    def test_it_runs_a_constant_number_of_queries(self, api, subscription, django_assert_max_num_queries):
        delivery = DeliveryFactory(subscription=subscription, failed=True)

        with django_assert_max_num_queries(9):
            assert api.post(f"{BASE}/delivery/{delivery.uuid}/redeliver").status_code == 202
