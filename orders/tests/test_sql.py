"""The hand-written PostgreSQL write path (``orders.sql``) against the ORM path SQLite takes: the same orders
through both store the same rows and answer the same GET bodies."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from orders import sql
from orders.models import Job, MlsLine, OrderHistory, OrderReference, RepairOrder
from orders.persistence import JOB_LISTS
from tenancy.tests.factories import DepartmentFactory, GrantFactory

from .factories import CustomerFactory, VehicleFactory, make_package, minimal_body, orders_url, workshop_order_body

# What differs between two equal orders written apart: keys, and the instants of writing.
_VOLATILE = {"id", "uuid", "department", "department_id", "repair_order_id", "job_id", "created_at", "updated_at"}


def _values(queryset: Any, *extra: str) -> list[dict[str, Any]]:
    names = [f.attname for f in queryset.model._meta.concrete_fields if f.attname not in _VOLATILE]
    return list(queryset.values(*names, *extra))


def stored_rows(repair_order: RepairOrder) -> dict[str, Any]:
    """Every row the write path stored for the order, without keys (a line names its job by position)."""
    rows: dict[str, Any] = {
        "order": _values(RepairOrder.objects.filter(pk=repair_order.pk)),
        "jobs": _values(Job.objects.filter(repair_order=repair_order).order_by("position")),
        "mls": _values(
            MlsLine.objects.filter(repair_order=repair_order).order_by("job__position", "position"), "job__position"
        ),
        "references": _values(OrderReference.objects.filter(repair_order=repair_order).order_by("position")),
        "history": [
            {key: entry[key] for key in ("version", "channel", "partner_id", "actor", "changes")}
            for entry in OrderHistory.objects.filter(repair_order=repair_order).order_by("version").values()
        ],
    }
    for name, model in JOB_LISTS:
        lines = model._default_manager.filter(job__repair_order=repair_order).order_by("job__position", "position")
        rows[name] = _values(lines, "job__position")
    return rows


def read_body(api: Any, department: Any, order_uuid: str) -> dict[str, Any]:
    response = api.get(f"{orders_url(department)}/{order_uuid}")
    assert response.status_code == 200, response.content
    order = response.json()["order"]
    for key in ("orderUUID", "createdAt", "updatedAt"):
        order.pop(key)
    return order


def big_body(customer: Any, vehicle: Any, package: Any) -> dict[str, Any]:
    """50 jobs of 10 part lines, each job with every list (gog, techHours, comments, mls, a package)."""
    body = workshop_order_body(customer, vehicle, package)
    job = body["order"]["jobs"][0]
    job["parts"] = [
        {**job["parts"][0], "partNumber": f"P-{n}", "quantityOrdered": "1.5", "salePrice": f"{n}.25"} for n in range(10)
    ]
    body["order"]["jobs"] = [{**copy.deepcopy(job), "jobNumberString": f"J{n}"} for n in range(50)]
    body["order"]["header"]["orderNumber"] = "WO-BIG"
    return body


@pytest.mark.postgres
@pytest.mark.django_db
class TestBothPaths:
    @pytest.fixture
    def world(self, api, department, partner):
        other = DepartmentFactory(dealer=department.dealer)
        GrantFactory(partner=partner, department=other)
        customer = CustomerFactory(dealer=department.dealer)
        vehicle = VehicleFactory(dealer=department.dealer, customer=customer)
        package = make_package(department.dealer)
        return department, other, customer, vehicle, package

    def _through_both(self, api, world, monkeypatch, body, update=None):
        """Create ``body`` (then PUT ``update`` on it) through the SQL path in one department and through the
        ORM path in the other; answer both sides' rows and GET bodies."""
        sql_department, orm_department = world[0], world[1]
        answers = []
        for department, on_postgresql in ((sql_department, True), (orm_department, False)):
            monkeypatch.setattr(sql, "on_postgresql", lambda value=on_postgresql: value)
            response = api.put(orders_url(department), copy.deepcopy(body), format="json")
            assert response.status_code == 201, response.content
            order_uuid = response.json()["orderUUID"]
            if update is not None:
                url = f"{orders_url(department)}/{order_uuid}"
                response = api.put(url, copy.deepcopy(update), format="json")
                assert response.status_code == 200, response.content
            repair_order = RepairOrder.objects.get(uuid=order_uuid)
            answers.append((stored_rows(repair_order), read_body(api, department, order_uuid)))
        monkeypatch.undo()
        return answers

    def test_one_job(self, api, world, monkeypatch):
        _, _, customer, _, _ = world
        (sql_rows, sql_body), (orm_rows, orm_body) = self._through_both(
            api, world, monkeypatch, minimal_body(customer, jobs=1, lines_per_job=1)
        )
        assert sql_rows == orm_rows
        assert sql_body == orm_body
        assert len(sql_rows["parts"]) == 1

    def test_every_list_type(self, api, world, monkeypatch):
        _, _, customer, vehicle, package = world
        (sql_rows, sql_body), (orm_rows, orm_body) = self._through_both(
            api, world, monkeypatch, workshop_order_body(customer, vehicle, package)
        )
        assert sql_rows == orm_rows
        assert sql_body == orm_body
        for name in ("parts", "gog", "techHours", "comments", "labour", "packages", "mls", "references"):
            assert sql_rows[name], f"the order has no {name} lines: the comparison would prove nothing"
        assert any(line["job__position"] is None for line in sql_rows["mls"])  # the order's own mls lines

    def test_fifty_jobs_of_ten_lines(self, api, world, monkeypatch):
        _, _, customer, vehicle, package = world
        (sql_rows, sql_body), (orm_rows, orm_body) = self._through_both(
            api, world, monkeypatch, big_body(customer, vehicle, package)
        )
        assert sql_rows == orm_rows
        assert sql_body == orm_body
        assert len(sql_rows["jobs"]) == 50 and len(sql_rows["parts"]) >= 500

    def test_an_update_that_renumbers_and_drops_lines(self, api, world, monkeypatch):
        _, _, customer, vehicle, package = world
        update = workshop_order_body(customer, vehicle, package)
        update["order"]["header"]["orderNumber"] = "WO-RENUMBERED"
        update["order"]["jobs"][0]["parts"] = update["order"]["jobs"][0]["parts"][:1]
        del update["order"]["references"]
        (sql_rows, sql_body), (orm_rows, orm_body) = self._through_both(
            api, world, monkeypatch, big_body(customer, vehicle, package), update=update
        )
        assert sql_rows == orm_rows
        assert sql_body == orm_body
        assert sql_rows["order"][0]["order_number"] == "WO-RENUMBERED"
        assert len(sql_rows["jobs"]) == 1 and not sql_rows["references"]
        assert len(sql_rows["history"]) == 2 and sql_rows["history"][1]["changes"]

    def test_the_orm_path_was_really_taken(self, api, world, monkeypatch):
        """The comparison above means something only if the two paths differ: the ORM's is one INSERT per table."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        _, orm_department, customer, vehicle, package = world
        monkeypatch.setattr(sql, "on_postgresql", lambda: False)
        with CaptureQueriesContext(connection) as queries:
            api.put(orders_url(orm_department), workshop_order_body(customer, vehicle, package), format="json")
        inserts = [q["sql"] for q in queries if q["sql"].startswith('INSERT INTO "orders_partline"')]
        assert len(inserts) == 1
        assert not any("jsonb_to_recordset" in q["sql"] for q in queries)
