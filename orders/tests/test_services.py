"""The writes of the orders app at their home (``orders.services``), as the admin and the DMS will call
them: domain errors for what only a write can find out, the history row and the event in the write's
transaction, and nothing written when a write is refused."""

from __future__ import annotations

import pytest
from django.db import transaction

from orders import services
from orders.models import OrderHistory, RepairOrder, Vehicle
from orders.selectors import repair_order_from_rows
from orders.validation import validate_customer, validate_repair_order, validate_vehicle
from orma import events
from orma.actors import Actor, Channel
from orma.errors import DomainError

from .factories import VW_VIN, CustomerFactory, VehicleFactory, minimal_body, row_counts, sample_body

pytestmark = pytest.mark.django_db

DMS = Actor(Channel.DMS, "DMS")


@pytest.fixture
def customer(department):
    return CustomerFactory(dealer=department.dealer)


def create(department, body, actor=DMS) -> RepairOrder:
    validated = validate_repair_order(body, department=department)
    return services.repair_order_create(department=department, validated=validated, actor=actor)


def update(repair_order, body, expected_version=None, actor=DMS) -> RepairOrder:
    validated = validate_repair_order(body, department=repair_order.department, existing=repair_order)
    return services.repair_order_update(
        repair_order=repair_order, validated=validated, actor=actor, expected_version=expected_version
    )


def code_of(error: pytest.ExceptionInfo[DomainError]) -> str:
    return error.value.code


# --- customers and vehicles ----------------------------------------------------------------------------


def test_it_creates_and_replaces_a_customer(department):
    customer = services.customer_create(
        dealer=department.dealer, data=validate_customer({"customer": {"familyName": "Muster"}}).data
    )

    services.customer_update(customer=customer, data=validate_customer({"customer": {"companyName": "ACME"}}).data)

    customer.refresh_from_db()
    assert (customer.family_name, customer.company_name) == ("", "ACME")


def test_a_vehicle_whose_vin_the_dealer_knows_is_a_duplicate(department):
    known = VehicleFactory(dealer=department.dealer, vin=VW_VIN)
    validated = validate_vehicle({"vehicle": {"vin": VW_VIN}}, dealer=department.dealer)

    with pytest.raises(DomainError) as refused:
        services.vehicle_create(dealer=department.dealer, data=validated.data, customer=None, brand=validated.brand)

    assert code_of(refused) == "DUPLICATE_VEHICLE"
    assert str(refused.value) == f"A vehicle with this VIN exists: {known.uuid}"
    assert Vehicle.objects.count() == 1


def test_a_vehicle_moved_onto_a_known_vin_is_a_duplicate(department):
    known = VehicleFactory(dealer=department.dealer, vin=VW_VIN)
    other = VehicleFactory(dealer=department.dealer)
    validated = validate_vehicle({"vehicle": {"vin": VW_VIN}}, dealer=department.dealer)

    with pytest.raises(DomainError) as refused:
        services.vehicle_update(vehicle=other, data=validated.data, customer=None, brand=validated.brand)

    assert code_of(refused) == "DUPLICATE_VEHICLE" and str(known.uuid) in str(refused.value)


# --- repair orders ---------------------------------------------------------------------------------------


def test_a_create_writes_every_form_and_the_history(department, customer):
    repair_order = create(department, sample_body(customer, VehicleFactory(dealer=department.dealer)))

    assert repair_order_from_rows(repair_order) == repair_order.document
    [entry] = OrderHistory.objects.filter(repair_order=repair_order)
    assert (entry.version, entry.channel, entry.actor, entry.changes) == (
        1,
        "DMS",
        "DMS",
        [{"field": "order", "old": None, "new": "created"}],
    )


def test_an_update_replaces_every_form_bumps_the_version_and_records_the_diff(department, customer):
    repair_order = create(department, minimal_body(customer, jobs=2, lines_per_job=2))
    body = minimal_body(customer, jobs=1, lines_per_job=1)
    body["order"]["header"]["status"] = "PRE-INVOICED"

    updated = update(repair_order, body, expected_version=1)

    assert updated.version == 2 and updated.dms_status == "PENDING"
    assert repair_order_from_rows(updated) == updated.document
    assert updated.jobs.count() == 1
    changes = OrderHistory.objects.get(repair_order=updated, version=2).changes
    assert {"field": "order.header.status", "old": "OPENED", "new": "PRE-INVOICED"} in changes


def test_an_update_naming_another_version_is_a_version_mismatch(department, customer):
    repair_order = create(department, minimal_body(customer))
    before = row_counts()

    with pytest.raises(DomainError) as refused:
        update(repair_order, minimal_body(customer, number="RO-NEW"), expected_version=2)

    assert code_of(refused) == "VERSION_MISMATCH"
    assert str(refused.value) == "If-Match names version 2, but the order is at version 1."
    assert row_counts() == before


def test_an_update_of_a_closed_order_is_refused(department, customer):
    closing = minimal_body(customer)
    closing["order"]["header"]["status"] = "CLOSED"
    repair_order = update(create(department, minimal_body(customer)), closing)

    with pytest.raises(DomainError) as refused:
        update(repair_order, minimal_body(customer))

    assert code_of(refused) == "ORDER_CLOSED"
    assert RepairOrder.objects.get().version == 2


def test_the_window_is_checked_again_under_the_lock(department, customer):
    """Two writers validated at once: the second finds the first's order under the department lock."""
    first = validate_repair_order(minimal_body(customer), department=department)
    second = validate_repair_order(minimal_body(customer, time="09:00:00"), department=department)
    winner = services.repair_order_create(department=department, validated=first, actor=DMS)

    with pytest.raises(DomainError) as refused:
        services.repair_order_create(department=department, validated=second, actor=DMS)

    assert code_of(refused) == "DUPLICATE_ORDER" and str(winner.uuid) in str(refused.value)
    assert RepairOrder.objects.count() == 1


def test_writes_announce_the_order_after_their_commit(department, customer, django_capture_on_commit_callbacks):
    with (
        events.recording(events.EventType.ORDER_CREATED, events.EventType.ORDER_UPDATED) as received,
        django_capture_on_commit_callbacks(execute=True),
    ):
        repair_order = create(department, minimal_body(customer))
        changed = minimal_body(customer)
        changed["order"]["header"]["description"] = "changed"
        update(repair_order, changed)
        assert received == []  # nothing is told before the commit

    assert [(event.type, event.subject.pk, event.department_id) for event in received] == [
        ("order.created", repair_order.pk, department.id),
        ("order.updated", repair_order.pk, department.id),
    ]


def test_the_event_is_emitted_inside_the_writes_transaction(department, customer):
    with events.recording(events.EventType.ORDER_CREATED, phase=events.Phase.IN_TRANSACTION) as received:
        with pytest.raises(RuntimeError), transaction.atomic():
            create(department, minimal_body(customer))
            assert len(received) == 1
            raise RuntimeError("the caller's transaction fails after the write")

    assert RepairOrder.objects.count() == OrderHistory.objects.count() == 0
