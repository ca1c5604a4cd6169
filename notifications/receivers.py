"""How notifications hear of the domain's changes (``orma.events``): the domain never calls them.

Every receiver runs ``IN_TRANSACTION``: the event and its deliveries are written in the transaction of the
change itself, so a committed change always has its notifications, and a rolled-back one never does. With no
subscriber, a receiver costs the change one query, or none once the process holds the department's subscribers
(:func:`notifications.delivery.event_record`; the writes that change them are announced from here).
"""

from __future__ import annotations

from typing import Any

from celery.signals import task_prerun
from django.core.signals import request_started
from django.db.models.signals import post_delete, post_save

from orma.events import DomainEvent, EventType, Phase, subscribe
from tenancy.models import Grant, Partner

from . import payloads
from .delivery import event_record, subscribers_changed, subscribers_written_forget
from .models import Subscription

ORDER_EVENTS = (
    EventType.ORDER_CREATED,
    EventType.ORDER_UPDATED,
    EventType.ORDER_DMS_SYNCED,
    EventType.ORDER_DMS_REJECTED,
)
PARTS_ORDER_EVENTS = (EventType.PARTS_ORDER_CREATED, EventType.PARTS_ORDER_STATUS_CHANGED)


def repair_order_event(event: DomainEvent) -> None:
    """A repair order was created, updated, synced to or rejected by the DMS: its subscribers' deliveries."""
    repair_order = event.subject
    event_record(
        event_type=event.type,
        department=None,
        department_id=event.department_id,
        subject_key=payloads.order_subject(repair_order),
        data=payloads.order_data(repair_order, errors=event.type == EventType.ORDER_DMS_REJECTED),
        document=lambda: payloads.order_document(repair_order),
    )


def parts_order_event(event: DomainEvent) -> None:
    """A parts order was placed or its status changed: its subscribers' deliveries."""
    parts_order = event.subject
    event_record(
        event_type=event.type,
        department=None,
        department_id=event.department_id,
        subject_key=payloads.parts_order_subject(parts_order),
        data=payloads.parts_order_data(
            parts_order, old_status=event.data.get("old_status"), new_status=event.data.get("new_status")
        ),
        document=lambda: payloads.parts_order_document(parts_order),
    )


def _subscribers_changed(**_: Any) -> None:
    subscribers_changed()


def connect() -> None:
    subscribe(repair_order_event, *ORDER_EVENTS, phase=Phase.IN_TRANSACTION)
    subscribe(parts_order_event, *PARTS_ORDER_EVENTS, phase=Phase.IN_TRANSACTION)
    # Who hears of a department's events is held per process: every write that can change it says so.
    for model in (Subscription, Partner, Grant):
        post_save.connect(_subscribers_changed, sender=model, dispatch_uid=f"subscribers-{model.__name__}-save")
        post_delete.connect(_subscribers_changed, sender=model, dispatch_uid=f"subscribers-{model.__name__}-delete")
    # Not m2m_changed on the departments (a receiver there costs every add() a query): they change only
    # with a save of their subscription in the same transaction (the services, the admin's form).
    request_started.connect(subscribers_written_forget, dispatch_uid="subscribers-request")
    task_prerun.connect(subscribers_written_forget, dispatch_uid="subscribers-task", weak=False)
