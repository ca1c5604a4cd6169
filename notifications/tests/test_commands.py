"""``orma_redeliver_notifications`` (DESIGN §8): ``{"queued"}``, its filters, its refusals."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from notifications.models import Delivery, DeliveryStatus, Subscription

from .factories import DeliveryFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def statuses(*deliveries):
    return [Delivery.objects.get(pk=delivery.pk).status for delivery in deliveries]


def test_it_redelivers_every_failed_delivery_by_default(run_json):
    failed = [DeliveryFactory(failed=True) for _ in range(3)]
    delivered = DeliveryFactory(delivered=True)
    uuids = [delivery.uuid for delivery in failed]

    assert run_json("orma_redeliver_notifications") == {"queued": 3}
    assert statuses(*failed) == ["PENDING"] * 3
    assert [Delivery.objects.get(pk=d.pk).uuid for d in failed] == uuids  # the same webhook-ids
    assert statuses(delivered) == ["DELIVERED"]


def test_it_narrows_to_one_subscription_and_a_status(run_json):
    subscription = SubscriptionFactory()
    own_delivered = DeliveryFactory(subscription=subscription, delivered=True)
    own_failed = DeliveryFactory(subscription=subscription, failed=True)
    other = DeliveryFactory(delivered=True)

    result = run_json("orma_redeliver_notifications", "--subscription", str(subscription.uuid), "--status", "DELIVERED")

    assert result == {"queued": 1}
    assert statuses(own_delivered, own_failed, other) == ["PENDING", "FAILED", "DELIVERED"]


def test_since_takes_a_day_or_an_instant(run_json):
    old = DeliveryFactory(failed=True)
    new = DeliveryFactory(failed=True)
    Delivery.objects.filter(pk=old.pk).update(created_at=dt.datetime(2025, 3, 1, 23, 59, 59, tzinfo=dt.UTC))
    Delivery.objects.filter(pk=new.pk).update(created_at=dt.datetime(2025, 3, 2, 0, 0, tzinfo=dt.UTC))

    assert run_json("orma_redeliver_notifications", "--since", "2025-03-02") == {"queued": 1}
    assert statuses(old, new) == ["FAILED", "PENDING"]
    assert run_json("orma_redeliver_notifications", "--since", "2025-03-01T23:59:59Z") == {"queued": 1}
    assert statuses(old) == ["PENDING"]


def test_a_delivery_in_flight_and_a_disabled_subscriptions_are_left_alone(run_json):
    sending = DeliveryFactory(
        status=DeliveryStatus.SENDING, lease_until=timezone.now() + dt.timedelta(minutes=1), attempt_token=uuid.uuid4()
    )
    disabled = DeliveryFactory(failed=True)
    Subscription.objects.filter(pk=disabled.subscription_id).update(enabled=False)

    assert run_json("orma_redeliver_notifications", "--status", "PENDING") == {"queued": 0}
    assert run_json("orma_redeliver_notifications") == {"queued": 0}
    assert statuses(sending, disabled) == ["SENDING", "FAILED"]


def test_it_says_what_it_did_without_json(capsys):
    DeliveryFactory(failed=True)

    call_command("orma_redeliver_notifications")

    assert capsys.readouterr().out.strip() == "Queued 1 webhook delivery again."


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--subscription", "nope"], "--subscription 'nope' is not a UUID"),
        (
            ["--subscription", "00000000-0000-4000-8000-000000000000"],
            "no subscription 00000000-0000-4000-8000-000000000000",
        ),
        (["--since", "soon"], "--since 'soon' is neither a date (yyyy-MM-dd) nor an ISO 8601 date-time"),
    ],
)
def test_bad_arguments_are_one_clear_line(args, message):
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call_command("orma_redeliver_notifications", *args)


def test_a_status_in_flight_is_no_choice():
    with pytest.raises(CommandError):
        call_command("orma_redeliver_notifications", "--status", "SENDING")
