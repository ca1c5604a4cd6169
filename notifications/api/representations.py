"""The bodies the notification family answers (documented by the response serializers of ``serializers``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from ..models import Delivery, DeliveryAttempt, DeliveryStatus, Subscription, SubscriptionNotice


def instant(value: dt.datetime | None) -> str | None:
    """UTC, milliseconds, ``Z``: the form of every instant the API answers."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def page_json(results: list[dict[str, Any]], next_url: str | None) -> dict[str, Any]:
    return {"results": results, "next": next_url}


def subscription_json(subscription: Subscription) -> dict[str, Any]:
    """A subscription as every answer shows it: never its secret."""
    # only while the rotation's overlap lasts: after it the previous secret no longer signs
    previous_until = subscription.previous_secret_until if subscription.previous_secret else None
    if previous_until is not None and previous_until <= timezone.now():
        previous_until = None
    return {
        "id": str(subscription.uuid),
        "url": subscription.url,
        "eventTypes": list(subscription.event_types),
        "departments": [str(department.uuid) for department in subscription.departments.all()],
        "payload": subscription.payload_form,
        "enabled": subscription.enabled,
        "disabledAt": instant(subscription.disabled_at),
        "disabledReason": subscription.disabled_reason or None,
        "failingSince": instant(subscription.failing_since),
        "lastSuccessAt": instant(subscription.last_success_at),
        "previousSecretValidUntil": instant(previous_until),
        "createdAt": instant(subscription.created_at),
        "updatedAt": instant(subscription.updated_at),
    }


def subscription_created_json(subscription: Subscription) -> dict[str, Any]:
    """The answer to a creation: the subscription and, this once, its secret."""
    return {**subscription_json(subscription), "secret": subscription.secret}


def notice_json(notice: SubscriptionNotice) -> dict[str, Any]:
    return {"kind": notice.kind, "message": notice.message, "at": instant(notice.at)}


def subscription_detail_json(subscription: Subscription) -> dict[str, Any]:
    """The subscription with its log, newest first (``selectors.subscription_get(with_notices=True)``)."""
    return {**subscription_json(subscription), "log": [notice_json(n) for n in subscription.recent_notices]}


def secret_rotated_json(subscription: Subscription) -> dict[str, Any]:
    return {
        "id": str(subscription.uuid),
        "secret": subscription.secret,
        "previousSecretValidUntil": instant(subscription.previous_secret_until),
    }


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    """A delivery as the log lists it (``selectors`` annotates its attempt count and last status code)."""
    return {
        "id": str(delivery.uuid),
        "webhookId": delivery.webhook_id,
        "subscription": str(delivery.subscription.uuid),
        "eventId": str(delivery.event.uuid),
        "eventType": delivery.event_type,
        "subject": delivery.subject_key,
        "status": delivery.status,
        "attempts": delivery.attempt_count or 0,
        "nextAttemptAt": instant(delivery.next_attempt_at) if delivery.status == DeliveryStatus.PENDING else None,
        "lastStatusCode": delivery.last_status_code,
        "lastError": delivery.last_error or None,
        "occurredAt": instant(delivery.event.occurred_at),
        "createdAt": instant(delivery.created_at),
        "deliveredAt": instant(delivery.delivered_at),
    }


def attempt_json(attempt: DeliveryAttempt) -> dict[str, Any]:
    return {
        "number": attempt.number,
        "startedAt": instant(attempt.started_at),
        "durationMs": attempt.duration_ms,
        "statusCode": attempt.status_code,
        "succeeded": attempt.succeeded,
        "error": attempt.error or None,
        "responseBody": attempt.response_body,
    }


def delivery_detail_json(delivery: Delivery) -> dict[str, Any]:
    """The delivery with its attempts (``selectors.delivery_get(with_attempts=True)``)."""
    return {**delivery_json(delivery), "log": [attempt_json(attempt) for attempt in delivery.recent_attempts]}
