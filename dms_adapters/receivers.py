"""How the DMS integration hears of the domain's changes (``orma.events``): the domain never calls it."""

from __future__ import annotations

from orma import outbox
from orma.events import DomainEvent, EventType, Phase, subscribe
from parts.services import parts_order_dms_synced

from .parts_push import parts_order_push_enqueue
from .registry import adapter_for
from .services import dms_push_enqueue


def repair_order_written(event: DomainEvent) -> None:
    """A created or updated repair order gets its push row in the same transaction; the worker is rung
    once it commits."""
    push_id = dms_push_enqueue(repair_order=event.subject, created=event.type == EventType.ORDER_CREATED)
    if push_id is not None:
        from .tasks import push

        outbox.ring(push, push_id)


def parts_order_created(event: DomainEvent) -> None:
    """A DMS that answers in-process (the sandbox) takes a new parts order inside its transaction, so the
    API can answer 201; a network DMS gets a push row, written in the same transaction, and the worker is
    rung once it commits (the API waits a moment for it when the dealer's DMS is synchronous)."""
    parts_order = event.subject
    adapter = adapter_for(parts_order.department.dealer)
    if adapter.in_process and adapter.takes_parts_orders:
        receipt = adapter.submit_parts_order(parts_order)
        if receipt.accepted:
            parts_order_dms_synced(parts_order=parts_order, dms_order_number=receipt.dms_order_number)
        # the worker polls it from now on: the sandbox moves its lines along as time passes
        parts_order_push_enqueue(parts_order=parts_order, submitted=receipt.accepted)
        return
    push_id = parts_order_push_enqueue(parts_order=parts_order)
    if push_id is not None:
        from .tasks import push_parts_order

        outbox.ring(push_parts_order, push_id)


def connect() -> None:
    subscribe(repair_order_written, EventType.ORDER_CREATED, EventType.ORDER_UPDATED, phase=Phase.IN_TRANSACTION)
    subscribe(parts_order_created, EventType.PARTS_ORDER_CREATED, phase=Phase.IN_TRANSACTION)
