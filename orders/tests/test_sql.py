"""The hand-written PostgreSQL write path (``orders.sql``) against the ORM path SQLite takes: the same orders
through both store the same rows and answer the same GET bodies."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pytest

from orders import sql
from orders.models import Job, MlsLine, OrderHistory, OrderReference, RepairOrder
from orders.persistence import JOB_LISTS
from tenancy.tests.factories import DepartmentFactory, GrantFactory

from .factories import (
    CustomerFactory,
    VehicleFactory,
    make_package,
    minimal_body,
    orders_url,
    sample_body,
    workshop_order_body,
)

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


# Headers that differ between two reads of the same order: the correlation id and the rate limit's count are
# per request; the length too, as PostgreSQL writes the document's text with a space after ":" and ",".
_PER_READ_HEADERS = {"X-Correlation-ID", "RateLimit-Remaining", "Content-Length"}


def _read(api: Any, url: str, **headers: str) -> tuple[int, dict[str, str], Any]:
    """A GET's status, the headers that do not change from one read to the next, and its parsed body."""
    response = api.get(url, headers=headers)
    seen = {name: value for name, value in response.items() if name not in _PER_READ_HEADERS}
    return response.status_code, seen, response.json() if response.content else None


def _without_error_uids(body: Any) -> Any:
    for error in (body or {}).get("errors", ()):
        error.pop("errorUID")
    return body


