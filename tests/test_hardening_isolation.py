"""The tenant-isolation sweep (issue 14): every operation of the OpenAPI schema, tried with another tenant's
ids, answers exactly what it answers for ids that do not exist: a 404, byte for byte but for the errorUID.

It walks the schema the API serves, so an endpoint added later is swept too; a path parameter it has no
foreign object for fails the test, naming the parameter to teach it.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

from orders.tests.factories import CustomerFactory, VehicleFactory, orders_url, sample_body
from parts.tests.factories import PartFactory, StockFactory, base_url
from tenancy.tests.factories import DepartmentFactory, partner_on
from tests.clients import client_for, comparable_headers, without_error_uids

pytestmark = pytest.mark.django_db

CID = "isolation-sweep"
_METHODS = ("get", "put", "post", "patch", "delete")


def _operations() -> list[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [
        (path, method.upper())
        for path, item in sorted(schema["paths"].items())
        for method in _METHODS
        if method in item
    ]


class ForeignWorld:
    """Another dealer's department with one object of every kind a path can name, made by its own partner."""

    def __init__(self) -> None:
        self.department = DepartmentFactory()
        self.partner = partner_on(self.department)
        client = client_for(self.partner)
        customer = CustomerFactory(dealer=self.department.dealer)
        self.customer_uuid = str(customer.uuid)
        self.vehicle_uuid = str(VehicleFactory(dealer=self.department.dealer, customer=customer).uuid)
        created = client.put(orders_url(self.department), sample_body(customer), format="json")
        assert created.status_code == 201, created.content
        self.order_uuid = created.json()["orderUUID"]
        part = PartFactory(dealer=self.department.dealer)
        StockFactory(department=self.department, part=part, on_hand=5)
        self.part_id = part.part_id
        placed = client.post(
            f"{base_url(self.department)}/parts-orders",
            {
                "customerId": self.customer_uuid,
                "orderType": "STK",
                "parts": [{"part": {"partId": part.part_id}, "quantity": 1}],
            },
            format="json",
        )
        assert placed.status_code in (201, 202), placed.content
        self.parts_order_id = str(placed.json()["partsOrderId"])
        from notifications.tests.factories import DeliveryFactory, SubscriptionFactory

        subscription = SubscriptionFactory(partner=self.partner, departments=[self.department])
        self.subscription_id = str(subscription.uuid)
        self.delivery_id = str(DeliveryFactory(subscription=subscription).uuid)


# A path parameter's value: for the foreign object, and for one that does not exist. The department
# parameters are swept on their own (the partner holds no grant there).
def _object_values(world: ForeignWorld) -> dict[str, tuple[str, str]]:
    missing_uuid = str(uuid.uuid4())
    values = {
        "orderUUID": (world.order_uuid, missing_uuid),
        "customerUUID": (world.customer_uuid, missing_uuid),
        "vehicleUUID": (world.vehicle_uuid, missing_uuid),
        "partsOrderId": (world.parts_order_id, "999999999" if world.parts_order_id.isdigit() else missing_uuid),
        "partId": (world.part_id, "S0000000"),
    }
    values["subscriptionId"] = (world.subscription_id, missing_uuid)
    values["deliveryId"] = (world.delivery_id, missing_uuid)
    return values


def _fill(path: str, values: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise AssertionError(f"the isolation sweep has no foreign object for path parameter {name!r} of {path}")
        return values[name]

    return re.sub(r"\{([^}]+)\}", value, path)


def _send(client: Any, method: str, url: str) -> Any:
    kwargs: dict[str, Any] = {"HTTP_X_CORRELATION_ID": CID}
    if method in ("PUT", "POST", "PATCH"):
        return client.generic(method, url, "{}", content_type="application/json", **kwargs)
    return client.generic(method, url, **kwargs)


def _same(foreign: Any, missing: Any) -> bool:
    return (
        foreign.status_code == missing.status_code
        and without_error_uids(foreign.content) == without_error_uids(missing.content)
        and comparable_headers(foreign) == comparable_headers(missing)
    )


def test_every_operation_answers_another_tenants_ids_like_missing_ones(api, department):
    world = ForeignWorld()
    own = {
        "departmentUUID": str(department.uuid),
        "enterpriseId": str(department.dealer.uuid),
        "storeId": str(department.uuid),
    }
    foreign_department = {
        "departmentUUID": str(world.department.uuid),
        "enterpriseId": str(world.department.dealer.uuid),
        "storeId": str(world.department.uuid),
    }
    missing_department = {
        "departmentUUID": str(uuid.uuid4()),
        "enterpriseId": str(uuid.uuid4()),
        "storeId": str(uuid.uuid4()),
    }
    object_values = _object_values(world)
    operations = _operations()
    leaks: list[str] = []
    swept = 0

    for path, method in operations:
        # 1. another tenant's department (or store), the objects in it: as unknown as a department that is not
        foreign_objects = {name: pair[0] for name, pair in object_values.items()}
        missing_objects = {name: pair[1] for name, pair in object_values.items()}
        foreign = _send(api, method, _fill(path, {**foreign_department, **foreign_objects}))
        missing = _send(api, method, _fill(path, {**missing_department, **missing_objects}))
        if "{departmentUUID}" in path or "{storeId}" in path:
            swept += 1
            if foreign.status_code != 404 or not _same(foreign, missing):
                leaks.append(
                    f"{method} {path}: foreign department {foreign.status_code}, missing {missing.status_code}"
                )
        # 2. the partner's own department, another tenant's object id in it
        names = re.findall(r"\{([^}]+)\}", path)
        if any(name in object_values for name in names):
            swept += 1
            foreign = _send(api, method, _fill(path, {**own, **foreign_objects}))
            missing = _send(api, method, _fill(path, {**own, **missing_objects}))
            if foreign.status_code < 400 or not _same(foreign, missing):
                leaks.append(f"{method} {path}: foreign object {foreign.status_code} vs {missing.status_code}")

    assert leaks == []
    assert swept >= len(operations)  # every operation was tried at least once
    assert len(operations) >= 15


def test_the_sweep_would_catch_a_leak(api, department):
    """The comparison is not vacuous: a foreign object that answers differently is caught."""
    world = ForeignWorld()
    found = api.get(f"{orders_url(world.department)}/{world.order_uuid}", HTTP_X_CORRELATION_ID=CID)
    as_owner = client_for(world.partner).get(
        f"{orders_url(world.department)}/{world.order_uuid}", HTTP_X_CORRELATION_ID=CID
    )

    assert found.status_code == 404
    assert not _same(as_owner, found)
