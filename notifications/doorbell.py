"""The webhooks' doorbell (``orma.outbox``): what tells the worker that deliveries wait, rung once the change commits.

- Coalesced per transaction: a transaction that wrote many deliveries of a subscription rings one doorbell per
  ``ORMA_WEBHOOK_BATCH_SIZE`` of them (the first of each run of ids), since one attempt claims a batch of the
  subscription's due deliveries from the rung one on. Those run heads ring ``tasks.deliver_run``: a batch it
  took that comes back full, holding exactly the subscription's deliveries from its head on, leaves the
  delivery right after it alone (the next run's head, its doorbell queued already; ringing it again left one
  stale doorbell per batch queued ahead of fresh ones after a burst: issue 10's first-attempt p99). Any other
  full batch rings for what follows it (``delivery._ring_after``), and the sweep for anything left: a doorbell
  is a hint, never the only way.
- Off the request's thread: with a real broker the publishes are handed to a publisher thread of the process
  (``orma.outbox.Publisher``, one of its own beside the outbox's), so a create does not wait for the broker's
  round trip (nor for kombu's work) after its commit. A process that exits first publishes what is still
  queued (``atexit``); one that dies loses those doorbells, which costs one sweep, as a lost task always did.
  With Celery eager (the tests' in-process mode) the publish runs at once, in the caller's thread.
"""

from __future__ import annotations

import threading
from collections import defaultdict

from django.db import transaction

from orma import outbox


class _Transaction:
    """The doorbells of one transaction: delivery ids per subscription, rung on commit."""

    def __init__(self) -> None:
        self.ids: dict[int | None, list[int]] = defaultdict(list)

    def flush(self) -> None:
        from .delivery import DeliverySettings

        step = DeliverySettings.current().batch_size
        rung: list[int] = []
        heads: list[int] = []
        for subscription_id, ids in self.ids.items():
            if subscription_id is None:
                rung.extend(ids)  # asked for one by one (a redelivery, the next of an object): each rung
            else:
                heads.extend(sorted(ids)[::step])
        self.ids.clear()
        _publish(sorted(rung))
        _publish(sorted(heads), heads=True)


_local = threading.local()


def ring(delivery_id: int, *, subscription_id: int | None = None) -> None:
    """Ring for a delivery once the current transaction commits (at once outside one). Deliveries of one
    subscription written in the same transaction share doorbells (one per batch); without a subscription
    the delivery gets a doorbell of its own."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        _publish([delivery_id], heads=subscription_id is not None)  # a run of one
        return
    current: _Transaction | None = getattr(_local, "transaction", None)
    # Still this transaction's? Its flush is gone from the connection's on-commit list once it ran, or once
    # the transaction (or the savepoint that registered it) rolled back: then a new one starts. An id added
    # in a savepoint rolled back later stays: its doorbell finds nothing to claim.
    if current is None or not any(func == current.flush for _, func, _ in connection.run_on_commit):
        current = _local.transaction = _Transaction()
        transaction.on_commit(current.flush)
    current.ids[subscription_id].append(delivery_id)


def _publish(delivery_ids: list[int], *, heads: bool = False) -> None:
    """Publish the doorbells of ``delivery_ids``; ``heads``: each heads a run rung at commit
    (``tasks.deliver_run``: the attempt need not ring for the delivery right after its batch, the next run's head)."""
    from .tasks import deliver, deliver_run

    if not delivery_ids:
        return
    task = deliver_run if heads else deliver
    _publisher.hand_over([(task, delivery_id) for delivery_id in delivery_ids])


_publisher = outbox.Publisher("webhook-doorbells", setting="ORMA_WEBHOOK_DOORBELL_THREAD")
