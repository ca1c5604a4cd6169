"""parts.sql (PostgreSQL's hand-written statements) against the ORM path SQLite takes: the same orders,
baskets and import files through both, on the same database, must store the same rows and answer the same
bodies. ``parts.sql.in_use`` turned off runs the ORM path on PostgreSQL."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.tests.factories import CustomerFactory
from parts import importing, selectors, sql
from parts.importing import COLUMNS
from parts.models import Part, PartsOrder, PartsOrderLine, PartsOrderStatusChange, Stock
from tenancy.tests.factories import DepartmentFactory, partner_on
from tests.clients import client_for

from .factories import CustomerDiscountFactory, PartFactory, StockFactory, SurchargeFactory, base_url

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T")


def _world():
    """A store with a priced customer and parts that take every branch of the reservation: plenty, partly
    in stock, no stock row, superseded, a unit of sale of 2."""
    store = DepartmentFactory()
    dealer = store.dealer
    partner = partner_on(store)
    customer = CustomerFactory(dealer=dealer, family_name="Same", email="same@example.com")
    CustomerDiscountFactory(customer=customer, brand_code="V", percent=Decimal("12.50"))
    CustomerDiscountFactory(customer=customer, brand_code="", discount_group="BR", percent=Decimal("3.00"))
    SurchargeFactory(dealer=dealer, order_type="VOR", percent=Decimal("5.00"), fixed_net=Decimal("1.10"))
    parts = {}
    for part_id, price, unit, group in (
        ("VP1", "10.00", 1, ""),
        ("VP2", "99.99", 1, "BR"),
        ("VP3", "0.35", 1, ""),
        ("VP4", "120.00", 1, ""),
        ("VP5", "130.00", 1, ""),
        ("VP6", "7.77", 2, ""),
    ):
        parts[part_id] = PartFactory(
            dealer=dealer,
            part_id=part_id,
            description=f"Part {part_id}",
            list_net_price=Decimal(price),
            unit_of_sale=unit,
            discount_group=group,
        )
    parts["VP4"].superseded_by = parts["VP5"]
    parts["VP4"].save()
    parts["VP1"].alternatives.add(parts["VP3"], parts["VP2"])
    for part_id, on_hand in (("VP1", 10), ("VP2", 3), ("VP5", 4), ("VP6", 5)):
        StockFactory(department=store, part=parts[part_id], on_hand=on_hand)
    return store, client_for(partner), customer


ORDERS = [
    [("VP1", 2), ("VP2", 5), ("VP3", 1), ("VP4", 3), ("VP6", 4)],
    [("VP1", 6), ("VP1", 6), ("VP5", 2)],  # one stock row twice: the second line is split
]


def _normalised(value):
    """A body with what differs between two stores (ids, numbers, instants) replaced by placeholders."""
    if isinstance(value, dict):
        return {
            key: "<number>" if key in {"partsOrderId", "orderNumber"} else _normalised(item)
            for key, item in sorted(value.items())
        }
    if isinstance(value, list):
        return [_normalised(item) for item in value]
    if isinstance(value, str) and (_UUID.match(value) or _INSTANT.match(value)):
        return "<varies>"
    return value


def _stored(store):
    """The store's orders, lines, history and stock, without ids, keys or instants."""
    varying = {"id", "number", "uuid", "department_id", "customer_id", "partner_id", "dms_order_number"}
    orders = [
        {k: v for k, v in row.items() if k not in varying and not k.endswith("_at")}
        for row in PartsOrder.objects.filter(department=store).order_by("number").values()
    ]
    lines = list(
        PartsOrderLine.objects.filter(parts_order__department=store)
        .order_by("parts_order__number", "position")
        .values_list(
            "position", "part__part_id", "part_number", "superseded_part__part_id", "superseded_part_number",
            "quantity", "unit_of_measure", "unit_of_measure_value", "unit_of_sale", "status", "reserved_quantity",
            "vehicle_references", "list_net_price", "order_net_price", "surcharge_net", "tax_rate", "currency_code",
        )
    )  # fmt: skip
    history = list(
        PartsOrderStatusChange.objects.filter(parts_order__department=store)
        .order_by("parts_order__number", "id")
        .values_list("line__position", "old_status", "new_status", "channel", "correlation_id")
    )
    stock = sorted(Stock.objects.filter(department=store).values_list("part__part_id", "on_hand", "reserved"))
    return orders, lines, history, stock


