"""Webhook delivery on the outbox (``orma.outbox``): record an event's deliveries, make one attempt, redeliver.

- :func:`event_record` runs inside the change's own transaction (an event receiver, or the ping service): the
  :class:`Event` row, stored once, and one PENDING :class:`Delivery` per subscription that wants it. The worker
  is rung once the change commits.
- :func:`delivery_attempt` is one attempt of a worker. The claim takes a delivery only when no earlier
  delivery of the same (subscription, object) is still open (per-object ordering: version N+1 never overtakes
  version N, other objects are not held up) and fewer than ``ORMA_WEBHOOK_MAX_IN_FLIGHT`` deliveries of the
  subscription are in flight: the subscription's row is locked in the claim's transaction, so the count and
  the claim are one step and two workers cannot both take the last slot. The request goes out outside any
  transaction (``notifications.transport``); its outcome is written on the attempt's token, with the attempt
  in the log.
- Outcomes: 2xx → DELIVERED (a successful ping re-enables a disabled subscription); 410 → the subscription is
  disabled at once and its open deliveries FAILED; anything else → retried on :data:`RETRY_SCHEDULE` with
  ±20 % jitter, never before a bounded ``Retry-After``, FAILED after the last attempt. A delivery that ends
  rings the next one of the same object at once; every attempt that frees a slot rings the subscription's
  oldest waiting delivery, so a delivery skipped at the cap does not wait for the sweep.
- :func:`deliveries_requeue`: redelivery (the API, the admin, the command): PENDING now, a fresh attempt
  budget, the same ``webhook-id``.
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, Count, Exists, F, Max, Min, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from orma import nearcache, outbox
from orma.db import prepared_cursor
from orma.events import EventType
from tenancy.choices import Scope
from tenancy.models import Department

from . import doorbell, payloads, sql, transport
from .models import (
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Event,
    PayloadForm,
    Subscription,
    SubscriptionNotice,
)

logger = logging.getLogger("notifications")

# Standard Webhooks' schedule (DESIGN §7): the first attempt at once, then a retry after each of these delays
# (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h): ten attempts over about three and a half days.
RETRY_SCHEDULE: tuple[float, ...] = (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 14 * 3600, 20 * 3600, 86400)
JITTER = 0.2  # each delay ±20 %, so deliveries that failed together do not come back together
# A ``Retry-After`` is honoured (the retry never comes sooner) up to this long; a longer one is cut to it.
RETRY_AFTER_MAX_SECONDS = 24 * 3600.0
# How many doorbells a redelivery rings at once; the sweep rings for the rest.
REQUEUE_RING_LIMIT = 1000

OPEN = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)
ENDED = (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED)
# How many due deliveries of one subscription an attempt takes at most (``ORMA_WEBHOOK_BATCH_SIZE``): sent one
# after the other on one thread and recorded together, so the database's round trips are paid once per batch.
BATCH_SIZE = 16
# A batch sends its next request only while the lease outlasts that request's deadline by this much (the time
# to write the outcome): no row is still being sent when its lease lets another worker take it.
LEASE_MARGIN_SECONDS = 1.0
# A request in flight this long is an endpoint's hang, not its answer: a subscription whose every slot is held by
# one rings no doorbell for a new delivery (``event_record``). Healthy endpoints answer within milliseconds; a
# busy subscription's full batches ring for what waits when they end (``_ring_after``), so a slow one loses none.
HELD_REQUEST_SECONDS = 1.0
# ``Subscription.last_success_at`` is written at most this often while all goes well.
LAST_SUCCESS_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True)
class DeliverySettings:
    """The knobs of delivery (settings ``ORMA_WEBHOOK_*``), read once per attempt."""

    lease: timedelta
    timeout: float
    max_in_flight: int
    schedule: tuple[float, ...]
    disable_after: timedelta
    batch_size: int = BATCH_SIZE

    @classmethod
    def current(cls) -> DeliverySettings:
        schedule = getattr(settings, "ORMA_WEBHOOK_RETRY_SCHEDULE", None) or RETRY_SCHEDULE
        return cls(
            lease=timedelta(seconds=settings.ORMA_WEBHOOK_LEASE_SECONDS),
            timeout=float(settings.ORMA_WEBHOOK_TIMEOUT_SECONDS),
            max_in_flight=settings.ORMA_WEBHOOK_MAX_IN_FLIGHT,
            schedule=tuple(float(step) for step in schedule),
            disable_after=timedelta(days=settings.ORMA_WEBHOOK_DISABLE_AFTER_DAYS),
            batch_size=max(1, int(settings.ORMA_WEBHOOK_BATCH_SIZE or BATCH_SIZE)),
        )

    @property
    def max_attempts(self) -> int:
        return len(self.schedule) + 1


# --- recording an event ----------------------------------------------------------------------------


# Which subscriptions a department's events go to is asked on every change of an order, and changes rarely: each
# process keeps its answer (orma.nearcache) under this tag, which every write that can change it announces
# (notifications.receivers: a subscription, its departments, a partner or a grant saved or deleted; the enabled
# flag's bulk updates below).
SUBSCRIBERS_TAG = "notification-subscribers"


def subscribers_changed() -> None:
    """After a write that can change who hears of a department's events: every process forgets what it held,
    now (this transaction's own later events) and once the write commits. Until then this connection's answers
    are not kept (:func:`_department_subscribers`): a write rolled back must not leave its subscription behind."""
    connection.orma_subscribers_written = True  # type: ignore[attr-defined]
    nearcache.announce([SUBSCRIBERS_TAG])

    def committed() -> None:
        connection.orma_subscribers_written = False  # type: ignore[attr-defined]
        nearcache.announce([SUBSCRIBERS_TAG])

    transaction.on_commit(committed)


def subscribers_written_forget(**_: Any) -> None:
    """A new request or task: whatever this connection wrote before has committed or rolled back by now."""
    connection.orma_subscribers_written = False  # type: ignore[attr-defined]


def _subscribers(event_type: str, department_id: int) -> list[tuple[int, str]]:
    """The enabled subscriptions covering the department that want the type: (id, payload form)."""
    return [(pk, form) for pk, form, types in _department_subscribers(department_id) if event_type in types]


def _department_subscribers(department_id: int) -> list[tuple[int, str, list[str]]]:
    """Every subscription the department's events may go to: (id, payload form, event types); from what this
    process holds, else one query (hand-written on PostgreSQL, the ORM's elsewhere)."""
    near = nearcache.near_cache()
    if near is None or not near.poll():
        return _department_subscribers_load(department_id)
    key = f"{SUBSCRIBERS_TAG}:{department_id}"
    held = near.get(key)
    if held is nearcache.MISSING:
        sequence = near.sequence
        held = _department_subscribers_load(department_id)
        if not getattr(connection, "orma_subscribers_written", False):
            near.store({key: held}, tag=SUBSCRIBERS_TAG, sequence=sequence)
    return held


def _department_subscribers_load(department_id: int) -> list[tuple[int, str, list[str]]]:
    if connection.vendor == "postgresql":
        return _department_subscribers_postgresql(department_id)
    return _department_subscribers_orm(department_id)


def _subscribers_postgresql(event_type: str, department_id: int) -> list[tuple[int, str]]:
    """:func:`_subscribers` through ``notifications.sql.SUBSCRIBERS`` (PostgreSQL), not held."""
    return [(pk, form) for pk, form, types in _department_subscribers_postgresql(department_id) if event_type in types]


def _subscribers_orm(event_type: str, department_id: int) -> list[tuple[int, str]]:
    """:func:`_subscribers` through the ORM, not held."""
    return [(pk, form) for pk, form, types in _department_subscribers_orm(department_id) if event_type in types]


def _department_subscribers_postgresql(department_id: int) -> list[tuple[int, str, list[str]]]:
    """What :func:`_department_subscribers_orm` answers, in ``notifications.sql.SUBSCRIBERS``: the queryset's
    building and compiling cost more than its round trip."""
    with prepared_cursor() as cursor:
        cursor.execute(
            sql.SUBSCRIBERS,
            {"department_id": department_id, "scopes": json.dumps([Scope.NOTIFICATION_MANAGE.value])},
        )
        # Django's psycopg connection hands jsonb back as its text (JSONField decodes it; here we do)
        return [
            (pk, form, json.loads(types) if isinstance(types, str) else list(types or ()))
            for pk, form, types in cursor.fetchall()
        ]


def _department_subscribers_orm(department_id: int) -> list[tuple[int, str, list[str]]]:
    """The enabled subscriptions covering the department whose partner is active and still holds
    notification.manage on it, through the ORM; the scope is matched here, not in SQL (a JSON list's
    ``contains`` is not portable to SQLite, and a department has a handful of subscriptions)."""
    # The grant is checked again here, not only when the subscription was saved: a partner whose grant on the
    # department was revoked (or who was deactivated) hears nothing more of it. Same single query: the grant
    # row is joined, its scopes compared in Python.
    rows = Subscription.objects.filter(
        enabled=True,
        departments=department_id,
        partner__is_active=True,
        partner__grants__department=department_id,
    ).values_list("pk", "payload_form", "event_types", "partner__grants__scopes")
    return [
        (pk, form, list(types or ())) for pk, form, types, scopes in rows if Scope.NOTIFICATION_MANAGE in (scopes or ())
    ]


def event_record(
    *,
    event_type: str,
    department: Department | None,
    subject_key: str,
    data: dict[str, Any],
    document: Callable[[], dict[str, Any]] | None = None,
    subscriptions: Iterable[Subscription] | None = None,
    department_id: int | None = None,
) -> Event | None:
    """In the caller's transaction: the Event row (stored once) and one PENDING Delivery per matching
    subscription (enabled, wanting the type, covering the department) or exactly the given ``subscriptions``
    (a ping: enabled or not); each rung after commit. None when nobody wants it (nothing written: the create
    path pays one query then, or none when the process holds the department's subscribers).

    ``document`` renders the object as its GET answers it, called only when a subscriber wants the full form.
    ``department_id`` stands in for ``department`` when the caller holds only the id (the domain events do).
    """
    department_id = department.pk if department is not None else department_id
    if subscriptions is not None:
        wanting = [(subscription.pk, subscription.payload_form) for subscription in subscriptions]
    elif department_id is None:
        return None
    else:
        wanting = _subscribers(event_type, department_id)
    if not wanting:
        return None
    full = document is not None and any(form == PayloadForm.FULL for _, form in wanting)
    event = Event(
        type=event_type,
        department_id=department_id,
        subject_key=subject_key,
        data=data,
        document=document() if full and document is not None else None,
        occurred_at=timezone.now(),
    )
    write = _event_write_postgresql if connection.vendor == "postgresql" else _event_write_orm
    for subscription_id, delivery_id, held in write(event, [subscription_id for subscription_id, _ in wanting]):
        # A subscription whose every slot is held by a request that hangs could not take it: no doorbell (the
        # batch that frees a slot rings for its oldest waiting delivery, later events ring, and the sweep).
        if not held:
            doorbell.ring(delivery_id, subscription_id=subscription_id)
    return event


def _event_write_orm(event: Event, subscription_ids: list[int]) -> list[tuple[int, int, bool]]:
    """The event and one PENDING delivery per subscription, through the ORM (two INSERTs); answers
    (subscription id, delivery id, False) of each: this path does not ask whether the subscription's slots
    are held (it always rings; the embedded default has one worker). PostgreSQL: :func:`_event_write_postgresql`."""
    event.save(force_insert=True)
    now = event.occurred_at
    deliveries = Delivery.objects.bulk_create(
        Delivery(
            subscription_id=subscription_id,
            event=event,
            subject_key=event.subject_key,
            event_type=event.type,
            next_attempt_at=now,
            pending_since=now,
        )
        for subscription_id in subscription_ids
    )
    return [(delivery.subscription_id, delivery.pk, False) for delivery in deliveries]


def _event_write_postgresql(event: Event, subscription_ids: list[int]) -> list[tuple[int, int, bool]]:
    """What :func:`_event_write_orm` writes, in one statement (``notifications.sql.EVENT_WITH_DELIVERIES``):
    the create holding its locks pays one round trip instead of two. Answers (subscription id, delivery id,
    held) of each, ``held`` when every slot of the subscription is taken by a request in flight for
    :data:`HELD_REQUEST_SECONDS` or more (an endpoint that hangs)."""
    fields = {field.name: field for field in Event._meta.fields}

    def prepared(name: str, value: Any) -> Any:
        return fields[name].get_db_prep_save(value, connection)  # as the ORM's INSERT: None is SQL NULL

    with prepared_cursor() as cursor:
        cursor.execute(
            sql.EVENT_WITH_DELIVERIES,
            {
                "uuid": event.uuid,
                "type": event.type,
                "department_id": event.department_id,
                "subject_key": event.subject_key,
                "data": prepared("data", event.data),
                "document": prepared("document", event.document),
                "now": prepared("occurred_at", event.occurred_at),
                "subscription_ids": subscription_ids,
                "uuids": [uuid.uuid4() for _ in subscription_ids],
                # a batch's lease runs from its claim: claimed HELD_REQUEST_SECONDS ago or more
                "held_since": prepared(
                    "occurred_at",
                    event.occurred_at + timedelta(seconds=settings.ORMA_WEBHOOK_LEASE_SECONDS - HELD_REQUEST_SECONDS),
                ),
                "max_in_flight": settings.ORMA_WEBHOOK_MAX_IN_FLIGHT,
            },
        )
        rows = cursor.fetchall()
    event.pk = rows[0][0]
    event._state.adding = False
    event._state.db = connection.alias
    return [(subscription_id, delivery_id, held) for _, delivery_id, subscription_id, held in rows]


def deliveries_requeue(deliveries: QuerySet[Delivery]) -> int:
    """Redeliver: each (not SENDING) back to PENDING now with a fresh attempt budget, the same uuid (so the
    same webhook-id), rung after commit; answers how many."""
    ids = list(deliveries.exclude(status=DeliveryStatus.SENDING).order_by("pk").values_list("pk", flat=True))
    if not ids:
        return 0
    now = timezone.now()
    requeued = (
        Delivery.objects.filter(pk__in=ids)
        .exclude(status=DeliveryStatus.SENDING)
        .update(
            status=DeliveryStatus.PENDING,
            next_attempt_at=now,
            pending_since=now,
            attempts=0,
            last_error="",
            delivered_at=None,
            lease_until=None,
            attempt_token=None,
            updated_at=now,
        )
    )
    for delivery_id in ids[:REQUEUE_RING_LIMIT]:
        _ring(delivery_id)
    return requeued


def _ring(delivery_id: int) -> None:
    doorbell.ring(delivery_id)


# --- the claim ---------------------------------------------------------------------------------------


def earlier_open() -> Exists:
    """An earlier delivery (lower id) of the same subscription and object is still PENDING or SENDING."""
    return Exists(
        Delivery.objects.filter(
            subscription_id=OuterRef("subscription_id"),
            subject_key=OuterRef("subject_key"),
            pk__lt=OuterRef("pk"),
            status__in=OPEN,
        )
    )


def unblocked() -> Q:
    """Deliveries free to go as far as ordering goes: no object (a ping), or none of the object's before it open."""
    return Q(subject_key="") | ~earlier_open()


def in_flight_requests() -> Count:
    """How many requests a subscription's SENDING rows stand for (annotate over them, live leases only).

    A batch's rows share one attempt token and go out one after the other on one worker thread, so a batch is
    one request in flight, however many rows it holds; a row without a token (written by hand, or by an older
    worker) counts alone."""
    return Count(Coalesce("attempt_token", "uuid"), distinct=True)


def in_flight_of(subscription_id: Any, now: datetime) -> QuerySet[Delivery]:
    """The requests in flight of one subscription (live leases), as a one-value queryset (a subquery's)."""
    return (
        Delivery.objects.filter(subscription_id=subscription_id, status=DeliveryStatus.SENDING, lease_until__gt=now)
        .order_by()
        .values("subscription_id")
        .annotate(n=in_flight_requests())
        .values("n")
    )


@dataclass
class Batch:
    """The deliveries one attempt took: one subscription's, under one token and lease, sent one after the other."""

    rows: list[Delivery]
    size: int  # the most it could have held (``ORMA_WEBHOOK_BATCH_SIZE``)
    token: uuid.UUID
    lease_until: datetime
    slot_was_last: bool  # this batch took the subscription's last free slot: others may have been turned away


def _claim(delivery_id: int, knobs: DeliverySettings) -> Batch | None:
    """Take the rung delivery for one attempt, with up to ``ORMA_WEBHOOK_BATCH_SIZE - 1`` other due deliveries
    of its subscription; None when the rung one is not due, held by another worker, waiting for an earlier
    delivery of its object, or its subscription at its cap of requests in flight.

    The subscription's row is locked first (``FOR NO KEY UPDATE``: it does not wait for, nor hold up, the
    inserts of new deliveries referencing it), and only when the rung delivery is due (a doorbell for a row
    another batch holds or delivered costs that one statement), so claims of one subscription take turns: the
    count of what is in flight and the claim are one step, and the cap holds however many workers race for it.
    The batch is one ``SELECT … FOR UPDATE SKIP LOCKED LIMIT n`` (with the subscription and the event joined,
    so nothing is read again) and one UPDATE. The ordering holds inside a batch: a delivery whose earlier one
    of the same object is open (in this batch included) is left out.
    """
    now = timezone.now()
    with transaction.atomic():
        # the rung delivery's due-ness is judged in the same statement as the lock (no lock when it is not)
        # A subscription seen at its cap in the same statement (a hanging endpoint, its doorbells arriving at the
        # event rate) is not locked at all: its doorbell costs that one statement, and it neither waits for nor
        # holds up the claims of the subscription's row. That count is of the statement's snapshot, taken before
        # any wait for the lock, so it only turns away; the count that lets a claim go is the one after the lock.
        postgresql = connection.vendor == "postgresql"
        claim_subscription = _claim_subscription_postgresql if postgresql else _claim_subscription_orm
        subscription_id = claim_subscription(delivery_id, now, knobs.max_in_flight)
        if subscription_id is None:
            return None
        in_flight = (_in_flight_postgresql if postgresql else _in_flight_orm)(subscription_id, now)
        if in_flight >= knobs.max_in_flight:
            return None
        # The rung delivery first (the lowest id taken), then the subscription's next due ones after it: older
        # ones have doorbells of their own, and the walk along the id is an index scan that stops at the limit.
        rows = list(
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("subscription", "event__department")
            .filter(outbox.due(now), unblocked(), subscription_id=subscription_id, pk__gte=delivery_id)
            .order_by("pk")[: knobs.batch_size]
        )
        if not rows or rows[0].pk != delivery_id:
            return None
        token, lease_until = uuid.uuid4(), now + knobs.lease
        Delivery.objects.filter(pk__in=[row.pk for row in rows]).update(
            status=DeliveryStatus.SENDING, lease_until=lease_until, attempt_token=token, attempts=F("attempts") + 1,
            updated_at=now,
        )  # fmt: skip
        for row in rows:
            row.status, row.lease_until, row.attempt_token, row.attempts = (
                DeliveryStatus.SENDING, lease_until, token, row.attempts + 1,
            )  # fmt: skip
    return Batch(
        rows=rows,
        size=knobs.batch_size,
        token=token,
        lease_until=lease_until,
        slot_was_last=in_flight + 1 >= knobs.max_in_flight,
    )


def _claim_subscription_orm(delivery_id: int, now: datetime, max_in_flight: int) -> int | None:
    """The claim's first step: the rung delivery's subscription locked, when the delivery is due and the
    statement's snapshot sees the subscription below its cap; None otherwise (no lock then). PostgreSQL:
    :func:`_claim_subscription_postgresql`."""
    return (
        Subscription.objects.select_for_update(no_key=True, of=("self",))
        .filter(pk=Subquery(Delivery.objects.filter(outbox.due(now), pk=delivery_id).values("subscription_id")))
        .alias(seen_in_flight=Coalesce(Subquery(in_flight_of(OuterRef("pk"), now)), 0))
        .filter(seen_in_flight__lt=max_in_flight)
        .order_by()
        .values_list("pk", flat=True)
        .first()
    )


def _claim_subscription_postgresql(delivery_id: int, now: datetime, max_in_flight: int) -> int | None:
    """:func:`_claim_subscription_orm` in ``notifications.sql.CLAIM_SUBSCRIPTION``: every doorbell pays it, and
    building and compiling the queryset cost ~20 times the statement's own time."""
    with prepared_cursor() as cursor:
        cursor.execute(sql.CLAIM_SUBSCRIPTION, {"delivery_id": delivery_id, "now": now, "max_in_flight": max_in_flight})
        row = cursor.fetchone()
    return None if row is None else row[0]


def _in_flight_orm(subscription_id: int, now: datetime) -> int:
    """The subscription's requests in flight now (live leases). PostgreSQL: :func:`_in_flight_postgresql`."""
    return int(
        Delivery.objects.filter(subscription_id=subscription_id, status=DeliveryStatus.SENDING, lease_until__gt=now)
        .order_by()
        .aggregate(n=in_flight_requests())["n"]
    )


def _in_flight_postgresql(subscription_id: int, now: datetime) -> int:
    """:func:`_in_flight_orm` in ``notifications.sql.IN_FLIGHT``."""
    with prepared_cursor() as cursor:
        cursor.execute(sql.IN_FLIGHT, {"subscription_id": subscription_id, "now": now})
        return int(cursor.fetchone()[0])


# --- one attempt -----------------------------------------------------------------------------------


def retry_delay(attempt: int, knobs: DeliverySettings, *, retry_after: float | None = None) -> float | None:
    """Seconds until the attempt after failed attempt number ``attempt`` (1-based), or None when it was the
    last: the schedule's step ±20 %, never sooner than ``Retry-After`` (up to :data:`RETRY_AFTER_MAX_SECONDS`)."""
    if attempt >= knobs.max_attempts:
        return None
    step = knobs.schedule[max(0, attempt - 1)]
    delay = step * random.uniform(1 - JITTER, 1 + JITTER)  # jitter, not cryptography
    if retry_after is not None and retry_after > 0:
        delay = max(delay, min(retry_after, RETRY_AFTER_MAX_SECONDS))
    return delay


@dataclass
class Sent:
    """One delivery of a batch after its request (or without one: its subscription is disabled)."""

    delivery: Delivery
    started: datetime
    result: transport.Result | None  # None: not sent, failed because the subscription is disabled


def delivery_attempt(*, delivery_id: int, run_head: bool = False) -> str:
    """One attempt of the rung delivery, and of the batch claimed with it; answers the rung one's outcome
    ("DELIVERED", "RETRY", "FAILED") or "skipped" (not due, held by another worker, waiting for an earlier
    delivery of its object, or its subscription at its cap). ``run_head``: the delivery heads a run of its
    subscription's deliveries rung at commit (``doorbell``), one doorbell per ``ORMA_WEBHOOK_BATCH_SIZE``."""
    knobs = DeliverySettings.current()
    batch = _claim(delivery_id, knobs)
    if batch is None:
        return "skipped"
    sent, unsent = _send(batch, knobs)
    outcomes = _record(batch, sent, unsent, knobs)
    _ring_after(batch, outcomes, unsent, run_head=run_head)
    return outcomes.get(delivery_id, "skipped")


def _send(batch: Batch, knobs: DeliverySettings) -> tuple[list[Sent], list[Delivery]]:
    """The batch's requests, one after the other, outside any transaction; answers what was sent and what is
    handed back unsent.

    The batch stops early, handing the rest back untried (no attempt counted, none logged), when a request ran
    into the timeout (the next one would most likely wait as long: the rest go to other slots, as many as the
    cap allows, instead of waiting here one after the other), when the endpoint answered 410 (the subscription
    is about to be disabled), or when the lease would run out before another request's deadline (a row is never
    sent after its lease could have passed to another worker). A refused connection fails fast: the batch goes
    on, so every delivery to an endpoint that is down still has its attempt and moves along its schedule."""
    sent: list[Sent] = []
    lease_deadline = time.monotonic() + (batch.lease_until - timezone.now()).total_seconds()
    rows = batch.rows
    for index, delivery in enumerate(rows):
        subscription = delivery.subscription
        started = timezone.now()
        if not subscription.enabled and delivery.event_type != EventType.PING:
            sent.append(Sent(delivery, started, None))
            continue
        if index and time.monotonic() + knobs.timeout + LEASE_MARGIN_SECONDS > lease_deadline:
            return sent, rows[index:]
        result = transport.send(
            url=subscription.url,
            body=payloads.body(delivery.event, subscription.payload_form),
            webhook_id=delivery.webhook_id,
            secrets=transport.secrets_in_use(subscription, started),
            timeout=knobs.timeout,
        )
        sent.append(Sent(delivery, started, result))
        if result.status_code == 410 or result.timed_out:
            return sent, rows[index + 1 :]
    return sent, []


def _outcome(item: Sent, knobs: DeliverySettings, now: datetime) -> tuple[str, dict[str, Any]]:
    """What one sent delivery comes to ("DELIVERED", "RETRY", "FAILED", or "GONE" for a 410) and its columns."""
    result = item.result
    if result is None:
        reason = f"subscription disabled: {item.delivery.subscription.disabled_reason or 'disabled'}"
        return DeliveryStatus.FAILED, {"status": DeliveryStatus.FAILED, "last_error": reason[:2000]}
    if result.succeeded:
        return DeliveryStatus.DELIVERED, {"status": DeliveryStatus.DELIVERED, "delivered_at": now, "last_error": ""}
    error = result.summary()
    if result.status_code == 410:
        return "GONE", {"status": DeliveryStatus.FAILED, "last_error": error}
    delay = retry_delay(item.delivery.attempts, knobs, retry_after=result.retry_after)
    if delay is None:
        return DeliveryStatus.FAILED, {"status": DeliveryStatus.FAILED, "last_error": error}
    return "RETRY", {
        "status": DeliveryStatus.PENDING,
        "last_error": error,
        "next_attempt_at": now + timedelta(seconds=delay),
    }


# The columns an outcome may write; one that does not name one keeps its value.
OUTCOME_COLUMNS = ("status", "last_error", "next_attempt_at", "delivered_at")


def _record(batch: Batch, sent: list[Sent], unsent: list[Delivery], knobs: DeliverySettings) -> dict[int, str]:
    """The batch's outcomes in one transaction: one UPDATE of its deliveries (on the batch's token, so nothing
    is written over a newer attempt), one INSERT of its attempts in the log, the subscription's health once;
    the unsent ones handed back as they were. Answers {delivery id: outcome} of the outcomes written."""
    now = timezone.now()
    outcomes: dict[int, str] = {}
    columns: dict[int, dict[str, Any]] = {}
    for item in sent:
        outcome, values = _outcome(item, knobs, now)
        values.setdefault("next_attempt_at", now)
        outcomes[item.delivery.pk], columns[item.delivery.pk] = outcome, values
    subscription = batch.rows[0].subscription
    with transaction.atomic():
        kept = _finish_all(batch, columns, now)
        if unsent:
            # handed back untried: the attempt claimed for them was never made
            Delivery.objects.filter(pk__in=[row.pk for row in unsent], attempt_token=batch.token).update(
                status=DeliveryStatus.PENDING, attempts=F("attempts") - 1, lease_until=None, attempt_token=None,
                updated_at=now,
            )  # fmt: skip
        tried = [item for item in sent if item.result is not None]
        _log_all(tried)
        # The subscription's health once per batch: healthy after any success, failing when its last request
        # failed (a 410 disables it at once, the batch's rows handed back above included).
        succeeded = [item for item in tried if item.result.succeeded and item.delivery.pk in kept]  # type: ignore[union-attr]
        if succeeded:
            ping = any(item.delivery.event_type == EventType.PING for item in succeeded)
            _subscription_succeeded(subscription, ping=ping, now=now)
            subscription.failing_since = None
        if any(outcomes[item.delivery.pk] == "GONE" for item in tried):
            subscription_disable(
                subscription_id=subscription.pk,
                kind=SubscriptionNotice.Kind.DISABLED_GONE,
                reason="the endpoint answered 410 Gone",
            )
        elif tried and not tried[-1].result.succeeded:  # type: ignore[union-attr]
            _subscription_failed(subscription, now=now, knobs=knobs)
    return {pk: (DeliveryStatus.FAILED if outcome == "GONE" else outcome) for pk, outcome in outcomes.items()}


def _finish_all(batch: Batch, columns: dict[int, dict[str, Any]], now: datetime) -> set[int]:
    """Every sent delivery's outcome in one UPDATE, only where the row is still this batch's (its token); the
    lease and token cleared. Answers the ids written (all of them, but for a lease that ran out)."""
    if not columns:
        return set()
    ids = list(columns)
    values: dict[str, Any] = {"lease_until": None, "attempt_token": None, "updated_at": now}
    for column in OUTCOME_COLUMNS:
        given = [(pk, row[column]) for pk, row in columns.items() if column in row]
        if not given:
            continue
        distinct = {value for _, value in given}
        if len(given) == len(ids) and len(distinct) == 1:
            values[column] = given[0][1]  # the common case: a batch that all went well writes one value
        else:
            field = Delivery._meta.get_field(column)
            values[column] = Case(
                *(When(pk=pk, then=Value(value, output_field=field)) for pk, value in given),
                default=F(column),
                output_field=field,
            )
    written = Delivery.objects.filter(pk__in=ids, attempt_token=batch.token).update(**values)
    if written == len(ids):
        return set(ids)
    # Some lease ran out and another attempt took the row: those rows carry another token (or its outcome).
    kept = set(
        Delivery.objects.filter(pk__in=ids, attempt_token__isnull=True, updated_at=now).values_list("pk", flat=True)
    )
    for pk in sorted(set(ids) - kept):
        logger.warning("Delivery %s: its lease ran out and another attempt took it; result dropped", pk)
    return kept


def _log_all(sent: list[Sent]) -> None:
    """Every request of the batch in the log, in one INSERT, numbered across redeliveries (``attempts``
    restarts at 0 with a fresh budget; the log does not)."""
    if not sent:
        return
    last = dict(
        DeliveryAttempt.objects.filter(delivery_id__in=[item.delivery.pk for item in sent])
        .order_by()
        .values("delivery_id")
        .annotate(last=Max("number"))
        .values_list("delivery_id", "last")
    )
    DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(
            delivery_id=item.delivery.pk,
            number=(last.get(item.delivery.pk) or 0) + 1,
            started_at=item.started,
            duration_ms=item.result.duration_ms,
            status_code=item.result.status_code,
            error=item.result.error,
            response_body=item.result.body,
            succeeded=item.result.succeeded,
        )
        for item in sent
        if item.result is not None
    )


def _subscription_succeeded(subscription: Subscription, *, ping: bool, now: datetime) -> None:
    """A 2xx: the subscription is healthy again; a successful ping re-enables a disabled one (with a notice)."""
    if ping and not subscription.enabled:
        enabled = Subscription.objects.filter(pk=subscription.pk, enabled=False).update(
            enabled=True,
            disabled_at=None,
            disabled_reason="",
            last_success_at=now,
            failing_since=None,
            updated_at=now,
        )
        if enabled:
            subscribers_changed()
            SubscriptionNotice.objects.create(
                subscription_id=subscription.pk,
                kind=SubscriptionNotice.Kind.ENABLED,
                message="re-enabled: a ping was delivered",
                at=now,
            )
            return
    # Only when it says something new: every UPDATE of the row waits for (and holds up) the claims' lock on it.
    recent = subscription.last_success_at is not None and now - subscription.last_success_at < LAST_SUCCESS_PRECISION
    if subscription.failing_since is not None or not recent:
        Subscription.objects.filter(pk=subscription.pk).update(last_success_at=now, failing_since=None)


def _subscription_failed(subscription: Subscription, *, now: datetime, knobs: DeliverySettings) -> None:
    """A failed attempt: the failure clock starts (if it runs already, it keeps its start); a subscription
    without a single success since ``ORMA_WEBHOOK_DISABLE_AFTER_DAYS`` is disabled."""
    if subscription.failing_since is None:
        Subscription.objects.filter(pk=subscription.pk, failing_since__isnull=True).update(failing_since=now)
    elif subscription.enabled and subscription.failing_since <= now - knobs.disable_after:
        subscription_disable(
            subscription_id=subscription.pk,
            kind=SubscriptionNotice.Kind.DISABLED_FAILING,
            reason=f"no successful delivery since {subscription.failing_since:%Y-%m-%d %H:%M} UTC",
        )


def subscription_disable(*, subscription_id: int, kind: str, reason: str) -> bool:
    """Disable an enabled subscription (410, or failing too long): a notice in its log, its waiting deliveries
    FAILED with the reason (redeliverable). True when it was enabled."""
    now = timezone.now()
    with transaction.atomic():
        disabled = Subscription.objects.filter(pk=subscription_id, enabled=True).update(
            enabled=False, disabled_at=now, disabled_reason=reason[:200], updated_at=now
        )
        if not disabled:
            return False
        subscribers_changed()
        SubscriptionNotice.objects.create(subscription_id=subscription_id, kind=kind, message=reason, at=now)
        Delivery.objects.filter(subscription_id=subscription_id, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.FAILED, last_error=f"subscription disabled: {reason}"[:2000], updated_at=now
        )
    logger.warning("subscription %s disabled: %s", subscription_id, reason)
    return True


def subscriptions_disable_failing(*, now: datetime | None = None) -> int:
    """Disable every enabled subscription failing without a success for ``ORMA_WEBHOOK_DISABLE_AFTER_DAYS``
    (a periodic task: also those no attempt reaches any more); answers how many."""
    knobs = DeliverySettings.current()
    now = now or timezone.now()
    failing = Subscription.objects.filter(enabled=True, failing_since__lte=now - knobs.disable_after)
    disabled = 0
    for subscription_id, since in failing.values_list("pk", "failing_since"):
        disabled += subscription_disable(
            subscription_id=subscription_id,
            kind=SubscriptionNotice.Kind.DISABLED_FAILING,
            reason=f"no successful delivery since {since:%Y-%m-%d %H:%M} UTC",
        )
    return disabled


def _ring_after(batch: Batch, outcomes: dict[int, str], unsent: list[Delivery], *, run_head: bool = False) -> None:
    """After a batch: ring the next delivery of each object whose delivery ended (it waited for it), and, when
    this batch held the subscription's last free slot (others may have been turned away at the cap), handed
    rows back unsent or came back full (more may wait behind it: one doorbell rings for a whole batch), the
    subscription's oldest delivery that is due and free to go. Ringing that one after
    every batch would double the doorbells of a busy subscription, each claim taking the subscription's lock."""
    subscription_id = batch.rows[0].subscription_id
    ended = {row.subject_key for row in batch.rows if row.subject_key and outcomes.get(row.pk) in ENDED}
    rung: list[int] = []
    if ended:
        rung = list(
            Delivery.objects.filter(
                subscription_id=subscription_id, subject_key__in=ended, status=DeliveryStatus.PENDING
            )
            .order_by()
            .values("subject_key")
            .annotate(next=Min("pk"))
            .values_list("next", flat=True)
        )
        for delivery_id in sorted(rung):
            _ring(delivery_id)
    # a full batch may have left due deliveries behind it: the next batch is rung at once (not at the sweep)
    # (with batches of 1 every delivery has a doorbell of its own: nothing to ring for)
    if not (batch.slot_was_last or unsent or len(batch.rows) >= batch.size > 1):
        return
    if run_head and not (batch.slot_was_last or unsent) and _next_run_rung(batch):
        return
    waiting = (
        Delivery.objects.filter(
            unblocked(),
            subscription_id=subscription_id,
            status=DeliveryStatus.PENDING,
            next_attempt_at__lte=timezone.now(),
        )
        .exclude(pk__in=[*(row.pk for row in batch.rows if row not in unsent), *rung])
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if waiting is not None:
        _ring(waiting)


def _next_run_rung(batch: Batch) -> bool:
    """Whether the full batch of a run's head holds exactly the subscription's deliveries from the head on, and
    another follows it: that one heads the next run of the commit (or is the first of a later commit's), so its
    doorbell is queued already. One statement: the subscription's next ``len(rows)`` deliveries after the head.

    A batch that left a delivery out between its rows (waiting for an earlier one of its object, not due, held)
    reached into the next run and took its head: then the rows after it have no doorbell, and False."""
    rows = batch.rows
    after = list(
        Delivery.objects.filter(subscription_id=rows[0].subscription_id, pk__gt=rows[0].pk)
        .order_by("pk")
        .values_list("pk", flat=True)[: len(rows)]
    )
    return len(after) == len(rows) and after[:-1] == [row.pk for row in rows[1:]]


# --- the sweep and the log's retention -------------------------------------------------------------------


def deliveries_due(*, limit: int = 1000, skip: int = 0) -> list[int]:
    """The deliveries a sweep rings for: due or with an expired lease, not waiting for an earlier delivery of
    their object, of subscriptions below their cap (oldest first; ``skip``: leave out the oldest, whose
    doorbells still wait)."""
    # Not for a subscription whose slots are all taken (an endpoint that hangs): its doorbells would find it
    # at its cap, and, queued ahead of everyone else's, delay other partners' deliveries.
    cap = settings.ORMA_WEBHOOK_MAX_IN_FLIGHT
    at_cap = list(
        Delivery.objects.filter(status=DeliveryStatus.SENDING, lease_until__gt=timezone.now())
        .order_by()
        .values("subscription_id")
        .annotate(in_flight=in_flight_requests())
        .filter(in_flight__gte=cap)
        .values_list("subscription_id", flat=True)
    )
    extra = unblocked() & ~Q(subscription_id__in=at_cap) if at_cap else unblocked()
    return outbox.due_ids(Delivery, limit=limit, skip=skip, extra=extra)


def delivery_log_purge(*, now: datetime | None = None, batch_size: int = 1000) -> dict[str, int]:
    """Delete what is older than ``ORMA_WEBHOOK_RETENTION_DAYS``: attempts, ended deliveries, and events no
    delivery refers to any more, in batches (no long lock on the log); answers how many of each."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.ORMA_WEBHOOK_RETENTION_DAYS)
    purged = {"attempts": 0, "deliveries": 0, "events": 0}

    def in_batches(rows: QuerySet[Any], key: str) -> None:
        while True:
            ids = list(rows.order_by("pk").values_list("pk", flat=True)[:batch_size])
            if not ids:
                return
            rows.model._default_manager.filter(pk__in=ids).delete()
            purged[key] += len(ids)
            if len(ids) < batch_size:
                return

    in_batches(DeliveryAttempt.objects.filter(started_at__lt=cutoff), "attempts")
    ended = Delivery.objects.filter(created_at__lt=cutoff).exclude(status__in=OPEN)
    # a delivery's remaining attempts go with it (a redelivered one may hold newer attempts: it is kept)
    in_batches(ended.exclude(attempts_log__started_at__gte=cutoff), "deliveries")
    unreferenced = ~Exists(Delivery.objects.filter(event=OuterRef("pk")))
    in_batches(Event.objects.filter(unreferenced, occurred_at__lt=cutoff), "events")
    return purged
