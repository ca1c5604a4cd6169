"""Reads of the DMS push for support: an order's push, its attempts, and which pushes a resend concerns."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.db.models import Prefetch, QuerySet

from orders.rules import ORDER_WINDOW
from orders.selectors import repair_orders_by_number
from orma.outbox import OutboxStatus

from .models import DmsAttempt, DmsPush


def _instant(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def pushes_to_resend(
    *,
    order_uuid: uuid.UUID | None = None,
    department_uuid: uuid.UUID | None = None,
    dms_status: str | None = None,
    since: dt.date | None = None,
) -> QuerySet[DmsPush]:
    """The pushes ``orma_resend_orders`` asks for anew: one order's, or a department's (by the push's status,
    and orders created since a day)."""
    pushes = DmsPush.objects.all()
    if order_uuid is not None:
        pushes = pushes.filter(repair_order__uuid=order_uuid)
    if department_uuid is not None:
        pushes = pushes.filter(repair_order__department__uuid=department_uuid)
    if dms_status is not None:
        pushes = pushes.filter(status=dms_status)
    if since is not None:
        pushes = pushes.filter(repair_order__created_instant__gte=dt.datetime.combine(since, dt.time.min, dt.UTC))
    return pushes


def order_support_view(*, order_number: str, department_uuid: uuid.UUID | None = None) -> list[dict[str, Any]]:
    """Every order with this number, its ±30-day window, its DMS push and every attempt (``orma_find_order``).

    Three queries whatever the number of orders: the orders, their pushes, the pushes' attempts.
    """
    orders = repair_orders_by_number(order_number=order_number, department_uuid=department_uuid)
    attempts = Prefetch("attempts_log", queryset=DmsAttempt.objects.order_by("number", "id"))
    pushes = {
        push.repair_order_id: push
        for push in DmsPush.objects.filter(repair_order__in=orders).prefetch_related(attempts)
    }
    found = []
    for order in orders:
        push = pushes.get(order.pk)
        found.append(
            {
                "orderUUID": str(order.uuid),
                "orderNumber": order.order_number,
                "dealerUUID": str(order.department.dealer.uuid),
                "departmentUUID": str(order.department.uuid),
                "createdInstant": _instant(order.created_instant),
                "window": {
                    "from": _instant(order.created_instant - ORDER_WINDOW),
                    "to": _instant(order.created_instant + ORDER_WINDOW),
                },
                "status": order.status,
                "version": order.version,
                "dms": {
                    "status": order.dms_status,
                    "orderNumber": order.dms_order_number or None,
                    "errors": order.dms_errors,
                    "syncedAt": _instant(order.dms_synced_at),
                },
                "push": _push_json(push) if push else None,
                "attempts": [_attempt_json(attempt) for attempt in push.attempts_log.all()] if push else [],
                # change notifications arrive with the notifications app; until then none were sent
                "deliveries": [],
            }
        )
    return found


def _push_json(push: DmsPush) -> dict[str, Any]:
    return {
        "status": push.status,
        "version": push.version,
        "pushedVersion": push.pushed_version,
        "dmsOrderUUID": push.dms_order_uuid or None,
        "attempts": push.attempts,
        "nextAttemptAt": _instant(push.next_attempt_at) if push.status == OutboxStatus.PENDING else None,
        "leaseUntil": _instant(push.lease_until),
        "lastError": push.last_error or None,
    }


def _attempt_json(attempt: DmsAttempt) -> dict[str, Any]:
    return {
        "number": attempt.number,
        "version": attempt.version,
        "startedAt": _instant(attempt.started_at),
        "durationMs": attempt.duration_ms,
        "outcome": attempt.outcome,
        "statusCode": attempt.status_code,
        "reason": attempt.reason or None,
        "error": attempt.error or None,
        "correlationId": attempt.correlation_id or None,
    }