def _place_all(monkeypatch, use_sql):
    monkeypatch.setattr(sql, "in_use", lambda: use_sql)
    store, api, customer = _world()
    url = f"{base_url(store)}/parts-orders"
    bodies = []
    for number, lines in enumerate(ORDERS):
        body = {
            "customerId": str(customer.uuid),
            "orderType": "VOR",
            "orderReference": f"ref-{number}",
            "parts": [{"part": {"partId": part_id}, "quantity": quantity} for part_id, quantity in lines],
        }
        with CaptureQueriesContext(connection) as queries:
            placed = api.post(url, body, format="json", HTTP_X_CORRELATION_ID=f"cid-{number}")
        assert placed.status_code == 201, placed.content
        assert any(q["sql"].startswith("WITH o AS (INSERT") for q in queries) is use_sql  # the path under test
        read = api.get(f"{url}/{placed.json()['partsOrderId']}")
        assert read.status_code == 200
        bodies.append((_normalised(placed.json()), _normalised(read.json())))
    return bodies, _stored(store)


def test_orders_placed_by_the_statements_and_by_the_orm_store_and_answer_the_same(monkeypatch):
    by_sql = _place_all(monkeypatch, use_sql=True)
    by_orm = _place_all(monkeypatch, use_sql=False)

    assert by_sql == by_orm
    (_, lines, _, stock) = by_sql[1]
    assert stock == [("VP1", 10, 10), ("VP2", 3, 3), ("VP5", 4, 4), ("VP6", 5, 4)]
    statuses = [(line[1], line[5], line[9]) for line in lines]
    assert ("VP2", 3, "RESERVED") in statuses and ("VP2", 2, "BACKORDER") in statuses
    assert ("VP5", 3, "RESERVED") in statuses and ("VP3", 1, "BACKORDER") in statuses


def _basket(monkeypatch, use_sql):
    monkeypatch.setattr(sql, "in_use", lambda: use_sql)
    store, api, customer = _world()
    body = {
        "customerId": str(customer.uuid),
        "orderType": "VOR",
        "parts": [
            {"partId": p, "quantity": q} for p, q in (("VP1", 3), ("VP4", 1), ("VP6", 3), ("NOPE", 1), ("VP2", 9))
        ],
    }
    answers = []
    for request in (body, {"parts": body["parts"]}):
        response = api.post(f"{base_url(store)}/price-availability", request, format="json")
        assert response.status_code == 200, response.content
        answers.append(_normalised(response.json()))
    single = api.get(f"{base_url(store)}/price-availability", {"partId": "VP1", "quantity": 2})
    assert single.status_code == 200
    return answers, _normalised(single.json())


def test_baskets_answered_by_the_statements_and_by_the_orm_are_the_same(monkeypatch):
    by_sql, by_orm = _basket(monkeypatch, True), _basket(monkeypatch, False)

    assert by_sql == by_orm
    vp1 = by_sql[0][0]["parts"][0]
    assert [a["partId"] for a in vp1["alternatives"]] == ["VP2", "VP3"]


def _import(path, dealer, store):
    out = StringIO()
    call_command(
        "orma_import_parts", str(path), "--dealer", str(dealer.uuid), "--store", str(store.uuid), "--json",
        "--no-progress", stdout=out,
    )  # fmt: skip
    return json.loads(out.getvalue())


