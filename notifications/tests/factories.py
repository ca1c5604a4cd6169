"""factory-boy factories of notifications: subscriptions (with their departments), events, deliveries and
their attempts.

A subscription belongs to a partner and covers departments that partner holds a grant on: pass
``partner=`` and ``departments=[...]``; without them a partner with every scope on a new department is
made. ``subscription.secret`` is the clear secret (it is stored clear: OrMa signs with it).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import factory
from django.utils import timezone

from notifications.models import (
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Event,
    PayloadForm,
    Subscription,
    SubscriptionNotice,
)
from notifications.signing import new_secret
from orma.events import EventType
from tenancy.tests.factories import DepartmentFactory, GrantFactory, PartnerFactory

ALL_EVENT_TYPES = [choice.value for choice in EventType if choice != EventType.PING]


class SubscriptionFactory(factory.django.DjangoModelFactory):
    """A subscription of ``partner`` to every event type of ``departments`` (default: a new department the
    partner holds every scope on)."""

    class Meta:
        model = Subscription
        skip_postgeneration_save = True

    partner = factory.SubFactory(PartnerFactory)
    url = factory.Sequence(lambda n: f"https://hooks{n}.example.com/orma")
    event_types = factory.LazyFunction(lambda: list(ALL_EVENT_TYPES))
    payload_form = PayloadForm.FULL
    secret = factory.LazyFunction(new_secret)

    @factory.post_generation
    def departments(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if not create:
            return
        if extracted is None:
            grant = GrantFactory(partner=self.partner, department=DepartmentFactory())
            extracted = [grant.department]
        self.departments.set(extracted)


class SubscriptionNoticeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SubscriptionNotice

    subscription = factory.SubFactory(SubscriptionFactory)
    kind = SubscriptionNotice.Kind.CREATED
    message = "created"


class EventFactory(factory.django.DjangoModelFactory):
    """An ``order.created`` event of a made-up order in a new department (pass ``department=``)."""

    class Meta:
        model = Event

    type = EventType.ORDER_CREATED
    department = factory.SubFactory(DepartmentFactory)
    subject_key = factory.Sequence(lambda n: f"order:00000000-0000-4000-8000-{n:012d}")
    data = factory.LazyAttribute(
        lambda o: {"orderUUID": o.subject_key.partition(":")[2], "orderNumber": "RO-1", "version": 1, "status": "OPEN"}
    )
    document = None


class DeliveryFactory(factory.django.DjangoModelFactory):
    """A PENDING delivery of ``event`` (default: a new event in the subscription's first department) to
    ``subscription``; its ``subject_key`` and ``event_type`` copied from the event as the writer does."""

    class Meta:
        model = Delivery

    subscription = factory.SubFactory(SubscriptionFactory)
    event = factory.SubFactory(
        EventFactory, department=factory.LazyAttribute(lambda o: o.factory_parent.subscription.departments.first())
    )
    subject_key = factory.SelfAttribute("event.subject_key")
    event_type = factory.SelfAttribute("event.type")
    status = DeliveryStatus.PENDING

    class Params:
        delivered = factory.Trait(
            status=DeliveryStatus.DELIVERED, attempts=1, delivered_at=factory.LazyFunction(timezone.now)
        )
        failed = factory.Trait(status=DeliveryStatus.FAILED, attempts=10, last_error="HTTP 500")


class DeliveryAttemptFactory(factory.django.DjangoModelFactory):
    """A failed attempt (HTTP 500) of ``delivery``; ``succeeded=True, status_code=200`` for a success."""

    class Meta:
        model = DeliveryAttempt

    delivery = factory.SubFactory(DeliveryFactory)
    number = factory.Sequence(lambda n: n + 1)
    started_at = factory.LazyFunction(lambda: timezone.now() - timedelta(seconds=1))
    duration_ms = 42
    status_code = 500
    error = "HTTP 500"
    response_body = "Internal Server Error"
    succeeded = False


def pending_delivery(subscription, subject_key=None, **fields):
    """A PENDING delivery to ``subscription`` of a new event in its first department (``subject_key``: the
    object the event is about, which orders the deliveries of one object)."""
    event = EventFactory(
        department=subscription.departments.first(), **({"subject_key": subject_key} if subject_key else {})
    )
    return DeliveryFactory(subscription=subscription, event=event, **fields)