@pytest.mark.postgres
@pytest.mark.django_db
class TestReadFromStoredText:
    """The read on PostgreSQL (one statement, the document's JSON text spliced into the body) answers what the
    ORM path answers: same status, headers and parsed body, whatever the order holds."""

    @pytest.fixture
    def orders(self, api, department):
        customer = CustomerFactory(dealer=department.dealer)
        vehicle = VehicleFactory(dealer=department.dealer, customer=customer)
        package = make_package(department.dealer)
        unicode_body = workshop_order_body(customer, vehicle, package)
        unicode_body["order"]["header"]["orderNumber"] = "WO-UNI"
        unicode_body["order"]["mls"][0]["description"] = 'Grüße "Straße" \\ 日本 🚗 line\u2028sep\u2029end\ttab'
        bodies = {
            "sample": sample_body(customer, vehicle),
            "every list type": workshop_order_body(customer, vehicle, package),
            "50 jobs x 10 lines": big_body(customer, vehicle, package),
            "unicode": unicode_body,
            "synced with errors": minimal_body(customer, number="RO-DMS", jobs=1, lines_per_job=1),
        }
        created = {}
        for name, body in bodies.items():
            response = api.put(orders_url(department), body, format="json")
            assert response.status_code == 201, response.content
            created[name] = response.json()["orderUUID"]
        RepairOrder.objects.filter(uuid=created["synced with errors"]).update(
            dms_status="REJECTED",
            dms_order_number="DMS-4711",
            dms_errors=[{"code": "E42", "message": "Auftrag abgelehnt: Fahrzeug unbekannt ü"}],
            dms_synced_at=dt.datetime(2024, 2, 1, 8, 30, 0, 120000, tzinfo=dt.UTC),
        )
        RepairOrder.objects.filter(uuid=created["sample"]).update(
            dms_status="SYNCED", dms_synced_at=dt.datetime(2024, 2, 1, 8, 30, tzinfo=dt.UTC)
        )
        # PostgreSQL writes the timestamps and the DMS's number itself: a whole second (no microseconds), one
        # microsecond, and the characters JSON escapes
        RepairOrder.objects.filter(uuid=created["unicode"]).update(
            created_at=dt.datetime(2024, 2, 1, 8, 30, 5, tzinfo=dt.UTC),
            updated_at=dt.datetime(2024, 2, 1, 8, 30, 5, 1, tzinfo=dt.UTC),
            dms_order_number='DMS "47\\11"\n\x01\x1f\tü 🚗',
        )
        return created

    def _both(self, api, monkeypatch, url, **headers):
        answers = []
        for on_postgresql in (True, False):
            monkeypatch.setattr(sql, "on_postgresql", lambda value=on_postgresql: value)
            answers.append(_read(api, url, **headers))
        monkeypatch.undo()
        return answers

    def test_same_answer_as_the_orm_path(self, api, department, orders, monkeypatch):
        for name, order_uuid in orders.items():
            text, orm = self._both(api, monkeypatch, f"{orders_url(department)}/{order_uuid}")
            assert text == orm, name
            assert json.dumps(text[2]) == json.dumps(orm[2]), f"{name}: the keys in another order"
            assert text[0] == 200 and text[1]["Content-Type"] == "application/json" and text[1]["ETag"] == '"1"'
            assert text[2]["order"]["orderUUID"] == order_uuid
        synced = _read(api, f"{orders_url(department)}/{orders['synced with errors']}")[2]["order"]["dms"]
        assert synced["syncedAt"] == "2024-02-01T08:30:00.120000+00:00" and synced["errors"][0]["code"] == "E42"
        unicode = _read(api, f"{orders_url(department)}/{orders['unicode']}")[2]["order"]
        assert unicode["createdAt"] == "2024-02-01T08:30:05+00:00"
        assert unicode["updatedAt"] == "2024-02-01T08:30:05.000001+00:00"
        assert unicode["dms"]["orderNumber"] == 'DMS "47\\11"\n\x01\x1f\tü 🚗'

    def test_the_body_is_what_the_renderer_would_write(self, api, department, orders):
        """No raw U+2028/U+2029 (DRF's renderer escapes them for JavaScript), UTF-8 as is, not \\u-escaped."""
        response = api.get(f"{orders_url(department)}/{orders['unicode']}")
        text = response.content.decode()
        assert "\u2028" not in text and "\u2029" not in text and "\\u2028" in text
        assert "Grüße" in text and "🚗" in text
        assert response.json()["order"]["mls"][0]["description"].endswith("line\u2028sep\u2029end\ttab")

    def test_not_modified_and_not_found_alike(self, api, department, orders, monkeypatch):
        url = f"{orders_url(department)}/{orders['sample']}"
        text, orm = self._both(api, monkeypatch, url, **{"If-None-Match": 'W/"1", "7"'})
        assert text == orm and text[0] == 304
        text, orm = self._both(api, monkeypatch, url, **{"If-None-Match": '"2"'})
        assert text == orm and text[0] == 200
        other_dealers = self._other_dealers_order()
        for order_uuid in (other_dealers, "00000000-0000-4000-8000-000000000000"):
            text, orm = self._both(api, monkeypatch, f"{orders_url(department)}/{order_uuid}")
            assert _without_error_uids(text[2]) == _without_error_uids(orm[2])
            assert text[:2] == orm[:2] and text[0] == 404

    @staticmethod
    def _other_dealers_order() -> str:
        from tenancy.tests.factories import partner_on
        from tests.clients import client_for

        other = DepartmentFactory()
        body = minimal_body(CustomerFactory(dealer=other.dealer), number="RO-ELSEWHERE")
        response = client_for(partner_on(other)).put(orders_url(other), body, format="json")
        assert response.status_code == 201, response.content
        return response.json()["orderUUID"]

    def test_one_statement(self, api, department, orders, django_assert_num_queries):
        url = f"{orders_url(department)}/{orders['50 jobs x 10 lines']}"
        api.get(url)  # warm: the credentials are cached
        with django_assert_num_queries(1):
            assert api.get(url).status_code == 200

    def test_the_text_path_was_really_taken(self, api, department, orders):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            api.get(f"{orders_url(department)}/{orders['sample']}")
        assert any('"document"::text' in q["sql"] for q in queries)


def _fields(instance: Any) -> dict[str, Any] | None:
    if instance is None:
        return None
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


