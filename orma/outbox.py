"""The outbox: a database row per thing to deliver, the only source of truth of its delivery.

A change and its outbox row are written in one transaction (an ``IN_TRANSACTION`` event receiver writes
the row), so nothing is lost between the commit and the queueing. The row is the delivery's state machine
(:class:`OutboxStatus`), and Celery is only the doorbell: a task carries nothing but the row's id.

- :func:`claim`: a worker takes a due row in a short transaction (``SELECT … FOR UPDATE SKIP LOCKED``, so two
  workers never take the same row and neither waits for the other), leasing it for a while under a fresh
  attempt token; it then calls the peer outside any transaction.
- :func:`finish`: the outcome is written by an update conditioned on that token, so a worker whose lease
  ran out (and whose row another worker took) can never overwrite a newer result.
- :func:`ring`: the task is queued once the change commits, with a short publish timeout; after a failed
  publish this process skips publishing for a few seconds instead of waiting on a dead broker each time.
  The doorbells of one transaction are handed over together, once it commits, and with a real broker to one
  publisher thread per process (``ORMA_OUTBOX_DOORBELL_THREAD``), so that a create does not wait for the
  broker's round trip (nor for kombu's work) after its commit; eager Celery (the tests' in-process mode) and a
  task without a Celery app publish at once, in the committing thread.
- A periodic sweep (:func:`due_ids`) rings for every row that is due or whose lease expired: a dead worker,
  a broker outage or a wiped Redis delays a delivery by one sweep, it never loses one. It tops the queue up
  rather than ringing again for what already waits there (:func:`waiting`): with a backlog, doorbells
  that find their row done would otherwise outnumber the work.
- Backoff lives in ``next_attempt_at`` (:func:`retry_delay`), never in a Celery countdown or ETA (which
  Redis runs twice past its visibility timeout).

The DMS push (``dms_adapters``) and webhook delivery use it; each has its own table on :class:`OutboxRow`.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import random
import threading
import time
import uuid
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

logger = logging.getLogger("orma.outbox")

# After a publish fails, this process rings no doorbell for this long: the sweep catches up.
PUBLISH_PAUSE_SECONDS = 5.0
# How long a process that exits waits for its queued doorbells to go out.
EXIT_DRAIN_SECONDS = 2.0


class OutboxStatus(models.TextChoices):
    """Where a delivery stands."""

    PENDING = "PENDING"  # waiting for its next attempt (``next_attempt_at``)
    SENDING = "SENDING"  # a worker holds it until ``lease_until``
    SYNCED = "SYNCED"  # delivered
    REJECTED = "REJECTED"  # the peer refused it for good (a business answer)
    FAILED = "FAILED"  # out of retries: visible in the admin, resendable


class OutboxRow(models.Model):
    """The delivery state of one thing: status, attempts, when to try next, who holds it until when."""

    status = models.CharField(max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0, help_text="attempts since the delivery last succeeded")
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True, help_text="while SENDING: the holder's deadline")
    attempt_token = models.UUIDField(null=True, blank=True, help_text="the current attempt's; results need it")
    pending_since = models.DateTimeField(default=timezone.now, help_text="the retry budget counts from here")
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


Row = TypeVar("Row", bound=OutboxRow)


def due(now: datetime) -> Q:
    """Rows a worker may take now: pending and due, or sending under a lease that ran out."""
    return Q(status=OutboxStatus.PENDING, next_attempt_at__lte=now) | Q(
        status=OutboxStatus.SENDING, lease_until__lt=now
    )


def claim(model: type[Row], row_id: int, *, lease: timedelta, extra: Q | None = None) -> Row | None:
    """Take the row for one attempt (SENDING, leased, a fresh token, one more attempt), or None when it is
    not due, taken by another worker, or excluded by ``extra``. A short transaction of its own."""
    now = timezone.now()
    with transaction.atomic():
        # ``of=self``: lock the outbox row only; ``extra`` may join other tables (a LEFT JOIN that
        # PostgreSQL refuses to lock: "FOR UPDATE cannot be applied to the nullable side of an outer join").
        rows = model._default_manager.select_for_update(skip_locked=True, of=("self",)).filter(due(now), pk=row_id)
        row = (rows.filter(extra) if extra is not None else rows).first()
        if row is None:
            return None
        row.status = OutboxStatus.SENDING
        row.lease_until = now + lease
        row.attempt_token = uuid.uuid4()
        row.attempts += 1
        row.save(update_fields=["status", "lease_until", "attempt_token", "attempts", "updated_at"])
    return row


def finish(row: OutboxRow, **values: Any) -> bool:
    """Write an attempt's outcome, only while the row is still this attempt's (its token); True if written.

    The lease and the token are cleared; ``values`` are the outcome's columns (``status`` and the rest,
    expressions allowed).
    """
    values.setdefault("lease_until", None)
    values.setdefault("attempt_token", None)
    values["updated_at"] = timezone.now()
    written = type(row)._default_manager.filter(pk=row.pk, attempt_token=row.attempt_token).update(**values)
    if not written:
        logger.warning(
            "%s %s: its lease ran out and another attempt took it; result dropped", type(row).__name__, row.pk
        )
    return bool(written)


def retry_delay(attempt: int, *, base: float = 5.0, cap: float = 3600.0, retry_after: float | None = None) -> float:
    """Seconds until the next attempt after ``attempt`` failed ones: exponential, capped, with jitter
    (so a peer that comes back is not hit by every row at once); never sooner than the peer's ``Retry-After``."""
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    delay = random.uniform(ceiling / 2, ceiling)  # jitter, not cryptography
    return max(delay, retry_after or 0.0)


