"""Hand-written SQL of the parts app (PostgreSQL only): the catalogue and customer reads of an order or a
basket, and placing a parts order in two statements.

Why by hand: placing an order through the ORM costs a lock, an update, and three INSERTs (order, lines,
history), each a round trip and each compiled by the ORM on every request; profiling showed the
compilation and the round trips, not the database's work, to be most of the time. PostgreSQL takes
data-modifying CTEs, so the stock reservation is one statement (lock in id order, read fresh, reserve)
and the order with its lines and its first history row is another. The reads (the catalogue's recursive
CTE with stock and surcharge, the customers with their discounts) are the same queries as the ORM's,
written once as text instead of compiled per request from FilteredRelation/Subquery/RawSQL. SQLite (the
embedded default) keeps the ORM code in :mod:`parts.selectors` and :mod:`parts.services`;
``parts/tests/test_sql.py`` feeds the same orders and baskets through both paths and compares the stored
rows and the bodies.

The INSERTs are built from the models' fields (their ``pre_save`` and ``get_db_prep_save``), so a value
is stored exactly as ``Model.save()`` would store it; each parameter is cast to its column's type
without modifiers (``varchar``, not ``varchar(50)``): an explicit cast with a length would truncate,
the assignment to the column checks the length as the ORM's INSERT does.

Every statement runs through ``orma.db.prepared_cursor`` (prepared once run five times on a connection): the
catalogue's recursive CTE took ~1 ms to plan, a third of a one-part lookup in-process. Its plan is the same
whatever the values (probes of indexes only), so a generic plan serves too; a test explains both.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection, models

from orders.models import Customer
from orma.db import init_signals_listened, loaded_instance, prepared_cursor

from .models import (
    PARTS_ORDER_NUMBER_SEQUENCE,
    CustomerDiscount,
    Part,
    PartsOrder,
    PartsOrderLine,
    PartsOrderStatusChange,
    Stock,
    Surcharge,
)

_MODIFIERS = re.compile(r"\(.*\)")


@functools.cache
def _insert_fields(model: type[models.Model]) -> tuple[tuple[models.Field, str], ...]:
    """The model's columns an INSERT writes (all but the primary key), each with its parameter's cast."""
    return tuple(
        (f, "%s::" + _MODIFIERS.sub("", f.db_type(connection) or "text"))
        for f in model._meta.concrete_fields
        if not f.primary_key
    )


def _row(model: type[models.Model], obj: models.Model, skip: frozenset[str] = frozenset()) -> tuple[list[str], list]:
    """The placeholders and parameters of one row of ``obj``, as ``save()`` would write it (``pre_save``)."""
    placeholders, params = [], []
    for f, cast in _insert_fields(model):
        if f.attname in skip:
            continue
        placeholders.append(cast)
        params.append(f.get_db_prep_save(f.pre_save(obj, True), connection=connection))
    return placeholders, params


def _columns(model: type[models.Model], skip: frozenset[str] = frozenset()) -> str:
    return ", ".join(connection.ops.quote_name(f.column) for f, _ in _insert_fields(model) if f.attname not in skip)


def stock_reserve(wanted: dict[int, tuple[int, int]]) -> dict[int, tuple[int, int]]:
    """Reserve stock for an order in one statement: ``wanted`` maps a stock row to (quantity, unit of sale).

    The rows are locked in id order (simultaneous orders never deadlock) and read fresh under the lock;
    each row reserves what its available stock covers in whole units of sale, up to the quantity, the
    rule of ``rules.plan_reservations`` for lines whose quantities are multiples of the unit of sale (the
    order rules refuse any other). Answers each row's (available before, reserved now).
    """
    if not wanted:
        return {}
    table = Stock._meta.db_table
    values = ", ".join(["(%s::bigint, %s::integer, %s::integer)"] * len(wanted))
    params = [value for stock_id, (quantity, unit) in sorted(wanted.items()) for value in (stock_id, quantity, unit)]
    with prepared_cursor() as cursor:
        cursor.execute(
            f"WITH v(id, wanted, unit) AS (VALUES {values}),"
            f" locked AS (SELECT s.id, s.on_hand - s.reserved AS available FROM {table} s"
            f"  WHERE s.id IN (SELECT id FROM v) ORDER BY s.id FOR UPDATE),"
            " taken AS (SELECT l.id, l.available, LEAST(v.wanted, GREATEST(l.available, 0) / v.unit * v.unit) AS take"
            "  FROM locked l JOIN v ON v.id = l.id),"
            f" moved AS (UPDATE {table} s SET reserved = s.reserved + t.take FROM taken t"
            "  WHERE s.id = t.id AND t.take > 0)"
            " SELECT id, available, take FROM taken",
            params,
        )
        return {stock_id: (available, take) for stock_id, available, take in cursor.fetchall()}


def parts_order_insert(
    parts_order: PartsOrder, lines: Sequence[PartsOrderLine], history: Sequence[PartsOrderStatusChange]
) -> None:
    """INSERT a new order, its lines and its order-level history rows in one statement; sets their ids and
    the order's number (drawn from its sequence inside the INSERT) on the instances, as ``save()`` does."""
    number = frozenset({"number"})
    order_of = frozenset({"parts_order_id"})
    order_placeholders, params = _row(PartsOrder, parts_order, number)
    order_sql = (
        f"INSERT INTO {PartsOrder._meta.db_table} ({_columns(PartsOrder, number)}, number)"
        f" VALUES ({', '.join(order_placeholders)}, nextval('{PARTS_ORDER_NUMBER_SEQUENCE}')) RETURNING id, number"
    )
    parts = [f"WITH o AS ({order_sql})"]
    for label, model, rows in (("l", PartsOrderLine, lines), ("h", PartsOrderStatusChange, history)):
        if not rows:
            continue
        tuples = []
        for row in rows:
            placeholders, row_params = _row(model, row, order_of)
            tuples.append(f"({', '.join(placeholders)})")
            params += row_params
        columns = _columns(model, order_of)
        returning = " RETURNING id, position" if model is PartsOrderLine else ""
        parts.append(
            f", {label} AS (INSERT INTO {model._meta.db_table} (parts_order_id, {columns})"
            f" SELECT o.id, v.* FROM o CROSS JOIN (VALUES {', '.join(tuples)}) AS v{returning})"
        )
    select = "SELECT -1, id, number FROM o" + (" UNION ALL SELECT position, id, NULL FROM l" if lines else "")
    with prepared_cursor() as cursor:
        cursor.execute(" ".join(parts) + " " + select, params)
        answered = cursor.fetchall()
    line_at = {line.position: line for line in lines}
    for position, pk, drawn in answered:
        target: Any = parts_order if position == -1 else line_at[position]
        target.pk = pk
        if position == -1:
            parts_order.number = drawn
    for obj in (parts_order, *lines):
        obj._state.adding, obj._state.db = False, connection.alias
    for obj in (*lines, *history):
        obj.parts_order_id = parts_order.pk  # type: ignore[attr-defined]