def _catalogue(dealer, store):
    parts = sorted(
        Part.objects.filter(dealer=dealer).values_list(
            "part_id", "brand_code", "part_code", "description", "weight_kg", "unit_of_measure",
            "unit_of_measure_value", "unit_of_sale", "list_net_price", "tax_rate", "currency_code",
            "discount_group", "mandatory_vehicle_references", "superseded_by__part_id",
        )
    )  # fmt: skip
    links = sorted(
        Part.alternatives.through.objects.filter(from_part__dealer=dealer).values_list(
            "from_part__part_id", "to_part__part_id"
        )
    )
    stock = sorted(Stock.objects.filter(department=store).values_list("part__part_id", "on_hand", "reserved"))
    return parts, links, stock


HEADER = ",".join([*COLUMNS, "discountGroup", "unitOfMeasure"])
FIRST = [  # every row one the statements vouch for
    "P1,VW,1,Disc,89.90,eur,19,1,7.2,P2,,,0,,",
    "P2,skoda,2,Disc new,92.5,EUR,19.5,,,,P3|P4|P3,,12,G1,litre",
    'P3,A,3,"Pads, front",64.3500,EUR,7,2,1.900,,,,,,SET',
    "P4,CUPRA,4,  spaced  ,0,EUR,0,1,,P5,P1,,5,,",
    "P5,X9,5,,9999999999,JPY,100,999999999,9999999,,,,,,",
]
SECOND = [  # a re-import: updates, a new part, an existing part the file leaves alone
    "P2,N,2,Disc newer,93,EUR,19,1,,P6,P4,,20,G2,",
    "P6,V,6,Six,1,EUR,19,1,,,,,3,,",
    "P1,VW,1,Disc,89.90,EUR,19,1,7.2,,,,1,,",
]


FIRST_PLAIN = [row.replace('"Pads, front"', "Pads front").replace("  spaced  ", "spaced") for row in FIRST]
SECOND_QUOTED = [SECOND[0].replace("Disc newer", '"Disc, newer"'), *SECOND[1:]]


@pytest.mark.parametrize(
    ("files", "copies"),
    [
        ((FIRST, SECOND), ["python", "postgresql"]),  # quoted and spaced values first, a plain re-import
        ((FIRST_PLAIN, SECOND_QUOTED), ["postgresql", "python"]),
    ],
)
def test_an_import_by_the_statements_stores_what_the_row_by_row_passes_store(monkeypatch, tmp_path, files, copies):
    """A fresh catalogue (plain INSERTs) and a re-import (upsert), each file parsed by PostgreSQL (a plain
    file) or by the csv module: the same rows as the row-by-row passes (SQLite's path) store."""
    paths: list[str] = []  # which code wrote each import: the statements or the row-by-row passes, and how
    hooks = (
        (importing._SetBased, "insert_fresh", "fresh"),
        (importing._SetBased, "upsert", "upsert"),
        (importing._SetBased, "copy_parsed_by_postgresql", "postgresql"),
        (importing._SetBased, "copy_parsed_by_python", "python"),
        (importing._Import, "write_rows", "rows"),
    )
    for cls, method, name in hooks:
        original = getattr(cls, method)
        monkeypatch.setattr(cls, method, lambda self, *a, _o=original, _n=name: (paths.append(_n), _o(self, *a))[1])
    results = []
    for statements in (True, False):
        monkeypatch.setattr(sql, "in_use", lambda statements=statements: statements)
        store = DepartmentFactory()
        answers = []
        for number, rows in enumerate(files):
            path = tmp_path / f"{statements}-{number}.csv"
            path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
            paths.clear()
            answers.append(_import(path, store.dealer, store))
            expected = {("fresh", "upsert")[number], copies[number]} if statements else {"rows"}
            assert set(paths) == expected
        results.append((answers, _catalogue(store.dealer, store)))

    assert results[0] == results[1]
    assert results[0][0] == [{"created": 5, "updated": 0, "errors": []}, {"created": 1, "updated": 2, "errors": []}]