@pytest.mark.postgres
@pytest.mark.django_db
class TestCustomerAndVehicleAtOnce:
    """The create's one statement for the customer and the vehicle a body names finds what ``customer_get`` and
    ``vehicle_get`` (the ORM path) find, the vehicle's owner loaded as ``select_related`` loads it."""

    @pytest.fixture
    def people(self, department):
        dealer = department.dealer
        other_dealer = DepartmentFactory().dealer
        owner = CustomerFactory(dealer=dealer, family_name="Müller")
        return {
            "customer": CustomerFactory(dealer=dealer),
            "owned vehicle": VehicleFactory(dealer=dealer, customer=owner),
            "ownerless vehicle": VehicleFactory(dealer=dealer, customer=None),
            "foreign customer": CustomerFactory(dealer=other_dealer),
            "foreign vehicle": VehicleFactory(dealer=other_dealer, customer=None),
        }

    @pytest.mark.parametrize(
        ("customer", "vehicle"),
        [
            ("customer", "owned vehicle"),
            ("customer", "ownerless vehicle"),
            ("foreign customer", "owned vehicle"),
            ("customer", "foreign vehicle"),
            ("missing", "missing"),
        ],
    )
    def test_same_rows_as_the_orm(self, department, people, customer, vehicle, django_assert_num_queries):
        from orders.selectors import customer_get, vehicle_get

        missing = "00000000-0000-4000-8000-000000000000"
        customer_uuid = str(people[customer].uuid) if customer in people else missing
        vehicle_uuid = str(people[vehicle].uuid) if vehicle in people else missing
        dealer_id = department.dealer_id
        with django_assert_num_queries(1):
            found_customer, found_vehicle = sql.customer_and_vehicle(dealer_id, customer_uuid, vehicle_uuid)
            owner = found_vehicle.customer if found_vehicle is not None else None  # loaded: no query
        orm_vehicle = vehicle_get(dealer_id=dealer_id, vehicle_uuid=vehicle_uuid)
        assert _fields(found_customer) == _fields(customer_get(dealer_id=dealer_id, customer_uuid=customer_uuid))
        assert _fields(found_vehicle) == _fields(orm_vehicle)
        assert _fields(owner) == _fields(orm_vehicle.customer if orm_vehicle is not None else None)
        if found_customer is not None:
            assert not found_customer._state.adding and found_customer._state.db == "default"

    def test_a_create_answers_alike_through_both(self, api, department, people, monkeypatch):
        """A body naming a foreign vehicle and a missing customer: the same refusal on both paths."""
        body = sample_body(people["customer"], people["foreign vehicle"])
        body["order"]["customer"]["uuid"] = "00000000-0000-4000-8000-000000000000"
        answers = []
        for on_postgresql in (True, False):
            monkeypatch.setattr(sql, "on_postgresql", lambda value=on_postgresql: value)
            response = api.put(orders_url(department), copy.deepcopy(body), format="json")
            answers.append((response.status_code, _without_error_uids(response.json())))
        monkeypatch.undo()
        assert answers[0] == answers[1]
        assert answers[0][0] == 400
        assert {e["errorCode"] for e in answers[0][1]["errors"]} == {"UNKNOWN_CUSTOMER", "UNKNOWN_VEHICLE"}


