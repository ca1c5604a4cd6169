"""The notifications part of the demo world: a subscription of the demo partner to both demo departments,
and one delivery in its log, so the schema's examples ("Try it out") find what they name."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from orma.demo import Demo, demo_uuid
from orma.events import EventType
from tenancy.models import Partner

from .models import Delivery, DeliveryStatus, Event, PayloadForm, Subscription
from .signing import new_secret

logger = logging.getLogger(__name__)

DEMO_SUBSCRIPTION_UUID = demo_uuid("501")
DEMO_DELIVERY_UUID = demo_uuid("601")
# The dev server's own demo receiver (orma/urls.py, only where private endpoints are allowed).
DEMO_RECEIVER_PATH = "/demo/webhooks"


def seed_demo(demo: Demo) -> None:
    partner = Partner.objects.get(username=demo.made["partner_username"])
    subscription, created = Subscription.objects.get_or_create(
        uuid=DEMO_SUBSCRIPTION_UUID,
        defaults={
            "partner": partner,
            "url": f"{demo.base_url}{DEMO_RECEIVER_PATH}",
            "event_types": [value for value in EventType.values if value != EventType.PING],
            "payload_form": PayloadForm.FULL,
            "secret": new_secret(),
        },
    )
    if created:
        subscription.departments.set([demo.made["service"], demo.made["parts"]])
    if not Delivery.objects.filter(uuid=DEMO_DELIVERY_UUID).exists():
        # A ping sent before the receiver was up: FAILED, so the log shows one and "redeliver" has work.
        now = timezone.now()
        subject = f"ping:{DEMO_DELIVERY_UUID}"
        event = Event.objects.create(
            type=EventType.PING, subject_key=subject, data={"subscriptionId": str(subscription.uuid)}, occurred_at=now
        )
        Delivery.objects.create(
            uuid=DEMO_DELIVERY_UUID,
            subscription=subscription,
            event=event,
            subject_key=subject,
            event_type=EventType.PING,
            status=DeliveryStatus.FAILED,
            attempts=1,
            last_error="connection refused (the demo receiver was not up yet)",
        )
    demo.lines.append(f"Webhook subscription: {subscription.uuid} → {subscription.url}")


@csrf_exempt
def demo_receiver(request: HttpRequest) -> HttpResponse:
    """The demo subscription's endpoint on the dev server itself: takes any delivery (204) and logs its id."""
    logger.info("demo receiver: %s %s", request.headers.get("webhook-id", "-"), request.body[:200])
    return HttpResponse(status=204)
