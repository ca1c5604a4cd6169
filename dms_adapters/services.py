"""The DMS push of repair orders on the outbox (``orma.outbox``): enqueue, one attempt, the dealer's circuit.

- :func:`dms_push_enqueue` runs in the order's own transaction (an event receiver): it writes or raises the
  order's one :class:`DmsPush` row, so the change and its delivery commit together.
- :func:`dms_push_attempt` is one attempt of a worker: claim the row, call the dealer's adapter outside any
  transaction with the order as it is now (always its newest version), then record the outcome on the row
  (conditioned on the attempt's token), in the attempt log, on the order (``orders.services``) and on the
  dealer's circuit.

Outcomes: the DMS took it → SYNCED (with its order number); a business refusal → REJECTED at once (with the
DMS's errors, shown on the order); a connection error, a timeout, a 5xx or a 429 → retried with exponential
backoff and jitter (never before ``Retry-After``) until the retry budget is spent → FAILED (resendable).
A dealer whose DMS keeps failing is paused (its rows wait), then probed by one push.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone
from django.utils.module_loading import import_string

from orders.models import RepairOrder
from orders.services import (
    repair_order_dms_failed,
    repair_order_dms_rejected,
    repair_order_dms_synced,
    repair_orders_dms_pending,
)
from orma import outbox
from orma.db import insert_instance, new_instance
from orma.outbox import OutboxStatus

from .base import DmsError, Reason
from .models import DmsAttempt, DmsCircuit, DmsPush
from .registry import ADAPTERS, adapter_for

logger = logging.getLogger("dms_adapters")

# Failures that say the DMS itself is unwell (not this order): they count toward pausing the dealer.
UNWELL = frozenset({Reason.CONNECTION, Reason.TIMEOUT, Reason.SERVER})


@dataclass(frozen=True)
class PushSettings:
    """The knobs of the push (settings ``ORMA_DMS_*``), read once per attempt."""

    lease: timedelta
    retry_budget: timedelta
    dealer_concurrency: int
    breaker_threshold: int
    breaker_pause: timedelta
    breaker_max_pause: timedelta

    @classmethod
    def current(cls) -> PushSettings:
        return cls(
            lease=timedelta(seconds=settings.ORMA_DMS_LEASE_SECONDS),
            retry_budget=timedelta(seconds=settings.ORMA_DMS_RETRY_BUDGET_SECONDS),
            dealer_concurrency=settings.ORMA_DMS_DEALER_CONCURRENCY,
            breaker_threshold=settings.ORMA_DMS_BREAKER_THRESHOLD,
            breaker_pause=timedelta(seconds=settings.ORMA_DMS_BREAKER_PAUSE_SECONDS),
            breaker_max_pause=timedelta(seconds=settings.ORMA_DMS_BREAKER_MAX_PAUSE_SECONDS),
        )


def takes_repair_orders(dealer: Any) -> bool:
    """Whether the dealer's DMS protocol takes repair orders (Keyloop's API is for parts orders only)."""
    return bool(import_string(ADAPTERS[dealer.dms_kind]).takes_repair_orders)


def dms_push_enqueue(*, repair_order: RepairOrder, created: bool) -> int | None:
    """Ask for the order's newest version to reach the DMS; answers the push row's id (None: no DMS takes it).

    One statement inside the order's transaction: a new order inserts its row; an update raises the row's
    version and makes it due at once, except while a push is in flight (SENDING): that push ends by leaving
    the row PENDING again for the newer version, so updates coalesce and never overtake each other.
    """
    dealer = repair_order.department.dealer
    if not takes_repair_orders(dealer):
        return None
    now = timezone.now()
    if created:
        push = new_instance(
            DmsPush, dealer=dealer, repair_order=repair_order, version=repair_order.version, next_attempt_at=now
        )
        insert_instance(push)  # one prepared INSERT: every create writes this row
        return push.pk
    settled = [OutboxStatus.SYNCED, OutboxStatus.REJECTED, OutboxStatus.FAILED]
    pushes = DmsPush.objects.filter(repair_order_id=repair_order.pk)
    written = pushes.update(
        version=repair_order.version,
        status=Case(When(status=OutboxStatus.SENDING, then=F("status")), default=Value(OutboxStatus.PENDING)),
        next_attempt_at=now,
        attempts=Case(When(status=OutboxStatus.SENDING, then=F("attempts")), default=Value(0)),
        pending_since=Case(When(status__in=settled, then=Value(now)), default=F("pending_since")),
        updated_at=now,
    )
    if not written:  # an order older than the push: it gets its row now
        return dms_push_enqueue(repair_order=repair_order, created=True)
    return pushes.values_list("pk", flat=True).first()


def paused_dealers(now: datetime | None = None) -> Q:
    """Rows of dealers whose DMS is paused right now (their circuit is open)."""
    return Q(dealer__dms_circuit__open_until__gt=now or timezone.now())


def dms_pushes_due(*, limit: int = 1000, skip: int = 0) -> list[int]:
    """The pushes a sweep rings for: due or with an expired lease, of dealers whose DMS is not paused (oldest
    first; ``skip``: leave out the oldest ones, whose doorbells still wait in the queue)."""
    return outbox.due_ids(DmsPush, limit=limit, extra=~paused_dealers(), skip=skip)


def _dealer_is_busy(push_id: int, knobs: PushSettings) -> bool:
    """Whether the push's dealer already has as many pushes in flight as it may (one while it is probed)."""
    row = DmsPush.objects.filter(pk=push_id).values_list("dealer_id", "dealer__dms_circuit__pauses").first()
    if row is None:
        return True
    dealer_id, pauses = row
    cap = 1 if pauses else knobs.dealer_concurrency
    in_flight = DmsPush.objects.filter(
        dealer_id=dealer_id, status=OutboxStatus.SENDING, lease_until__gt=timezone.now()
    ).count()
    return in_flight >= cap