def test_a_fresh_catalogue_meeting_a_part_that_exists_is_imported_row_by_row(monkeypatch, tmp_path):
    """A part created after the fresh-catalogue test (the admin, meanwhile): the plain INSERT's unique
    violation rolls the statements back, and the row-by-row passes upsert the file."""
    store = DepartmentFactory()
    PartFactory(dealer=store.dealer, part_id="P2", description="old")
    original = importing._SetBased.copy

    def copy_as_if_fresh(self, cursor, bar):
        self.fresh = True
        return original(self, cursor, bar)

    monkeypatch.setattr(importing._SetBased, "copy", copy_as_if_fresh)
    path = tmp_path / "parts.csv"
    path.write_text("\n".join([HEADER, *FIRST_PLAIN]) + "\n", encoding="utf-8")

    assert _import(path, store.dealer, store) == {"created": 4, "updated": 1, "errors": []}
    assert Part.objects.get(dealer=store.dealer, part_id="P2").description == "Disc new"
    assert Part.objects.get(dealer=store.dealer, part_id="P1").superseded_by.part_id == "P2"


def test_a_repeated_part_id_in_a_fresh_catalogue_is_reported_by_the_passes(tmp_path):
    store = DepartmentFactory()
    path = tmp_path / "parts.csv"
    path.write_text("\n".join([HEADER, *FIRST_PLAIN, FIRST_PLAIN[1]]) + "\n", encoding="utf-8")
    out = StringIO()
    with pytest.raises(Exception):  # noqa: B017, PT011 - the command's CommandError, its report in out
        call_command(
            "orma_import_parts", str(path), "--dealer", str(store.dealer.uuid), "--store", str(store.uuid),
            "--json", "--no-progress", stdout=out,
        )  # fmt: skip
    report = json.loads(out.getvalue())
    assert report["errors"] == [{"line": 7, "issue": "partId P2 repeats line 3"}]
    assert not Part.objects.filter(dealer=store.dealer).exists()


def test_a_plain_file_that_copy_refuses_is_imported_row_by_row_alike(tmp_path):
    """A record of the wrong width in a plain file: PostgreSQL's COPY refuses it, the passes word it."""
    store = DepartmentFactory()
    path = tmp_path / "parts.csv"
    path.write_text("\n".join([HEADER, *FIRST_PLAIN[:2], "P9,VW,9,Short,1", *FIRST_PLAIN[2:]]) + "\n")
    out = StringIO()
    with pytest.raises(Exception):  # noqa: B017, PT011 - the command's CommandError, its report in out
        call_command(
            "orma_import_parts", str(path), "--dealer", str(store.dealer.uuid), "--store", str(store.uuid),
            "--json", "--no-progress", stdout=out,
        )  # fmt: skip
    report = json.loads(out.getvalue())
    assert report == {
        "created": 0,
        "updated": 0,
        "errors": [{"line": 4, "issue": "the row has 5 fields, the header has 15"}],
    }
    assert not Part.objects.filter(dealer=store.dealer).exists()


def test_a_file_the_statements_do_not_vouch_for_is_imported_row_by_row_alike(tmp_path):
    """Unicode digits, a decimal comma, an unknown reference: the row-by-row passes decide and word them."""
    store = DepartmentFactory()
    path = tmp_path / "odd.csv"
    rows = ["Q1,VW,1,Odd digits,١٢,EUR,19,1,,,,,1,,", "Q2,VW,2,Comma,1,5,EUR,19,1,,,,,1,,"]
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    out = StringIO()
    with pytest.raises(Exception):  # noqa: B017, PT011 - the command's CommandError, its report in out
        call_command(
            "orma_import_parts", str(path), "--dealer", str(store.dealer.uuid), "--store", str(store.uuid),
            "--json", "--no-progress", stdout=out,
        )  # fmt: skip
    report = json.loads(out.getvalue())
    assert report["created"] == 0
    assert [error["line"] for error in report["errors"]] == [3]
    assert "has 16 fields, the header has 15" in report["errors"][0]["issue"]
    assert not Part.objects.filter(dealer=store.dealer).exists()


