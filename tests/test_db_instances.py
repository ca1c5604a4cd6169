"""``orma.db.new_instance`` and ``loaded_instance``: the instances ``Model.__init__`` and ``Model.from_db`` build,
without their walk over every field when no init signal is listened to."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.db import models
from django.db.models.signals import post_init

from dms_adapters.models import DmsPush
from orders.models import Customer, RepairOrder
from orma.db import loaded_instance, new_instance
from tenancy.models import Dealer, Department


def comparable(instance: models.Model) -> dict[str, Any]:
    """The instance's field values and state, the values of callable defaults by their type."""
    values = {}
    for field in instance._meta.concrete_fields:
        value = instance.__dict__.get(field.attname, "<deferred>")
        if field.has_default() and callable(field.default):
            value = type(value)
        values[field.attname] = value
    return {"values": values, "adding": instance._state.adding, "db": instance._state.db}


@pytest.mark.parametrize(
    ("model", "values"),
    [
        (RepairOrder, {"created_by_id": 7}),
        (RepairOrder, {"order_number": "RO-1", "version": 3, "document": {"order": {}}}),
        (
            DmsPush,
            {
                "dealer_id": 1,
                "repair_order_id": 2,
                "version": 4,
                "next_attempt_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            },
        ),
        (Customer, {"given_name": "Max", "family_name": "Muster"}),
        (Department, {"name": "Service"}),
    ],
)
def test_a_new_instance_is_what_the_model_builds(model, values):
    made, built = new_instance(model, **values), model(**values)
    assert comparable(made) == comparable(built)
    assert made._state.adding and made._state.db is None and made.pk is None


def test_an_unknown_name_is_refused_as_the_model_refuses_it():
    with pytest.raises(TypeError, match="order_numbr"):
        RepairOrder(order_numbr="RO-1")
    with pytest.raises(TypeError, match="order_numbr"):
        new_instance(RepairOrder, order_numbr="RO-1")


def test_callable_defaults_are_called_for_each_instance():
    first, second = new_instance(RepairOrder), new_instance(RepairOrder)
    assert isinstance(first.uuid, uuid.UUID) and first.uuid != second.uuid
    assert first.dms_errors == [] and first.dms_errors is not second.dms_errors


def test_a_foreign_key_given_as_an_object_is_cached_as_the_model_caches_it():
    dealer = Dealer(id=5, name="Autohaus")
    department = new_instance(Department, dealer=dealer, name="Service")
    assert department.dealer_id == 5 and department.dealer is dealer


def test_with_an_init_signal_listened_to_the_model_itself_builds_both():
    seen = []

    def listener(sender: Any, instance: models.Model, **kwargs: Any) -> None:
        seen.append(instance)

    post_init.connect(listener, sender=Department)
    try:
        made = new_instance(Department, name="Service")
        loaded = loaded_instance(Department, ["id", "name"], [3, "Parts"])
    finally:
        post_init.disconnect(listener, sender=Department)
    assert seen == [made, loaded]
    assert loaded.name == "Parts" and not loaded._state.adding and loaded.get_deferred_fields()


def test_a_loaded_instance_is_what_from_db_builds():
    names, values = ["id", "dealer_id", "name"], [3, 5, "Parts"]  # in the fields' order, as from_db needs them
    made, built = loaded_instance(Department, names, values), Department.from_db("default", names, values)
    assert comparable(made) == comparable(built)
    assert made.get_deferred_fields() == built.get_deferred_fields()