def dms_push_attempt(*, push_id: int) -> str:
    """One attempt of a push; answers its outcome ("SYNCED", "REJECTED", "RETRY", "FAILED") or "skipped"
    (not due, held by another worker, its dealer busy or paused)."""
    knobs = PushSettings.current()
    if _dealer_is_busy(push_id, knobs):
        return "skipped"
    push = outbox.claim(DmsPush, push_id, lease=knobs.lease, extra=~paused_dealers())
    if push is None:
        return "skipped"
    repair_order = RepairOrder.objects.select_related("department__dealer").get(pk=push.repair_order_id)
    version = repair_order.version
    if push.pushed_version is not None and version <= push.pushed_version:
        outbox.finish(push, status=OutboxStatus.SYNCED)  # an extra doorbell: the DMS already holds it
        return "skipped"
    dealer = repair_order.department.dealer
    started = timezone.now()
    try:
        receipt = adapter_for(dealer).push_repair_order(repair_order, dms_order_uuid=push.dms_order_uuid or None)
    except DmsError as error:
        return _failed(push, repair_order, version, started, error, knobs)
    except Exception as exc:  # a bug in an adapter must not leave the row leased until the lease ends
        logger.exception("push %s: the adapter failed unexpectedly", push.pk)
        return _failed(push, repair_order, version, started, DmsError(f"{type(exc).__name__}: {exc}"), knobs)
    circuit_succeeded(dealer.pk)
    with transaction.atomic():  # the outcome, its attempt and the order's state: seen together or not at all
        kept = outbox.finish(
            push,
            status=_settled_unless_newer(version, OutboxStatus.SYNCED),
            pushed_version=version,
            dms_order_uuid=receipt.dms_order_uuid,
            attempts=0,
            last_error="",
            next_attempt_at=timezone.now(),
        )
        _log(push, version, started, DmsAttempt.Outcome.SYNCED, receipt.attempt)
        if kept:
            repair_order_dms_synced(
                repair_order=repair_order, version=version, dms_order_number=receipt.dms_order_number
            )
    _ring_if_newer(push.pk)
    return DmsAttempt.Outcome.SYNCED


def _ring_if_newer(push_id: int) -> None:
    """A newer version arrived while this push was in flight: ring for it now rather than at the next sweep."""
    if DmsPush.objects.filter(pk=push_id, status=OutboxStatus.PENDING, next_attempt_at__lte=timezone.now()).exists():
        from .tasks import push

        outbox.ring(push, push_id)


def _settled_unless_newer(version: int, settled: str) -> Case:
    """The row's status after an attempt of ``version``: ``settled``, or PENDING when a newer version of the
    order arrived meanwhile (decided by the database in the same UPDATE, so no update is ever missed)."""
    return Case(When(version__gt=version, then=Value(OutboxStatus.PENDING)), default=Value(settled))


def _failed(
    push: DmsPush, repair_order: RepairOrder, version: int, started: datetime, error: DmsError, knobs: PushSettings
) -> str:
    with transaction.atomic():  # the outcome, its attempt and the order's state: seen together or not at all
        outcome = _record_failure(push, repair_order, version, error, knobs)
        _log(push, version, started, outcome, error.attempt, error)
    dealer_id = repair_order.department.dealer_id
    if error.permanent:
        circuit_succeeded(dealer_id)  # the DMS answered: it is well, this order is not
    elif error.reason in UNWELL:
        circuit_failed(dealer_id, error, knobs)
    return outcome