def test_the_loader_fills_instances_as_the_orm_does_and_defers_alike():
    """sql._loader builds a part without Model.__init__: the same values, a deferred column loaded on access."""
    store = DepartmentFactory()
    part = PartFactory(dealer=store.dealer, mandatory_vehicle_references=["VIN"], weight_kg=Decimal("1.250"))
    (loaded,) = sql.catalogue_parts(
        dealer_id=store.dealer_id, store_id=store.id, part_ids=[part.part_id], codes=[], order_type=None
    )
    orm = Part.objects.get(pk=part.pk)

    deferred = {"created_at", "updated_at"}
    assert loaded.get_deferred_fields() == deferred
    for f in Part._meta.concrete_fields:
        if f.attname not in deferred:
            assert getattr(loaded, f.attname) == getattr(orm, f.attname), f.attname
    assert (loaded._state.adding, loaded._state.db) == (False, "default")
    assert loaded.updated_at == orm.updated_at  # loaded on access, one query
    assert loaded == orm


def test_the_loader_sends_init_signals_when_someone_listens():
    from django.db.models.signals import post_init

    store = DepartmentFactory()
    part = PartFactory(dealer=store.dealer)
    seen = []

    def listener(sender, instance, **kwargs):
        seen.append(instance.part_id)

    post_init.connect(listener, sender=Part)
    try:
        sql.catalogue_parts(
            dealer_id=store.dealer_id, store_id=store.id, part_ids=[part.part_id], codes=[], order_type=None
        )
    finally:
        post_init.disconnect(listener, sender=Part)

    assert seen == [part.part_id]


def test_a_catalogue_named_by_part_ids_and_by_codes_is_the_same_on_both_paths(monkeypatch):
    """The statement seeds partIds and codes in separate branches; the ORM in one OR: the same parts, chains, stock."""
    store = DepartmentFactory()
    dealer = store.dealer
    final = PartFactory(dealer=dealer, part_id="VF", brand_code="V", part_code="F")
    middle = PartFactory(dealer=dealer, part_id="VM", brand_code="V", part_code="M", superseded_by=final)
    PartFactory(dealer=dealer, part_id="VS", brand_code="V", part_code="S", superseded_by=middle)
    PartFactory(dealer=dealer, part_id="AX", brand_code="A", part_code="X")
    PartFactory(dealer=dealer, part_id="AY", brand_code="A", part_code="Y")  # named by neither
    PartFactory(part_id="VS")  # another dealer's
    StockFactory(department=store, part=middle, on_hand=4, reserved=1)
    SurchargeFactory(dealer=dealer, order_type="VOR")

    def load(part_ids, codes):
        catalogue = selectors.catalogue_load(
            dealer_id=dealer.id, store_id=store.id, part_ids=part_ids, codes=codes, order_type="VOR"
        )
        return sorted(
            (p.part_id, p.superseded_by_id, selectors.stock_of(p), p.surcharge_percent, p.surcharge_fixed_net)
            for p in catalogue.parts.values()
        )

    cases = [(["VS"], [("A", "X")]), (["VS"], []), ([], [("A", "X"), ("V", "M")]), (["nope"], [("A", "nope")])]
    by_statement = [load(*case) for case in cases]
    monkeypatch.setattr(sql, "in_use", lambda: False)
    by_orm = [load(*case) for case in cases]

    assert by_statement == by_orm
    assert [p[0] for p in by_statement[0]] == ["AX", "VF", "VM", "VS"]
    assert by_statement[3] == []