@pytest.mark.postgres
@pytest.mark.django_db
def test_prepared_statements_answer_as_the_orm_path(api, department, partner, monkeypatch):
    """psycopg prepares a statement once it has run five times on a connection (``orma.db.prepared_cursor``):
    the last of eight creates and reads ran prepared, and still store and answer what the ORM path does."""
    from django.db import connection

    other = DepartmentFactory(dealer=department.dealer)
    GrantFactory(partner=partner, department=other)
    customer = CustomerFactory(dealer=department.dealer)

    def create_and_read(target: Any, number: str) -> tuple[dict[str, Any], dict[str, Any]]:
        body = minimal_body(customer, jobs=2, lines_per_job=2)
        body["order"]["header"]["orderNumber"] = number
        response = api.put(orders_url(target), body, format="json")
        assert response.status_code == 201, response.content
        order_uuid = response.json()["orderUUID"]
        return stored_rows(RepairOrder.objects.get(uuid=order_uuid)), read_body(api, target, order_uuid)

    for n in range(7):
        create_and_read(department, f"WO-P{n}")
    sql_rows, sql_body = create_and_read(department, "WO-P7")
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any('INSERT INTO "orders_repairorder"' in statement for statement in prepared), prepared
    assert any('"document"::text' in statement for statement in prepared), prepared
    monkeypatch.setattr(sql, "on_postgresql", lambda: False)
    orm_rows, orm_body = create_and_read(other, "WO-P7")
    assert sql_rows == orm_rows
    assert sql_body == orm_body


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_header_insert_compiled_once_is_what_the_compiler_writes_per_order(department, monkeypatch):
    """``insert_order`` compiles the header's INSERT once and prepares its values itself: the same text and values
    as Django's compiler for an order, and an expression value left to the compiler."""
    from django.db import connection
    from django.db.models import Value
    from django.db.models.sql import InsertQuery
    from django.utils import timezone

    from orma.db import insert_values

    instant = dt.datetime(2026, 12, 3, 9, 30, tzinfo=dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: instant)  # auto_now: both sides see the same instant
    order = RepairOrder(department=department, order_number="WO-HEADER", version=3, document={"order": {"a": 1}})
    statement, fields = sql._header_insert()
    query = InsertQuery(RepairOrder)
    query.insert_values(list(fields), [order])
    [(compiled, compiled_values)] = query.get_compiler(connection=connection).as_sql()
    values = insert_values(order, fields)
    assert statement == compiled
    assert [getattr(v, "obj", v) for v in values] == [getattr(v, "obj", v) for v in compiled_values]
    order.order_number = Value("WO-EXPRESSION")
    assert insert_values(order, fields) is None


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_read_and_the_customer_lookup_find_their_row_by_its_uuid_however_many_the_department_holds(department):
    """The read and the create's customer-and-vehicle lookup are prepared statements: after a few runs PostgreSQL
    may plan them once without their values. Planned so on a table not yet analysed, the read chose a department
    index and filtered every order of the department for the uuid (a read slowed with each order taken)."""
    from django.db import connection
    from django.utils import timezone

    dealer = department.dealer
    customers = CustomerFactory.create_batch(60, dealer=dealer)
    vehicle = VehicleFactory(dealer=dealer, customer=customers[0])
    now = timezone.now()
    RepairOrder.objects.bulk_create(
        RepairOrder(
            department=department, customer=customers[0], order_number=f"RO-{n}", created_instant=now, document={}
        )
        for n in range(300)
    )
    target = RepairOrder.objects.filter(department=department).order_by("id")[150]
    with connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_generic_plan")
    try:
        for _ in range(7):  # past psycopg's prepare threshold
            assert sql.read_order(department.id, target.uuid).uuid == str(target.uuid)
            assert sql.customer_and_vehicle(dealer.id, customers[30].uuid, vehicle.uuid)[0] == customers[30]
        plans = {}
        with connection.cursor() as cursor:
            cursor.execute("SELECT name, statement FROM pg_prepared_statements")
            prepared = cursor.fetchall()
            for name, statement in prepared:
                if '"document"::text' in statement:
                    arguments = f"'{target.uuid}', {department.id}"
                elif "orders_vehicle" in statement:
                    arguments = f"'{customers[30].uuid}', '{vehicle.uuid}', {dealer.id}"
                else:
                    continue
                cursor.execute(f"EXPLAIN (ANALYZE, COSTS OFF) EXECUTE {name}({arguments})")
                plans[name] = "\n".join(row[0] for row in cursor.fetchall())
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET plan_cache_mode")
    assert len(plans) == 2, prepared
    for plan in plans.values():
        assert "Rows Removed by Filter" not in plan, plan
        assert "_uuid_key" in plan, plan
