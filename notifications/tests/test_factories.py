"""The factories make what the writer would: a delivery's copied columns match its event."""

from __future__ import annotations

import pytest

from notifications.tests.factories import DeliveryAttemptFactory, DeliveryFactory, SubscriptionFactory
from tenancy.models import Grant

pytestmark = pytest.mark.django_db


def test_it_makes_a_subscription_on_a_department_its_partner_holds():
    subscription = SubscriptionFactory()
    department = subscription.departments.get()
    assert Grant.objects.filter(partner=subscription.partner, department=department).exists()
    assert subscription.secret.startswith("whsec_")


def test_it_makes_a_delivery_of_an_event_in_the_subscriptions_department():
    attempt = DeliveryAttemptFactory()
    delivery = attempt.delivery
    assert delivery.event.department == delivery.subscription.departments.get()
    assert (delivery.subject_key, delivery.event_type) == (delivery.event.subject_key, delivery.event.type)
    assert DeliveryFactory(failed=True).status == "FAILED"