# --- reads --------------------------------------------------------------------------------------


@functools.cache
def _loaded(model: type[models.Model], deferred: frozenset[str] = frozenset()) -> tuple[models.Field, ...]:
    return tuple(f for f in model._meta.concrete_fields if f.attname not in deferred)


def _select_list(model: type[models.Model], alias: str, deferred: frozenset[str] = frozenset()) -> str:
    return ", ".join(f"{alias}.{connection.ops.quote_name(f.column)}" for f in _loaded(model, deferred))


@functools.cache
def _loader(model: type[models.Model], deferred: frozenset[str] = frozenset()) -> Callable[..., Any]:
    """What makes a model instance of a row of its columns (those ``_loaded`` answers, in order): converted as
    the ORM converts them (``from_db_value``, JSON), the other columns deferred as ``QuerySet.defer`` leaves
    them. Worked out once per model and column set, so a row costs little more than ``Model.__init__``.
    ``listened``: whether init signals have listeners, asked once per statement by the caller
    (:func:`orma.db.init_signals_listened`); None asks for this row."""
    fields = _loaded(model, deferred)
    converters = tuple((i, f.from_db_value) for i, f in enumerate(fields) if hasattr(f, "from_db_value"))  # type: ignore[attr-defined]
    names = [f.attname for f in fields]
    alias = connection.alias

    def load(values: Sequence[Any], listened: bool | None = None) -> Any:
        row = list(values)
        for i, convert in converters:
            if row[i] is not None:
                row[i] = convert(row[i], None, connection)
        return loaded_instance(model, names, row, listened=listened, alias=alias)

    return load