def test_a_successor_of_another_dealer_is_left_out_alike_on_both_paths(monkeypatch):
    store = DepartmentFactory()
    dealer = store.dealer
    back = PartFactory(dealer=dealer, part_id="VB")
    foreign = PartFactory(part_id="VX", superseded_by=back)  # another dealer's part on the chain
    PartFactory(dealer=dealer, part_id="VA", superseded_by=foreign)

    def load():
        catalogue = selectors.catalogue_load(dealer_id=dealer.id, store_id=store.id, part_ids=["VA"])
        return sorted((p.part_id, p.superseded_by_id) for p in catalogue.parts.values())

    by_statement = load()
    monkeypatch.setattr(sql, "in_use", lambda: False)

    assert by_statement == load() == [("VA", foreign.pk), ("VB", None)]


def _scans(plan):
    """(node type, relation) of every node of an EXPLAIN (FORMAT JSON) plan, subplans included."""
    yield plan["Node Type"], plan.get("Relation Name")
    for child in plan.get("Plans", ()):
        yield from _scans(child)


@pytest.mark.parametrize("plan_mode", ["force_custom_plan", "force_generic_plan"])
@pytest.mark.parametrize("analysed", [False, True])
def test_the_catalogue_statement_probes_indexes_whatever_the_statistics(analysed, plan_mode):
    """A basket's statement reaches parts and stock by index lookups from the requested ids, whether or not the
    tables were analysed (autovacuum may be off, or not yet run after an import), and its estimated cost stays
    under ``jit_above_cost`` (JIT compiled the statement once a constant of 200 ids made the estimate huge).
    It is a prepared statement: planned with its values (its first runs) and, past them, maybe once without."""
    store = DepartmentFactory()
    dealer = store.dealer
    parts = Part.objects.bulk_create(
        Part(dealer=dealer, part_id=f"V{n:06d}", brand_code="V", part_code=f"{n:06d}", list_net_price=1)
        for n in range(2000)
    )
    Stock.objects.bulk_create(Stock(department=store, part=part, on_hand=5) for part in parts)
    for part, successor in zip(parts[:100], parts[100:200], strict=True):
        part.superseded_by = successor
    Part.objects.bulk_update(parts[:100], ["superseded_by"])
    SurchargeFactory(dealer=dealer, order_type="VOR")
    executed = []

    def keep(execute, statement, params, many, context):
        executed.append((statement, params))
        return execute(statement, params, many, context)

    with connection.cursor() as cursor:
        if analysed:
            cursor.execute("ANALYZE parts_part, parts_stock")
        cursor.execute(f"SET plan_cache_mode = {plan_mode}")
        try:
            for _ in range(7):  # past psycopg's prepare threshold
                with connection.execute_wrapper(keep):
                    loaded = sql.catalogue_parts(
                        dealer_id=dealer.id,
                        store_id=store.id,
                        part_ids=[p.part_id for p in parts[:200]],
                        codes=[("V", "000300")],
                        order_type="VOR",
                        with_alternatives=True,
                    )
            statement, params = executed[-1]
            cursor.execute("SELECT name FROM pg_prepared_statements WHERE statement LIKE 'WITH RECURSIVE chain%%'")
            (name,) = cursor.fetchone()
            cursor.execute(f"EXPLAIN (FORMAT JSON) EXECUTE {name}({', '.join(['%s'] * len(params))})", params)
            (explained,) = cursor.fetchone()
        finally:
            cursor.execute("RESET plan_cache_mode")
        cursor.execute("SELECT current_setting('jit_above_cost')::float")
        (jit_above_cost,) = cursor.fetchone()
    plan = (json.loads(explained) if isinstance(explained, str) else explained)[0]["Plan"]

    assert len(loaded) == 201
    scans = {(kind, table) for kind, table in _scans(plan) if table in ("parts_part", "parts_stock")}
    assert scans and {kind for kind, _ in scans} <= {"Index Scan", "Index Only Scan"}, scans
    assert plan["Total Cost"] < jit_above_cost
