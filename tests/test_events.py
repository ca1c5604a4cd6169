"""Domain events (orma.events): in-transaction receivers share the writer's fate, after-commit receivers
hear only of committed changes, and a failing receiver hides nothing from the others."""

from __future__ import annotations

import logging

import pytest
from django.db import transaction

from orma import events
from orma.events import EventType, Phase

pytestmark = pytest.mark.django_db


# An event type no app subscribes to, so only the test's own receivers hear it.
TEST_EVENT = "test.happened"


def emit_order_created(subject: object = "order") -> events.DomainEvent:
    return events.emit(TEST_EVENT, subject=subject, department_id=7, reason="test")


def test_an_in_transaction_receiver_runs_at_once_inside_the_transaction():
    with events.recording(TEST_EVENT, phase=Phase.IN_TRANSACTION) as seen, transaction.atomic():
        event = emit_order_created()
        assert seen == [event]  # before the commit
    assert (event.type, event.subject, event.department_id, dict(event.data)) == (
        TEST_EVENT,
        "order",
        7,
        {"reason": "test"},
    )


def test_an_after_commit_receiver_runs_only_after_the_commit(django_capture_on_commit_callbacks):
    with events.recording(TEST_EVENT) as seen:
        with django_capture_on_commit_callbacks(execute=True):
            emit_order_created()
            assert seen == []
        assert [event.type for event in seen] == [TEST_EVENT]


def test_a_rolled_back_change_is_never_announced_after_commit(django_capture_on_commit_callbacks):
    with events.recording(TEST_EVENT) as seen, django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            emit_order_created()
            raise RuntimeError("the write failed")
    assert seen == []
    assert callbacks == []


def test_receivers_hear_only_the_types_they_subscribed_to(django_capture_on_commit_callbacks):
    with (
        events.recording(EventType.PARTS_ORDER_CREATED) as parts_only,
        events.recording() as everything,
        django_capture_on_commit_callbacks(execute=True),
    ):
        emit_order_created()
    assert parts_only == []
    assert [event.type for event in everything] == [TEST_EVENT]


def test_a_failing_after_commit_receiver_is_logged_and_the_others_still_hear(
    django_capture_on_commit_callbacks, caplog
):
    def broken(event: events.DomainEvent) -> None:
        raise ValueError("receiver bug")

    events.subscribe(broken, TEST_EVENT)
    try:
        with events.recording(TEST_EVENT) as seen, caplog.at_level(logging.ERROR, "orma.events"):
            with django_capture_on_commit_callbacks(execute=True):
                emit_order_created()
    finally:
        events.unsubscribe(broken)
    assert len(seen) == 1
    assert "receiver" in caplog.text and f"{TEST_EVENT} failed" in caplog.text


def test_creating_a_repair_order_announces_it_after_commit(api, department, django_capture_on_commit_callbacks):
    from orders.tests.factories import CustomerFactory, minimal_body, orders_url

    customer = CustomerFactory(dealer=department.dealer)
    with events.recording(EventType.ORDER_CREATED) as seen, django_capture_on_commit_callbacks(execute=True):
        response = api.put(orders_url(department), minimal_body(customer), format="json")

    assert response.status_code == 201
    assert [(event.subject.uuid.hex, event.department_id) for event in seen] == [
        (response.json()["orderUUID"].replace("-", ""), department.id)
    ]
