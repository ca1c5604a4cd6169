"""Webhooks in the back office: the delivery log with its attempts, the health filter, "Redeliver"."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from notifications.models import Delivery, DeliveryStatus, Subscription
from tests.admin_world import make_world, staff_user

pytestmark = pytest.mark.django_db

DELIVERIES = "/admin/notifications/delivery/"


@pytest.fixture
def world():
    return make_world("Alpha", vin_serial=1)


@pytest.fixture
def staff(world, client):
    client.force_login(staff_user(world.dealer, "alpha-staff"))
    return client


class TestDeliveries:
    def test_a_deliverys_page_shows_its_attempts_and_no_secret(self, world, staff) -> None:
        delivery = world.rows[Delivery]

        page = staff.get(f"{DELIVERIES}{delivery.pk}/change/").content.decode()

        assert "HTTP 500" in page and delivery.subject_key in page
        assert world.rows[Subscription].secret not in page

    def test_redeliver_puts_a_failed_delivery_back_with_the_same_webhook_id(self, world, staff) -> None:
        delivery = world.rows[Delivery]
        Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED, attempts=10)
        webhook_id = delivery.webhook_id

        response = staff.post(DELIVERIES, {"action": "redeliver", "_selected_action": [delivery.pk], "index": 0})

        assert response.status_code == 302
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.webhook_id) == (DeliveryStatus.PENDING, 0, webhook_id)
        assert [str(m) for m in get_messages(response.wsgi_request)] == ["Queued 1 delivery again."]

    def test_a_delivery_being_sent_is_left_alone(self, world, staff) -> None:
        delivery = world.rows[Delivery]
        Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.SENDING)

        response = staff.post(DELIVERIES, {"action": "redeliver", "_selected_action": [delivery.pk], "index": 0})

        assert Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.SENDING
        assert [str(m) for m in get_messages(response.wsgi_request)] == [
            "Queued 0 deliveries again. 1 being sent right now were left alone."
        ]


class TestSubscriptions:
    def test_the_health_filter_lists_failing_and_disabled_ones(self, world, staff) -> None:
        subscription = world.rows[Subscription]
        url = "/admin/notifications/subscription/"
        assert list(staff.get(url, {"health": "attention"}).context["cl"].result_list) == []

        Subscription.objects.filter(pk=subscription.pk).update(failing_since=timezone.now())
        assert [s.pk for s in staff.get(url, {"health": "failing"}).context["cl"].result_list] == [subscription.pk]

        Subscription.objects.filter(pk=subscription.pk).update(failing_since=None, enabled=False)
        assert [s.pk for s in staff.get(url, {"health": "disabled"}).context["cl"].result_list] == [subscription.pk]
        assert [s.pk for s in staff.get(url, {"health": "attention"}).context["cl"].result_list] == [subscription.pk]

    def test_the_page_never_shows_the_signing_secret(self, world, staff) -> None:
        subscription = world.rows[Subscription]

        page = staff.get(f"/admin/notifications/subscription/{subscription.pk}/change/").content.decode()

        assert subscription.secret not in page and "whsec_" not in page
