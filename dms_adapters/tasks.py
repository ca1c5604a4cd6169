"""Celery tasks of the DMS push: thin, each carries at most a row id and calls one service.

Celery is only the doorbell (``orma.outbox``): a lost task, a dead worker or a wiped broker costs one sweep.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.cache import cache

from orma import outbox

from .parts_push import parts_order_push_attempt, parts_order_pushes_due
from .services import dms_push_attempt, dms_pushes_due

logger = logging.getLogger(__name__)


def _attempt_task(name: str) -> Any:
    """A task making one outbox attempt: acknowledged late and handed back if its worker dies, and killed
    well within the lease, so a push cut short is taken again once its lease ends, never while it might
    still be talking to the DMS."""
    return shared_task(
        name=name,
        acks_late=True,
        reject_on_worker_lost=True,
        ignore_result=True,
        soft_time_limit=settings.ORMA_DMS_LEASE_SECONDS * 0.7,
        time_limit=settings.ORMA_DMS_LEASE_SECONDS * 0.8,
    )


@_attempt_task("dms.push")
def push(push_id: int) -> str:
    """One attempt to push an order to its dealer's DMS."""
    return dms_push_attempt(push_id=push_id)


@_attempt_task("dms.push_parts_order")
def push_parts_order(push_id: int) -> str:
    """One submit or poll of a parts order at its dealer's network DMS."""
    return parts_order_push_attempt(push_id=push_id)


# The most doorbells the sweep keeps waiting in the queue.
SWEEP_BATCH = 1000
SWEEP_LOCK = "dms:sweep-running"


# A sweep that waited in the queue longer than the interval is dropped: the next one is already on its
# way, and sweeps piled up behind a backlog would otherwise all run at once, each ringing the same rows.
@shared_task(name="dms.sweep", ignore_result=True, expires=settings.ORMA_DMS_SWEEP_SECONDS)
def sweep() -> int:
    """Ring for the pushes that are due or whose lease expired (beat, every few seconds), topping the queue up
    to ``SWEEP_BATCH`` doorbells.

    The doorbells still waiting in the queue most likely ring for the oldest due pushes (the last sweep's, a
    backlog's), so this sweep rings for the ones after them, as many as the queue has room for. Ringing
    again for the waiting ones is what it avoids: with 10,000 rows pending after a wiped broker, every
    sweep re-rang the same 1,000, and the workers spent most of their time on doorbells that found their
    push done. A push left out waits until the queue drains, when a sweep rings for everything due again.
    """
    # One sweep at a time: two running together (the sweeps that waited behind a backlog, taken by two worker
    # processes at once) both counted the same waiting doorbells and both rang the same rows (~770 needless
    # doorbells after a backlog of 1,100). The lock ends with the sweep, or after an interval if it dies.
    if not cache.add(SWEEP_LOCK, True, timeout=max(1, settings.ORMA_DMS_SWEEP_SECONDS)):
        return 0
    try:
        waiting = outbox.waiting(push)
        room = SWEEP_BATCH - waiting
        if room <= 0:
            return 0
        due = [(push, push_id) for push_id in dms_pushes_due(limit=room, skip=waiting)]
        due += [(push_parts_order, push_id) for push_id in parts_order_pushes_due(limit=max(0, room - len(due)))]
        for task, push_id in due:
            outbox.ring(task, push_id)
        outbox.published()  # in the queue before the next sweep counts what waits there
    finally:
        cache.delete(SWEEP_LOCK)
    if due:
        logger.info("sweep: rang for %s due push(es), %s doorbell(s) waited already", len(due), waiting)
    return len(due)
