"""Reads of notifications: a partner's subscriptions and deliveries, and the departments it may subscribe to.

Every read is scoped to the partner: another partner's subscription or delivery is simply not found, so the
API answers it exactly like a missing one.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from django.db.models import Count, IntegerField, OuterRef, Prefetch, QuerySet, Subquery

from orma.errors import ErrorCode, Problem
from tenancy.choices import Scope
from tenancy.models import Department, Grant

from .models import Delivery, DeliveryAttempt, Subscription, SubscriptionNotice

NOTICES_SHOWN = 20  # a subscription's log on GET: the newest ones
ATTEMPTS_SHOWN = 50  # a delivery's attempts on GET: the latest ones


def departments_for_subscription(
    *, partner_id: int, department_uuids: Sequence[uuid.UUID], field: str = "departments"
) -> tuple[list[Department], list[Problem]]:
    """The departments named, each one the partner holds ``notification.manage`` on (one query), and a
    problem for every other one: a department it holds no grant on, one without that scope and one that
    does not exist read alike (no existence leak)."""
    grants = Grant.objects.select_related("department").filter(
        partner_id=partner_id, department__uuid__in=department_uuids
    )
    held = {grant.department.uuid: grant.department for grant in grants if Scope.NOTIFICATION_MANAGE in grant.scopes}
    problems = [
        Problem(
            ErrorCode.FIELD_INVALID,
            f"{field}[{index}]: {department_uuid} is not a department this partner holds notification.manage on",
            f"{field}[{index}]",
            department_uuid,
        )
        for index, department_uuid in enumerate(department_uuids)
        if department_uuid not in held
    ]
    return [held[department_uuid] for department_uuid in department_uuids if department_uuid in held], problems


def subscriptions(*, partner_id: int) -> QuerySet[Subscription]:
    """The partner's subscriptions with their departments' UUIDs at hand."""
    return Subscription.objects.filter(partner_id=partner_id).prefetch_related(
        Prefetch("departments", queryset=Department.objects.only("id", "uuid"))
    )


def subscription_get(
    *, partner_id: int, subscription_uuid: uuid.UUID, with_notices: bool = False
) -> Subscription | None:
    """The partner's subscription (None for a missing one and another partner's alike), with its newest
    notices on ``subscription.recent_notices`` when asked."""
    subscription = subscriptions(partner_id=partner_id).filter(uuid=subscription_uuid).first()
    if subscription is not None and with_notices:
        subscription.recent_notices = list(
            SubscriptionNotice.objects.filter(subscription=subscription).order_by("-at", "-id")[:NOTICES_SHOWN]
        )
    return subscription


def subscription_page(*, partner_id: int, after: tuple[dt.datetime, int] | None, limit: int) -> list[Subscription]:
    """Up to ``limit + 1`` of the partner's subscriptions, oldest first, after the cursor's (created, id)."""
    rows = subscriptions(partner_id=partner_id).order_by("created_at", "id")
    if after is not None:
        created, row_id = after
        rows = rows.filter(created_at__gte=created).exclude(created_at=created, id__lte=row_id)
    return list(rows[: limit + 1])


_SUMMARY_FIELDS = (
    "id",
    "uuid",
    "status",
    "attempts",
    "next_attempt_at",
    "last_error",
    "created_at",
    "delivered_at",
    "event_type",
    "subject_key",
    "subscription__uuid",
    "event__uuid",
    "event__occurred_at",
)


def _with_summary(deliveries: QuerySet[Delivery]) -> QuerySet[Delivery]:
    """Deliveries with what a log line shows: their subscription's and event's ids, how many attempts were
    made and the last one's status code (subqueries on the attempts' (delivery, number) index)."""
    attempts = DeliveryAttempt.objects.filter(delivery=OuterRef("pk"))
    return (
        deliveries.select_related("subscription", "event")
        .annotate(
            attempt_count=Subquery(
                attempts.order_by().values("delivery").annotate(n=Count("id")).values("n"), output_field=IntegerField()
            ),
            last_status_code=Subquery(
                attempts.order_by("-number").values("status_code")[:1], output_field=IntegerField()
            ),
        )
        .only(*_SUMMARY_FIELDS)
    )


def deliveries(
    *,
    partner_id: int | None = None,
    subscription_id: int | None = None,
    subscription_uuid: uuid.UUID | None = None,
    status: str | None = None,
    event_type: str | None = None,
    since: dt.datetime | None = None,
) -> QuerySet[Delivery]:
    """Deliveries narrowed by owner (partner or subscription) and the log's filters; ``since`` keeps those
    created at or after it."""
    rows = Delivery.objects.all()
    if partner_id is not None:
        rows = rows.filter(subscription__partner_id=partner_id)
    if subscription_id is not None:
        rows = rows.filter(subscription_id=subscription_id)
    if subscription_uuid is not None:
        rows = rows.filter(subscription__uuid=subscription_uuid)
    if status is not None:
        rows = rows.filter(status=status)
    if event_type is not None:
        rows = rows.filter(event_type=event_type)
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    return rows


def delivery_page(*, rows: QuerySet[Delivery], after: int | None, limit: int) -> list[Delivery]:
    """Up to ``limit + 1`` of these deliveries with their summaries, newest first, before the cursor's id."""
    rows = _with_summary(rows).order_by("-id")
    if after is not None:
        rows = rows.filter(id__lt=after)
    return list(rows[: limit + 1])


def delivery_get(*, partner_id: int, delivery_uuid: uuid.UUID, with_attempts: bool = False) -> Delivery | None:
    """The partner's delivery (None for a missing one and another partner's alike), with its latest attempts
    on ``delivery.recent_attempts`` (oldest first) when asked."""
    delivery = _with_summary(deliveries(partner_id=partner_id)).filter(uuid=delivery_uuid).first()
    if delivery is not None and with_attempts:
        latest = DeliveryAttempt.objects.filter(delivery=delivery).order_by("-number")[:ATTEMPTS_SHOWN]
        delivery.recent_attempts = sorted(latest, key=lambda attempt: attempt.number)
    return delivery


def webhook_uuid(raw: str) -> uuid.UUID | None:
    """A delivery's UUID from the API's id or its ``webhook-id`` (``msg_<hex>``); None when it is neither."""
    try:
        return uuid.UUID(raw.removeprefix("msg_"))
    except ValueError:
        return None