_CATALOGUE_DEFERRED = frozenset({"created_at", "updated_at"})  # never shown; a datetime parse per part


def in_use() -> bool:
    """Whether this module's statements serve the connection (PostgreSQL); the tests that compare both
    paths turn it off to run the ORM's on the same database."""
    return connection.vendor == "postgresql"


def catalogue_parts(
    *,
    dealer_id: int,
    store_id: int,
    part_ids: list[str],
    codes: list[tuple[str, str]],
    order_type: str | None,
    with_alternatives: bool = False,
) -> list[Part]:
    """``selectors.catalogue_load``'s one query: the named parts and every successor on their chains (a
    recursive CTE; ``UNION`` ends a cycle), each with its stock row in the store and the order type's
    surcharge, as annotated Part instances (``stock_id``, ``stock_on_hand``, ``stock_reserved``,
    ``surcharge_percent``, ``surcharge_fixed_net``). ``with_alternatives``: each part's alternatives with
    their stock too (``alternative_rows``, ``selectors.alternatives_load``'s rows in its order), so a
    basket needs no query of its own for them."""
    table = Part._meta.db_table
    through = Part.alternatives.through._meta.db_table
    alternatives = (  # probed like the rest (below): as a join, an unanalysed catalogue was hashed for every part
        f", (SELECT json_agg(json_build_array(a.part_id, a.brand_code, a.part_code, a.description, st.id,"
        f" st.on_hand, st.reserved) ORDER BY a.part_id)::text FROM {through} t CROSS JOIN LATERAL"
        f" (SELECT * FROM {table} WHERE id = t.to_part_id LIMIT 1) a LEFT JOIN LATERAL"
        f" (SELECT id, on_hand, reserved FROM {Stock._meta.db_table} WHERE part_id = a.id AND department_id = %s"
        " LIMIT 1) st ON true WHERE t.from_part_id = p.id)"
        if with_alternatives
        else ""
    )
    fields = _loaded(Part, _CATALOGUE_DEFERRED)
    surcharge = (
        f"LEFT JOIN {Surcharge._meta.db_table} sc ON sc.dealer_id = p.dealer_id AND sc.order_type = %s"
        if order_type
        else ""
    )
    # Every table is reached by probing an index from the rows before it, never scanned: each seed is a
    # LATERAL lookup of one requested partId (or code) in the dealer's unique index, each step of a chain a
    # primary-key lookup of the successor a chain member names (each member carries it, so a current part
    # costs no lookup of its own), each part of the answer a primary-key lookup of a chain
    # member and each stock row one of the store's unique index. ``LIMIT 1`` (``OFFSET 0`` for a code, which
    # may name several parts) keeps each subquery a per-row probe: PostgreSQL does not flatten such a
    # subquery into a join it could hash, nor push the outer dealer condition into it. Written as plain joins
    # (``part_id = ANY(...)``, ``p.id = ANY(ARRAY(SELECT id FROM chain)) AND p.dealer_id = ...``) the plan
    # followed the statistics: on a catalogue never analysed (autovacuum off, or not yet run after an
    # import) PostgreSQL took ``dealer_id`` for selective and scanned the dealer's whole catalogue comparing
    # each part with every id of the basket (33 ms for 200 parts of 5,000), analysed it scanned the catalogue
    # for the seeds and every superseded part of the table at each step of the chains.
    # The requested ids reach ``unnest`` through a scalar subquery, and the chain reaches the outer query as an
    # array, so the planner does not know their lengths (it assumes 10): from a constant of 200 ids it
    # estimated 20,000 chain rows (ten steps of ten times the seeds), a cost above ``jit_above_cost``, and
    # PostgreSQL's JIT compiled the statement on every request (1.4 s). The plan is the same at every size.
    seeds = []
    params: list[Any] = []
    if part_ids:
        seeds.append(
            "SELECT s.id, s.superseded_by_id FROM unnest((SELECT %s::text[])) AS r(part_id) CROSS JOIN LATERAL"
            f" (SELECT id, superseded_by_id FROM {table} WHERE dealer_id = %s AND part_id = r.part_id LIMIT 1) s"
        )
        params += [part_ids, dealer_id]
    if codes:
        seeds.append(
            "SELECT s.id, s.superseded_by_id FROM unnest((SELECT %s::text[]), (SELECT %s::text[]))"
            " AS r(brand_code, part_code) CROSS JOIN LATERAL"
            f" (SELECT id, superseded_by_id FROM {table} WHERE dealer_id = %s AND brand_code = r.brand_code"
            " AND part_code = r.part_code OFFSET 0) s"
        )
        params += [[b for b, _ in codes], [c for _, c in codes], dealer_id]
    sql = (
        f"WITH RECURSIVE chain(id, next) AS ({' UNION '.join(seeds)}"
        " UNION SELECT n.id, n.superseded_by_id FROM chain c CROSS JOIN LATERAL"
        f"  (SELECT id, superseded_by_id FROM {table} WHERE id = c.next LIMIT 1) n WHERE c.next IS NOT NULL)"
        f" SELECT {_select_list(Part, 'p', _CATALOGUE_DEFERRED)}, s.id, s.on_hand, s.reserved"
        f"{', sc.percent, sc.fixed_net' if order_type else ''}{alternatives}"
        f" FROM unnest(ARRAY(SELECT id FROM chain)) AS k(id) CROSS JOIN LATERAL"
        f"  (SELECT * FROM {table} WHERE id = k.id LIMIT 1) p"
        f" LEFT JOIN LATERAL (SELECT id, on_hand, reserved FROM {Stock._meta.db_table}"
        "  WHERE part_id = p.id AND department_id = %s LIMIT 1) s ON true"
        f" {surcharge} WHERE p.dealer_id = %s"
    )
    if with_alternatives:
        params.append(store_id)
    params.append(store_id)
    if order_type:
        params.append(order_type)
    params.append(dealer_id)
    width, load = len(fields), _loader(Part, _CATALOGUE_DEFERRED)
    parts = []
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        listened = init_signals_listened(Part)
        for row in cursor.fetchall():
            part = load(row[:width], listened)
            part.stock_id, part.stock_on_hand, part.stock_reserved = row[width : width + 3]
            if order_type:
                part.surcharge_percent, part.surcharge_fixed_net = row[width + 3 : width + 5]
            if with_alternatives:
                part.alternative_rows = json.loads(row[-1]) if row[-1] is not None else []
            parts.append(part)
    return parts


def customers_with_discounts(*, dealer_id: int, customer_uuids: list[Any]) -> list[tuple[Customer, Any, Any, Any]]:
    """``selectors.customers_with_discounts``'s one query: each customer with each of its discounts (a LEFT
    JOIN), as (Customer, brand code, discount group, percent) rows."""
    fields = _loaded(Customer)
    sql = (
        f"SELECT {_select_list(Customer, 'c')}, d.brand_code, d.discount_group, d.percent"
        f" FROM {Customer._meta.db_table} c LEFT JOIN {CustomerDiscount._meta.db_table} d ON d.customer_id = c.id"
        " WHERE c.dealer_id = %s AND c.uuid = ANY(%s::uuid[])"
    )
    width = len(fields)
    with prepared_cursor() as cursor:
        cursor.execute(sql, [dealer_id, list(customer_uuids)])
        load, listened = _loader(Customer), init_signals_listened(Customer)
        return [(load(row[:width], listened), *row[width:]) for row in cursor.fetchall()]
