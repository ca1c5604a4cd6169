"""Large tables stay fast: every changelist runs the same number of queries with 1 row and with 100 (pinned
per list), and on PostgreSQL with 100,000 orders every query of a search is served by an index."""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib import admin
from django.db import connection, models
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dms_adapters.models import DmsCircuit, DmsPush, PartsOrderPush
from notifications.models import Delivery, Subscription
from orders.models import (
    Customer,
    PackagePrice,
    PartLine,
    RepairOrder,
    ServicePackage,
    Vehicle,
)
from orma.admin import DealerScopedAdmin, SharedCatalogueAdmin
from parts.models import CustomerDiscount, Part, PartsOrder, Stock, Surcharge
from tenancy.models import Department

from .admin_world import make_world, staff_user, superuser

pytestmark = pytest.mark.django_db

EXTRA = 99  # 1 row of the world + 99 = 100 rows

# Queries of each changelist page for the superuser (session, user, the capped count, the rows, and the
# choices of a foreign-key filter, a date hierarchy ...), the same with 1 row and with 100: a query per row
# would show as a difference, a new fixed query as a new pin.
PINNED = {
    "dms_adapters.dmscircuit": 4,
    "dms_adapters.dmspush": 4,
    "dms_adapters.partsorderpush": 4,
    "notifications.delivery": 4,
    "notifications.subscription": 4,
    "orders.customer": 4,
    "orders.packageprice": 4,
    "orders.repairorder": 5,
    "orders.servicepackage": 5,
    "orders.vehicle": 5,
    "parts.customerdiscount": 4,
    "parts.part": 5,
    "parts.partsorder": 7,
    "parts.stock": 5,
    "parts.surcharge": 4,
    "tenancy.department": 4,
}
# The staff user's order list: three more (their own permissions, their group's, their dealer).
STAFF_ORDER_LIST = 8


def clone(row: models.Model, n: int, **vary: Callable[[int], Any]) -> list[Any]:
    """``n`` copies of ``row`` in one INSERT, each field of ``vary`` set by its function of the copy's index;
    fresh UUIDs."""
    model = type(row)
    copies = []
    for i in range(n):
        twin = copy.copy(row)
        twin.pk = None
        twin._state = type(row._state)()
        for field in model._meta.concrete_fields:
            if isinstance(field, models.UUIDField) and field.unique:
                setattr(twin, field.attname, uuid.uuid4())
        if hasattr(twin, "number") and any(f.name == "number" for f in model._meta.concrete_fields):
            twin.number = 900_000 + i  # a parts order's number, unique
        for name, value in vary.items():
            setattr(twin, name, value(i))
        copies.append(twin)
    return model._default_manager.bulk_create(copies)


def more_rows(model: type[models.Model], world: Any) -> None:
    """99 more rows of ``model`` beside the world's one (of the world's dealer where one dealer can hold
    them; of 99 more dealers where a dealer holds few: surcharges, circuits)."""
    rows = world.rows
    if model is RepairOrder:
        clone(rows[RepairOrder], EXTRA, order_number=lambda i: f"RO-X{i}")
    elif model is Customer:
        clone(rows[Customer], EXTRA)
    elif model is Vehicle:
        clone(rows[Vehicle], EXTRA, vin=lambda i: f"WVWZZZ1JZXW9{i:05d}")
    elif model is ServicePackage:
        clone(rows[ServicePackage], EXTRA, code=lambda i: f"PKG-X{i}")
    elif model is PackagePrice:
        packages = clone(rows[ServicePackage], EXTRA, code=lambda i: f"PKG-X{i}")
        clone(rows[PackagePrice], EXTRA, package_id=lambda i: packages[i].pk)
    elif model is Part:
        clone(rows[Part], EXTRA, part_id=lambda i: f"VX{i:06d}")
    elif model is Stock:
        parts = clone(rows[Part], EXTRA, part_id=lambda i: f"VX{i:06d}")
        clone(rows[Stock], EXTRA, part_id=lambda i: parts[i].pk)
    elif model is CustomerDiscount:
        customers = clone(rows[Customer], EXTRA)
        clone(rows[CustomerDiscount], EXTRA, customer_id=lambda i: customers[i].pk)
    elif model in (Surcharge, DmsCircuit):
        dealers = clone(world.dealer, EXTRA, name=lambda i: f"Dealer {i}")
        clone(rows[model], EXTRA, dealer_id=lambda i: dealers[i].pk)
    elif model is PartsOrder:
        clone(rows[PartsOrder], EXTRA)
    elif model is PartsOrderPush:
        orders = clone(rows[PartsOrder], EXTRA)
        clone(rows[PartsOrderPush], EXTRA, parts_order_id=lambda i: orders[i].pk)
    elif model is DmsPush:
        orders = clone(rows[RepairOrder], EXTRA, order_number=lambda i: f"RO-X{i}")
        clone(rows[DmsPush], EXTRA, repair_order_id=lambda i: orders[i].pk)
    elif model is Subscription:
        subscriptions = clone(rows[Subscription], EXTRA)
        Subscription.departments.through.objects.bulk_create(
            Subscription.departments.through(subscription_id=s.pk, department_id=world.department.pk)
            for s in subscriptions
        )
    elif model is Delivery:
        clone(rows[Delivery], EXTRA)
    elif model is Department:
        clone(rows[Department], EXTRA, name=lambda i: f"Store {i}")
    else:
        raise AssertionError(f"no way to make more {model._meta.label_lower}: add one")