def due_ids(model: type[OutboxRow], *, limit: int = 1000, extra: Q | None = None, skip: int = 0) -> list[int]:
    """The ids of rows due now (oldest first, the ``skip`` oldest left out), for the sweep to ring for."""
    rows = model._default_manager.filter(due(timezone.now()))
    if extra is not None:
        rows = rows.filter(extra)
    return list(rows.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[skip : skip + limit])


def waiting(task: Any) -> int:
    """How many messages wait in ``task``'s queue at the broker (Redis' list length, the filesystem
    transport's files); 0 when the task runs in-process or the broker cannot be asked."""
    app = getattr(task, "app", None)
    if app is None or app.conf.task_always_eager:
        return 0
    queue = getattr(task, "queue", None) or app.conf.task_default_queue
    try:
        with app.connection_for_read() as connection:
            connection.ensure_connection(max_retries=0)  # no 2 s failover sleep on a dead broker
            return int(connection.default_channel.queue_declare(queue=queue, passive=False).message_count)
    except Exception as exc:  # the sweep then rings as if nothing waited: duplicates, never a loss
        logger.warning("could not count the messages waiting in %s (%s)", queue, exc)
        return 0


_publish_paused_until = 0.0


def _connect_at_once(task: Any) -> None:
    """Connect the broker connection the publish will use in one try, raising at once when the broker is down.

    kombu's failover options (the transport's ``max_retries``) would otherwise sleep 2 s before a second
    try at a broker that is down, inside the API request. The pool hands the same producer to the publish
    that follows (a LIFO pool, one thread per request). Nothing to connect when the task runs in-process,
    or for a stand-in without a Celery app.
    """
    app = getattr(task, "app", None)
    if app is None or app.conf.task_always_eager:
        return
    with app.producer_or_acquire() as producer:
        producer.connection.ensure_connection(max_retries=0)


def _publish(task: Any, row_id: int) -> None:
    global _publish_paused_until
    if time.monotonic() < _publish_paused_until:
        return  # the broker failed a moment ago: the sweep will ring for this row
    try:
        _connect_at_once(task)
        task.apply_async(args=[row_id], retry=False)
    except Exception as exc:  # any broker failure: the row is safe in the database
        _publish_paused_until = time.monotonic() + PUBLISH_PAUSE_SECONDS
        logger.warning("could not queue %s for row %s (%s); the sweep will", task.name, row_id, exc)


