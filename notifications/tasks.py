"""Celery tasks of webhook delivery: thin, each carries at most a delivery id and calls one service.

They run on a queue of their own, ``webhooks``, served by a thread-pool worker (``celery -A orma worker -Q
webhooks -P threads``): a delivery spends its time waiting on a partner's endpoint, so threads are cheap slots,
and endpoints that hang occupy at most ``ORMA_WEBHOOK_MAX_IN_FLIGHT`` of them each, never the prefork worker's
processes the DMS push needs. Celery is only the doorbell (``orma.outbox``): a lost task, a dead worker or a
wiped broker costs one sweep.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace

from celery import shared_task
from django.conf import settings

from orma import outbox

from .delivery import deliveries_due, delivery_attempt, delivery_log_purge, subscriptions_disable_failing

logger = logging.getLogger(__name__)

QUEUE = "webhooks"  # routed there by settings.CELERY_TASK_ROUTES ("notifications.*")
# The most doorbells the sweep keeps waiting in the queue.
SWEEP_BATCH = 1000


# Acknowledged late and handed back if its worker dies. No time limit is needed (a thread pool could not
# enforce one anyway): the transport cuts every request at ORMA_WEBHOOK_TIMEOUT_SECONDS, well within the lease.
@shared_task(name="notifications.deliver", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def deliver(delivery_id: int) -> str:
    """One attempt of a webhook delivery."""
    return delivery_attempt(delivery_id=delivery_id)


# The doorbell of the first delivery of a run a commit wrote for one subscription (``doorbell``): the same attempt,
# told that the delivery right after its batch heads the next run and has a doorbell of its own.
@shared_task(name="notifications.deliver_run", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def deliver_run(delivery_id: int) -> str:
    """One attempt of a webhook delivery that heads a run of its subscription's deliveries rung at commit."""
    return delivery_attempt(delivery_id=delivery_id, run_head=True)


# A sweep that waited longer than its interval is dropped: the next one is on its way (see dms.sweep).
@shared_task(name="notifications.sweep", ignore_result=True, expires=settings.ORMA_WEBHOOK_SWEEP_SECONDS)
def sweep() -> int:
    """Ring for the deliveries that are due or whose lease expired, topping the queue up to ``SWEEP_BATCH``
    doorbells (those still waiting most likely ring for the oldest due deliveries: this rings for the next)."""
    waiting = outbox.waiting(SimpleNamespace(app=deliver.app, queue=QUEUE))  # the webhooks queue's length
    room = SWEEP_BATCH - waiting
    if room <= 0:
        return 0
    due = deliveries_due(limit=room, skip=waiting)
    for delivery_id in due:
        outbox.ring(deliver, delivery_id)
    if due:
        logger.info("sweep: rang for %s due delivery(ies), %s doorbell(s) waited already", len(due), waiting)
    return len(due)


@shared_task(name="notifications.purge", ignore_result=True)
def purge() -> dict[str, int]:
    """Delete the delivery log older than ``ORMA_WEBHOOK_RETENTION_DAYS`` (hourly)."""
    return delivery_log_purge()


@shared_task(name="notifications.disable_failing", ignore_result=True)
def disable_failing() -> int:
    """Disable the subscriptions failing without a success for ``ORMA_WEBHOOK_DISABLE_AFTER_DAYS`` (hourly)."""
    return subscriptions_disable_failing()
