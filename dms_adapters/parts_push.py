"""Parts orders to a network DMS (Keyloop) on the outbox: submit once, then poll the line statuses.

- :func:`parts_order_push_enqueue` runs in the parts order's transaction (an event receiver) for a DMS that
  is not in-process and takes parts orders (the sandbox takes them inside the request instead).
- :func:`parts_order_push_attempt` is one attempt of a worker (claim, call outside any transaction,
  finish on the token): stage SUBMIT hands the order over (201: accepted with its lines; 202: queued under
  the DMS's number), stage POLL applies the line statuses the DMS reports through the parts service
  (stock, derived order status, history and ``parts_order.status_changed`` follow). Polling backs off while
  nothing changes and ends when the order is CLOSED.

Failures follow the repair-order push: transient ones are retried with backoff within the budget, then
FAILED; a business refusal of the submit is REJECTED with the DMS's errors; the dealer's circuit counts.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from orma import outbox
from orma.actors import Actor, Channel
from orma.outbox import OutboxStatus
from parts.choices import PartsOrderStatus
from parts.models import PartsOrder
from parts.services import (
    parts_order_dms_lines,
    parts_order_dms_queued,
    parts_order_dms_rejected,
    parts_order_dms_synced,
)

from .base import DmsError
from .models import PartsOrderPush
from .registry import ADAPTERS, adapter_for
from .services import UNWELL, PushSettings, circuit_failed, circuit_succeeded, paused_dealers

# Polls while nothing changes come less often: ORMA_DMS_POLL_SECONDS (30 s), doubling, at most every hour.
POLL_MAX_SECONDS = 3600.0


def _dms_actor(dealer: object) -> Actor:
    return Actor(Channel.DMS, f"dms:{getattr(dealer, 'dms_kind', '')}")


def parts_order_push_enqueue(*, parts_order: PartsOrder, submitted: bool = False) -> int | None:
    """A new parts order gets its push row (None: the dealer's DMS takes no parts orders): due at once to be
    submitted, or, ``submitted`` in-process already (the sandbox), due for its first poll."""
    dealer = parts_order.department.dealer
    if not import_string(ADAPTERS[dealer.dms_kind]).takes_parts_orders:
        return None
    stage = PartsOrderPush.Stage.POLL if submitted else PartsOrderPush.Stage.SUBMIT
    first = timezone.now() + (_poll_delay(0) if submitted else timedelta(0))
    return PartsOrderPush.objects.create(dealer=dealer, parts_order=parts_order, stage=stage, next_attempt_at=first).pk


def parts_order_pushes_due(*, limit: int = 1000) -> list[int]:
    """The parts pushes a sweep rings for (due or with an expired lease, of dealers not paused)."""
    return outbox.due_ids(PartsOrderPush, limit=limit, extra=~paused_dealers())


def _poll_delay(quiet_polls: int) -> timedelta:
    return timedelta(seconds=min(settings.ORMA_DMS_POLL_SECONDS * 2**quiet_polls, POLL_MAX_SECONDS))


def parts_order_push_attempt(*, push_id: int) -> str:
    """One submit or poll of a parts order; answers "SUBMITTED", "QUEUED", "POLLED", "CLOSED", "REJECTED",
    "RETRY", "FAILED" or "skipped"."""
    knobs = PushSettings.current()
    push = outbox.claim(PartsOrderPush, push_id, lease=knobs.lease, extra=~paused_dealers())
    if push is None:
        return "skipped"
    parts_order = PartsOrder.objects.select_related("department__dealer").get(pk=push.parts_order_id)
    dealer = parts_order.department.dealer
    adapter = adapter_for(dealer)
    submitting = push.stage == PartsOrderPush.Stage.SUBMIT
    try:
        receipt = adapter.submit_parts_order(parts_order) if submitting else adapter.poll_parts_order(parts_order)
    except DmsError as error:
        return _failed(push, parts_order, error, knobs, submitting)
    circuit_succeeded(dealer.pk)
    changed = bool(receipt.line_statuses) and any(
        receipt.line_statuses.get(str(line.uuid)) not in (None, line.status) for line in parts_order.lines.all()
    )
    if receipt.line_statuses:
        parts_order_dms_lines(parts_order=parts_order, statuses=receipt.line_statuses, actor=_dms_actor(dealer))
    if receipt.accepted:
        parts_order_dms_synced(parts_order=parts_order, dms_order_number=receipt.dms_order_number)
    elif receipt.dms_order_number:
        parts_order_dms_queued(parts_order=parts_order, dms_order_number=receipt.dms_order_number)
    closed = PartsOrder.objects.filter(pk=parts_order.pk, status=PartsOrderStatus.CLOSED).exists()
    quiet = 0 if changed else push.quiet_polls + (0 if submitting else 1)
    outbox.finish(
        push,
        status=OutboxStatus.SYNCED if closed else OutboxStatus.PENDING,
        stage=PartsOrderPush.Stage.POLL,
        quiet_polls=quiet,
        attempts=0,
        last_error="",
        pending_since=timezone.now(),
        next_attempt_at=timezone.now() + _poll_delay(quiet),
    )
    if closed:
        return "CLOSED"
    if submitting:
        return "SUBMITTED" if receipt.accepted else "QUEUED"
    return "POLLED"


def _failed(
    push: PartsOrderPush, parts_order: PartsOrder, error: DmsError, knobs: PushSettings, submitting: bool
) -> str:
    now = timezone.now()
    dealer_id = parts_order.department.dealer_id
    if error.permanent and submitting:
        outbox.finish(push, status=OutboxStatus.REJECTED, last_error=error.message)
        parts_order_dms_rejected(parts_order=parts_order, errors=error.errors)
        circuit_succeeded(dealer_id)
        return "REJECTED"
    if now - push.pending_since >= knobs.retry_budget:
        outbox.finish(push, status=OutboxStatus.FAILED, last_error=error.message)
        outcome = "FAILED"
    else:
        delay = outbox.retry_delay(push.attempts, retry_after=error.retry_after)
        outbox.finish(
            push, status=OutboxStatus.PENDING, last_error=error.message, next_attempt_at=now + timedelta(seconds=delay)
        )
        outcome = "RETRY"
    if not error.permanent and error.reason in UNWELL:
        circuit_failed(dealer_id, error, knobs)
    return outcome