def ring(task: Any, row_id: int) -> None:
    """Queue ``task(row_id)`` once the current transaction commits (at once outside one).

    The doorbells a transaction rings are kept together (one on-commit callback, whatever their number) and
    handed over once it commits: to the publisher thread with a real broker, else published in this thread.
    A transaction that rolls back (or the savepoint that rang) rings nothing.
    """
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        _hand_over([(task, row_id)])
        return
    current: _Doorbells | None = getattr(_local, "doorbells", None)
    # Still this transaction's? Its flush leaves the connection's on-commit list once it ran, or once the
    # transaction (or the savepoint that registered it) rolled back: then a new one starts. A doorbell added
    # in a savepoint rolled back later stays: it finds no row to claim, as a doorbell may.
    if current is None or not any(func == current.flush for _, func, _ in connection.run_on_commit):
        current = _local.doorbells = _Doorbells()
        transaction.on_commit(current.flush)
    current.rung.append((task, row_id))


def published(timeout: float = 5.0) -> bool:
    """Wait until this process's doorbells handed to the publisher thread are at the broker (False: not in time)."""
    return _publisher.drain(timeout)


def _hand_over(rung: list[tuple[Any, int]]) -> None:
    """Publish these doorbells, in this thread or through the outbox's publisher thread (:class:`Publisher`)."""
    _publisher.hand_over(rung)


class _Doorbells:
    """The doorbells one transaction rang, handed over together once it commits."""

    def __init__(self) -> None:
        self.rung: list[tuple[Any, int]] = []

    def flush(self) -> None:
        rung, self.rung = self.rung, []
        _hand_over(rung)


_local = threading.local()


class Publisher:
    """One daemon thread per process (named ``name``) that publishes the doorbells handed to it, in order.

    The outbox's own doorbells go through :data:`_publisher`; a family with doorbells of its own (the webhooks',
    ``notifications.doorbell``) holds another, so neither waits behind the other's. ``setting`` names the
    boolean setting that switches the thread off (then the caller publishes). A process that exits first
    publishes what is still queued (``atexit``, for a while); one that dies loses those doorbells, which costs
    one sweep, as a lost task always did.
    """

    def __init__(self, name: str, *, setting: str) -> None:
        self.name = name
        self.setting = setting
        self._queue: queue.SimpleQueue[list[tuple[Any, int]]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._done = threading.Condition()
        self._unpublished = 0  # hand-overs not yet published, under ``_done``
        self._pid = 0
        atexit.register(self.drain)

    def in_this_thread(self, task: Any) -> bool:
        """Whether ``task``'s doorbells are published by the caller: eager Celery runs the task right here (the
        tests' in-process mode), a stand-in has no Celery app, and the thread can be switched off."""
        app = getattr(task, "app", None)
        return app is None or app.conf.task_always_eager or not getattr(settings, self.setting)

    def hand_over(self, rung: list[tuple[Any, int]]) -> None:
        """Publish these doorbells (task, row id), in this thread or the publisher's (:meth:`in_this_thread`)."""
        later = []
        for task, row_id in rung:
            if self.in_this_thread(task):
                _publish(task, row_id)
            else:
                later.append((task, row_id))
        if later:
            self.put(later)

    def put(self, rung: list[tuple[Any, int]]) -> None:
        """Hand these doorbells (task, row id) over, to be published in this order."""
        if self._pid != os.getpid():  # first use, or a forked child (gunicorn's workers): a thread of its own
            with self._lock:
                if self._pid != os.getpid():
                    self._queue = queue.SimpleQueue()
                    self._done = threading.Condition()
                    self._unpublished = 0
                    threading.Thread(target=self._run, name=self.name, daemon=True).start()
                    self._pid = os.getpid()
        with self._done:
            self._unpublished += 1
        self._queue.put(rung)

    def _run(self) -> None:
        while True:
            rung = self._queue.get()
            for task, row_id in rung:
                try:
                    _publish(task, row_id)  # never raises for the broker: logs, pauses
                except Exception:  # anything else must not end the thread: the sweep rings for the row
                    logger.exception("could not ring %s for row %s", getattr(task, "name", task), row_id)
            with self._done:
                self._unpublished -= 1
                self._done.notify_all()

    def drain(self, timeout: float = EXIT_DRAIN_SECONDS) -> bool:
        """Wait until what was handed over is published (at exit, and for tests); True when it was."""
        if self._pid != os.getpid():
            return True
        with self._done:
            return self._done.wait_for(lambda: self._unpublished == 0, timeout)


_publisher = Publisher("outbox-doorbells", setting="ORMA_OUTBOX_DOORBELL_THREAD")