def changelist_queries(client: Any, model: type[models.Model]) -> int:
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def listed_admins() -> list[type[models.Model]]:
    return sorted(
        (m for m, a in admin.site._registry.items() if isinstance(a, DealerScopedAdmin | SharedCatalogueAdmin)),
        key=lambda m: m._meta.label_lower,
    )


class TestQueryCounts:
    def test_every_list_has_a_pin(self) -> None:
        assert sorted(PINNED) == [m._meta.label_lower for m in listed_admins()]

    @pytest.mark.parametrize("model", listed_admins(), ids=lambda m: m._meta.label_lower)
    def test_a_list_of_100_rows_runs_the_queries_of_a_list_of_1(self, client, model) -> None:
        world = make_world("Alpha", vin_serial=1)
        client.force_login(superuser())  # sees every dealer's rows: the 99 more dealers' too
        one = changelist_queries(client, model)
        more_rows(model, world)
        assert model._default_manager.count() >= 100

        hundred = changelist_queries(client, model)

        assert (one, hundred) == (PINNED[model._meta.label_lower],) * 2

    def test_the_staff_users_order_list_is_constant_too(self, client) -> None:
        world = make_world("Alpha", vin_serial=1)
        client.force_login(staff_user(world.dealer, "alpha-staff"))
        one = changelist_queries(client, RepairOrder)
        more_rows(RepairOrder, world)

        assert changelist_queries(client, RepairOrder) == one == STAFF_ORDER_LIST


# --- 100,000 orders on PostgreSQL ---------------------------------------------------------------------

ORDERS = 100_000
PEOPLE = 10_000
BIG_TABLES = ("orders_repairorder", "orders_customer", "orders_vehicle", "orders_partline", "orders_job")


def a_big_workshop(world: Any) -> None:
    """100,000 orders of the world's department, each with a job and a part line, for 10,000 customers and
    vehicles (bulk inserts: seconds, not minutes)."""
    order = world.repair_order
    customers = clone(world.rows[Customer], PEOPLE, family_name=lambda i: f"Kunde{i:05d}")
    vehicles = clone(
        world.rows[Vehicle],
        PEOPLE,
        vin=lambda i: f"TMBZZZ1Z0F2{i:06d}",
        license_plate=lambda i: f"HH-Q {i:05d}",
        customer_id=lambda i: customers[i].pk,
    )
    start = order.created_instant
    orders = clone(
        order,
        ORDERS,
        order_number=lambda i: f"WO-{i:06d}",
        created_instant=lambda i: start - dt.timedelta(minutes=i),
        customer_id=lambda i: customers[i % PEOPLE].pk,
        vehicle_id=lambda i: vehicles[i % PEOPLE].pk,
        vin=lambda i: vehicles[i % PEOPLE].vin,
        document=lambda i: {},
    )
    job = order.jobs.first()
    jobs = clone(job, ORDERS, repair_order_id=lambda i: orders[i].pk)
    part = PartLine.objects.filter(job=job).first()
    clone(part, ORDERS, job_id=lambda i: jobs[i].pk, part_number=lambda i: f"5Q0{i:07d}")
    with connection.cursor() as cursor:
        for table in BIG_TABLES:
            cursor.execute(f"ANALYZE {table}")


def plans_of_search(client: Any, term: str) -> list[tuple[str, str]]:
    """Every query the orders' list runs for ``?q=term`` that reads a big table, with its EXPLAIN."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("admin:orders_repairorder_changelist"), {"q": term})
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) >= 1, term
    plans = []
    with connection.cursor() as cursor:
        for query in queries.captured_queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith("SELECT") or not any(t in sql for t in BIG_TABLES):
                continue
            cursor.execute(f"EXPLAIN {sql}")
            plans.append((sql, "\n".join(row[0] for row in cursor.fetchall())))
    return plans


@pytest.mark.postgres
class TestOneHundredThousandOrders:
    @pytest.fixture
    def staff(self, client) -> Any:
        world = make_world("Alpha", vin_serial=1)
        a_big_workshop(world)
        client.force_login(staff_user(world.dealer, "alpha-staff"))
        return client

    def test_each_search_is_an_index_scan_and_a_page_runs_the_pinned_queries(self, staff) -> None:
        # one test: building the 100,000 orders is most of its time
        searches = {
            "order number": "WO-04711",
            "VIN": "TMBZZZ1Z0F2004711",
            "plate": "HH-Q 0471",
            "customer name": "Kunde0471",
            "part number": "5Q00004711",
        }
        for what, term in searches.items():
            plans = plans_of_search(staff, term)
            assert plans, what
            for sql, plan in plans:
                assert "Seq Scan on orders_" not in plan, f"{what}: {sql}\n{plan}"
                assert "Index" in plan, f"{what}: {sql}\n{plan}"

        assert changelist_queries(staff, RepairOrder) == STAFF_ORDER_LIST
        with CaptureQueriesContext(connection) as queries:
            staff.get(reverse("admin:orders_repairorder_changelist"), {"q": "WO-04711"})
        assert len(queries) == STAFF_ORDER_LIST + 3  # the customer, vehicle and part-line lookups