def _record_failure(
    push: DmsPush, repair_order: RepairOrder, version: int, error: DmsError, knobs: PushSettings
) -> str:
    """The row (and the order) after a failed attempt: REJECTED for a refusal, FAILED once the retry budget
    is spent, else PENDING again after a backoff; answers the attempt's outcome."""
    now = timezone.now()
    if error.permanent:
        kept = outbox.finish(
            push,
            status=_settled_unless_newer(version, OutboxStatus.REJECTED),
            last_error=error.message,
            dms_order_uuid=error.dms_order_uuid or push.dms_order_uuid,
            next_attempt_at=now,
        )
        if kept:
            repair_order_dms_rejected(repair_order=repair_order, version=version, errors=error.errors)
        return DmsAttempt.Outcome.REJECTED
    if now - push.pending_since >= knobs.retry_budget:
        kept = outbox.finish(push, status=OutboxStatus.FAILED, last_error=error.message)
        if kept:
            repair_order_dms_failed(repair_order=repair_order, version=version, error=error.message)
        return DmsAttempt.Outcome.FAILED
    delay = outbox.retry_delay(push.attempts, retry_after=error.retry_after)
    outbox.finish(
        push,
        status=OutboxStatus.PENDING,
        last_error=error.message,
        next_attempt_at=now + timedelta(seconds=delay),
        dms_order_uuid=error.dms_order_uuid or push.dms_order_uuid,
    )
    return DmsAttempt.Outcome.RETRY


def _log(
    push: DmsPush, version: int, started: datetime, outcome: str, attempt: Any, error: DmsError | None = None
) -> None:
    DmsAttempt.objects.create(
        push=push,
        number=push.attempts,
        version=version,
        started_at=started,
        duration_ms=attempt.duration_ms if attempt else round((timezone.now() - started).total_seconds() * 1000),
        outcome=outcome,
        status_code=(error.status_code if error else None) or (attempt.status if attempt else None),
        reason=str(error.reason) if error else "",
        error=error.message if error else "",
        requests=attempt.as_json() if attempt else {},
        correlation_id=attempt.correlation_id if attempt else "",
    )


def circuit_succeeded(dealer_id: int) -> None:
    """The DMS answered: close its circuit (one UPDATE, only when there is something to reset)."""
    DmsCircuit.objects.filter(dealer_id=dealer_id).exclude(consecutive_failures=0, pauses=0).update(
        consecutive_failures=0, pauses=0, open_until=None, reason="", updated_at=timezone.now()
    )


def circuit_failed(dealer_id: int, error: DmsError, knobs: PushSettings) -> None:
    """One more failure of the dealer's DMS; at the threshold (or a failed probe) pause it, each pause longer."""
    circuit, _ = DmsCircuit.objects.get_or_create(dealer_id=dealer_id)
    circuit.consecutive_failures += 1
    circuit.reason = error.message[:200]
    if circuit.consecutive_failures >= knobs.breaker_threshold or circuit.pauses:
        pause = min(knobs.breaker_pause * 2**circuit.pauses, knobs.breaker_max_pause)
        circuit.open_until = timezone.now() + pause
        circuit.pauses += 1
        logger.warning("the DMS of dealer %s is paused for %s: %s", dealer_id, pause, circuit.reason)
    circuit.save()


def circuit_state(dealer: Any) -> str:
    """ "closed", or "open until <instant>: <reason>" (``orma_check``)."""
    circuit = DmsCircuit.objects.filter(dealer=dealer).first()
    if circuit is None or circuit.open_until is None or circuit.open_until <= timezone.now():
        return "closed" if circuit is None or not circuit.pauses else "probing"
    return f"open until {circuit.open_until.isoformat()}: {circuit.reason}"


def dms_pushes_resend(*, pushes: Any) -> int:
    """Make these pushes due now with a fresh retry budget (``orma_resend_orders``); answers how many."""
    now = timezone.now()
    return pushes.exclude(status=OutboxStatus.SENDING).update(
        status=OutboxStatus.PENDING,
        next_attempt_at=now,
        pending_since=now,
        attempts=0,
        pushed_version=None,
        updated_at=now,
    )


@transaction.atomic
def dms_pushes_requeue(*, pushes: Any) -> tuple[int, int]:
    """Resend these pushes now (``dms_pushes_resend``), show their orders PENDING again and ring for each once
    committed; a push in flight is left alone. Answers (queued, left alone): the admin's "Resend to DMS"."""
    from .tasks import push  # the tasks call this module's services

    rows = list(pushes.values_list("pk", "repair_order_id", "status"))
    chosen = [(push_id, order_id) for push_id, order_id, status in rows if status != OutboxStatus.SENDING]
    queued = dms_pushes_resend(pushes=DmsPush.objects.filter(pk__in=[push_id for push_id, _ in chosen]))
    repair_orders_dms_pending(repair_order_ids=[order_id for _, order_id in chosen])
    for push_id, _ in chosen:
        outbox.ring(push, push_id)  # the sweep would find them anyway
    return queued, len(rows) - len(chosen)
