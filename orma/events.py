"""Domain events: what happened to an order, announced by the app that changed it.

The domain emits, the integrations (DMS push, notifications) subscribe; no domain app knows who listens.
A receiver chooses its moment:

- ``IN_TRANSACTION``: it runs at once, inside the writer's transaction, so what it writes (an outbox row,
  a delivery) commits or rolls back with the change itself: nothing is lost between commit and queueing.
- ``AFTER_COMMIT`` (the default): it runs once the change is committed, never for a rolled-back one
  (the place to ring a worker's doorbell). A receiver that fails there is logged, not raised: the change
  is already committed and the outbox sweep catches up.
"""

from __future__ import annotations

import enum
import functools
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction

logger = logging.getLogger("orma.events")


class EventType(models.TextChoices):
    """The events of DESIGN §7, by the names partners subscribe to."""

    ORDER_CREATED = "order.created"
    ORDER_UPDATED = "order.updated"
    ORDER_DMS_SYNCED = "order.dms_synced"
    ORDER_DMS_REJECTED = "order.dms_rejected"
    PARTS_ORDER_CREATED = "parts_order.created"
    PARTS_ORDER_STATUS_CHANGED = "parts_order.status_changed"
    PING = "ping"


class Phase(enum.Enum):
    IN_TRANSACTION = "in_transaction"
    AFTER_COMMIT = "after_commit"


@dataclass(frozen=True)
class DomainEvent:
    """One thing that happened: its type, the row it happened to, its department, and what changed."""

    type: str
    subject: Any  # the repair order or parts order, as the writer left it
    department_id: int
    data: Mapping[str, Any] = field(default_factory=dict)  # e.g. {"old_status": ..., "new_status": ...}


Receiver = Callable[[DomainEvent], None]
_receivers: dict[Phase, list[tuple[frozenset[str] | None, Receiver]]] = {phase: [] for phase in Phase}


def subscribe(receiver: Receiver, *types: str, phase: Phase = Phase.AFTER_COMMIT) -> Receiver:
    """Call ``receiver`` for every event of these types (all types when none is named)."""
    _receivers[phase].append((frozenset(types) or None, receiver))
    return receiver


def unsubscribe(receiver: Receiver) -> None:
    for phase in Phase:
        _receivers[phase] = [(types, known) for types, known in _receivers[phase] if known is not receiver]


def _wanting(phase: Phase, event: DomainEvent) -> list[Receiver]:
    return [receiver for types, receiver in _receivers[phase] if types is None or event.type in types]


def _deliver_after_commit(event: DomainEvent) -> None:
    for receiver in _wanting(Phase.AFTER_COMMIT, event):
        try:
            receiver(event)
        except Exception:  # the change is committed; one failing receiver must not hide it from the others
            logger.exception("receiver %r of %s failed", receiver, event.type)


def emit(event_type: str, *, subject: Any, department_id: int, **data: Any) -> DomainEvent:
    """Announce an event: in-transaction receivers run now, the others after the commit."""
    event = DomainEvent(event_type, subject, department_id, data)
    for receiver in _wanting(Phase.IN_TRANSACTION, event):
        receiver(event)
    if _receivers[Phase.AFTER_COMMIT]:
        transaction.on_commit(functools.partial(_deliver_after_commit, event))
    return event


@contextmanager
def recording(*types: str, phase: Phase = Phase.AFTER_COMMIT) -> Iterator[list[DomainEvent]]:
    """The events of these types emitted inside the block (tests, and whoever needs to watch a while)."""
    seen: list[DomainEvent] = []
    receiver = subscribe(seen.append, *types, phase=phase)
    try:
        yield seen
    finally:
        unsubscribe(receiver)
