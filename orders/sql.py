"""Hand-written SQL of the orders app, PostgreSQL only: the repair-order write path's locks and line tables.

Why by hand: a create of seed 001's sample spent most of its time in round trips (18 statements) and in
Django building seven INSERTs of wide models (a 77-column header, lines of up to 20 columns). Here a new
order's header, every job and line (from one JSON parameter each, ``jsonb_to_recordset``) and its history
row are ONE statement; the ±30-day rule is serialised per (department, order number) with a
transaction-level advisory lock instead of the department row, so creates of different numbers in one
department no longer wait for each other, and the lock and the rule's lookup share one round trip.

Each function here has an ORM twin that SQLite (the embedded default) keeps using:
:func:`lock_numbers_and_find_window` <-> ``services._lock_department`` + ``validation.repair_order_window_check``,
:func:`insert_order` <-> ``RepairOrder.save`` + ``persistence.write_lines`` + ``services._record_history``,
:func:`write_lines` <-> ``persistence.write_lines``, :func:`delete_lines` <-> ``persistence.delete_lines``. A test
(``orders/tests/test_sql.py``) feeds the same orders through both and compares the stored rows and GET bodies.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from decimal import Decimal
from functools import cache
from typing import Any, NamedTuple
from uuid import UUID

from django.db import connection, models
from django.db.models.sql import InsertQuery
from django.utils import timezone

from orma.db import insert_values, loaded_instance, prepared_cursor

from .models import Customer, Job, MlsLine, OrderHistory, OrderReference, RepairOrder, Vehicle
from .persistence import JOB_LISTS, job_columns, line_columns


def on_postgresql() -> bool:
    """Whether the write path takes the hand-written statements of this module (else the ORM's)."""
    return connection.vendor == "postgresql"


# --- the ±30-day rule's lock ---------------------------------------------------------------------

# The key of (department, number): PostgreSQL's own 64-bit text hash, seeded with the department, so that
# the same number in two departments are two locks. A collision only makes two numbers wait for each other.
_LOCK_NUMBERS = """
SELECT count(pg_advisory_xact_lock(key)) FROM (
    SELECT DISTINCT hashtextextended(number, %s) AS key FROM unnest(%s::text[]) AS number ORDER BY key
) AS keys
"""


def lock_order_numbers(department_id: int, numbers: Iterable[str]) -> None:
    """Serialise the writers of these order numbers of one department until the transaction ends.

    The ±30-day rule is checked under this lock, in a later statement (under READ COMMITTED a statement sees
    what committed before it started, so the check must not share the lock's statement). Several numbers (an
    update that renumbers takes the old and the new one) are locked in the order of their keys, in one
    statement: two renumbers crossing each other's numbers take them in the same order and cannot deadlock.
    """
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_NUMBERS, [department_id, sorted(set(numbers))])


# The ±30-day rule's candidates (orders.selectors.repair_order_conflict's query): one range scan of ro_window.
_WINDOW = """
SELECT "uuid", "created_instant" FROM "orders_repairorder"
WHERE "department_id" = %s AND "order_number" = %s AND "created_instant" >= %s AND "created_instant" <= %s
AND "id" IS DISTINCT FROM %s
"""


def lock_numbers_and_find_window(
    department_id: int,
    numbers: Iterable[str],
    *,
    order_number: str,
    bounds: tuple[dt.datetime, dt.datetime],
    exclude_id: int | None,
) -> list[tuple[Any, dt.datetime]]:
    """:func:`lock_order_numbers`, then the (uuid, created_instant) of the department's orders of
    ``order_number`` within ``bounds`` (but ``exclude_id``): the candidates of the ±30-day rule.

    Two statements in one round trip where the cursor binds on the client (Django's default with psycopg 3):
    PostgreSQL runs them one after the other and gives the second a snapshot of its own, taken once the
    lock is held, so it sees every order a writer that held the lock before committed. Otherwise two trips.
    """
    lock = [department_id, sorted(set(numbers))]
    window = [department_id, order_number, *bounds, exclude_id]
    with connection.cursor() as cursor:
        if _binds_on_client(cursor):
            cursor.execute(_LOCK_NUMBERS + ";" + _WINDOW, lock + window)
            cursor.nextset()
        else:
            cursor.execute(_LOCK_NUMBERS, lock)
            cursor.execute(_WINDOW, window)
        return cursor.fetchall()


def _binds_on_client(cursor: Any) -> bool:
    import psycopg

    return isinstance(cursor.cursor, psycopg.ClientCursor)


# --- the line tables -----------------------------------------------------------------------------


def _json_value(value: Any) -> Any:
    """A normalised value as jsonb_to_recordset reads it back into its column's type (exact decimals)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a column value")


def _record_columns(model: type[models.Model], fixed: tuple[str, ...]) -> list[models.Field]:
    return [
        field
        for field in model._meta.concrete_fields
        if not field.primary_key and field.column not in fixed and not field.is_relation
    ]


def _select_list(fields: list[models.Field]) -> tuple[str, str, str]:
    """The INSERT's column list, the SELECT's values (text columns "" when absent, as the ORM writes them)
    and the recordset's column definitions, for these fields."""
    names = ", ".join(f'"{field.column}"' for field in fields)
    values = ", ".join(
        f"""COALESCE(x."{field.column}", '')"""
        if isinstance(field, models.CharField | models.TextField)
        else f'x."{field.column}"'
        for field in fields
    )
    definitions = ", ".join(f'"{field.column}" {field.db_type(connection)}' for field in fields)
    return names, values, definitions


@cache
def _write_lines_sql() -> str:
    """One statement writing an order's jobs (their ids come back to the lines through a CTE), every list
    of each job, the mls lines and the references."""
    return "WITH " + _lines_ctes() + "\nSELECT count(*) FROM jobs"


def _lines_ctes() -> str:
    """The CTEs of :func:`_write_lines_sql`: ``%(order)s`` is the order's id, the other parameters the JSON
    arrays of :func:`_lines_parameters`."""
    job_fields = _record_columns(Job, ("position",))
    names, values, definitions = _select_list(job_fields)
    parts = [
        f"""jobs AS (
    INSERT INTO "{Job._meta.db_table}" ("repair_order_id", "position", {names})
    SELECT %(order)s, x."position", {values}
    FROM jsonb_to_recordset(%(jobs)s::jsonb) AS x("position" integer, {definitions})
    RETURNING "id", "position"
)"""
    ]
    for list_name, model in JOB_LISTS:
        names, values, definitions = _select_list(_record_columns(model, ("position",)))
        parts.append(
            f"""{list_name} AS (
    INSERT INTO "{model._meta.db_table}" ("job_id", "position", {names})
    SELECT jobs."id", x."position", {values}
    FROM jsonb_to_recordset(%({list_name})s::jsonb) AS x("job" integer, "position" integer, {definitions})
    JOIN jobs ON jobs."position" = x."job"
)"""
        )
    names, values, definitions = _select_list(_record_columns(MlsLine, ("position",)))
    parts.append(
        f"""mls AS (
    INSERT INTO "{MlsLine._meta.db_table}" ("repair_order_id", "job_id", "position", {names})
    SELECT %(order)s, jobs."id", x."position", {values}
    FROM jsonb_to_recordset(%(mls)s::jsonb) AS x("job" integer, "position" integer, {definitions})
    LEFT JOIN jobs ON jobs."position" = x."job"
)"""
    )
    parts.append(
        f"""refs AS (
    INSERT INTO "{OrderReference._meta.db_table}" ("repair_order_id", "position", "type", "value")
    SELECT %(order)s, x."position", x."type", COALESCE(x."value", '')
    FROM jsonb_to_recordset(%(references)s::jsonb) AS x("position" integer, "type" text, "value" text)
)"""
    )
    return ",\n".join(parts)


def _dumps(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, default=_json_value, separators=(",", ":"))


def write_lines(repair_order: RepairOrder, order: dict[str, Any]) -> None:
    """Insert the order's jobs, their lines, its mls lines and references: one statement whatever the size."""
    parameters = {**_lines_parameters(order), "order": repair_order.pk}
    with prepared_cursor() as cursor:
        cursor.execute(_write_lines_sql(), parameters)


def _lines_parameters(order: dict[str, Any]) -> dict[str, str]:
    """The order's jobs, each list's lines, mls lines and references as one JSON array each (a line names
    its job by position)."""
    job_dicts = order.get("jobs", [])
    lists: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in JOB_LISTS}
    mls = [
        {"job": None, "position": position, **line_columns(MlsLine, line)}
        for position, line in enumerate(order.get("mls", ()))
    ]
    jobs = []
    for job_position, job in enumerate(job_dicts):
        jobs.append({"position": job_position, **job_columns(job)})
        for list_name, model in JOB_LISTS:
            lists[list_name].extend(
                {"job": job_position, "position": position, **line_columns(model, line)}
                for position, line in enumerate(job.get(list_name, ()))
            )
        mls.extend(
            {"job": job_position, "position": position, **line_columns(MlsLine, line)}
            for position, line in enumerate(job.get("mls", ()))
        )
    references = [
        {"position": position, "type": ref["type"], "value": ref["value"]}
        for position, ref in enumerate(order.get("references", ()))
    ]
    parameters = {name: _dumps(rows) for name, rows in lists.items()}
    parameters.update(jobs=_dumps(jobs), mls=_dumps(mls), references=_dumps(references))
    return parameters


_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _positional(text: str) -> tuple[str, list[str]]:
    """``text`` with its named placeholders made positional (to follow the header INSERT's), and their names."""
    names: list[str] = []

    def placeholder(match: re.Match[str]) -> str:
        names.append(match.group(1))
        return "%s"

    return _PLACEHOLDER.sub(placeholder, text), names


@cache
def _create_tail_sql() -> tuple[str, list[str]]:
    """What follows the header's INSERT (the CTE ``ro``) in :func:`insert_order`: the lines and the history row."""
    lines = _lines_ctes().replace("%(order)s", '(SELECT "id" FROM ro)')
    # Each value cast to its column's type: bound on the server, a NULL (no partner, no user) arrives untyped,
    # and an untyped value in a SELECT list would be taken as text.
    typed = {
        name: f"%({name})s::{OrderHistory._meta.get_field(name).cast_db_type(connection)}"
        for name in ("version", "channel", "partner", "user", "actor", "at", "changes", "correlation_id")
    }
    history = f"""history AS (
    INSERT INTO "{OrderHistory._meta.db_table}"
        ("repair_order_id", "version", "channel", "partner_id", "user_id", "actor", "at", "changes", "correlation_id")
    SELECT "id", {typed["version"]}, {typed["channel"]}, {typed["partner"]}, {typed["user"]}, {typed["actor"]},
        {typed["at"]}, {typed["changes"]}, {typed["correlation_id"]}
    FROM ro
)"""
    return _positional(lines + ",\n" + history + '\nSELECT "id" FROM ro')


@cache
def _header_insert() -> tuple[str, tuple[models.Field, ...]]:
    """The header's INSERT as Django's compiler writes it, and its fields: the same text for every order (its
    placeholders are all ``%s``), so compiling it per create (~1 ms of a create's Python) bought nothing."""
    meta = RepairOrder._meta
    fields = tuple(field for field in meta.local_concrete_fields if field is not meta.pk)
    query = InsertQuery(RepairOrder)
    query.insert_values(list(fields), [RepairOrder()])
    [(statement, _)] = query.get_compiler(connection=connection).as_sql()
    return statement, fields


def insert_order(repair_order: RepairOrder, order: dict[str, Any], history: dict[str, Any]) -> None:
    """Insert a new order: its header, jobs, lines, references and its history row (``history``: version,
    channel, partner, user, actor, changes, correlation_id) in ONE statement; sets the order's primary key.

    The header's INSERT is Django's own (compiled once: :func:`_header_insert`), its 77 values prepared as
    ``save()`` would (``auto_now`` included), wrapped as the first CTE; the rest refer to its id.
    """
    header_sql, fields = _header_insert()
    header_parameters = insert_values(repair_order, fields)
    if header_parameters is None:  # a value is an expression: the compiler writes its SQL
        query = InsertQuery(RepairOrder)
        query.insert_values(list(fields), [repair_order])
        [(header_sql, header_parameters)] = query.get_compiler(connection=connection).as_sql()
    tail, names = _create_tail_sql()
    values = {
        **_lines_parameters(order),
        **history,
        "at": timezone.now(),
        "changes": json.dumps(history["changes"]),
    }
    with prepared_cursor() as cursor:
        cursor.execute(
            f'WITH ro AS ({header_sql} RETURNING "id"),\n{tail}',
            [*header_parameters, *(values[name] for name in names)],
        )
        repair_order.pk = cursor.fetchone()[0]
    repair_order._state.adding = False
    repair_order._state.db = connection.alias


@cache
def _delete_lines_sql() -> str:
    """One statement removing an order's lines, jobs and references (the foreign keys are checked at commit:
    Django makes them DEFERRABLE INITIALLY DEFERRED, so the order of the deletes within it does not matter)."""
    parts = [
        f"""d_{name} AS (DELETE FROM "{model._meta.db_table}" WHERE "job_id" IN (SELECT "id" FROM jobs))"""
        for name, model in JOB_LISTS
    ]
    jobs_table = Job._meta.db_table
    return (
        f"""WITH jobs AS (SELECT "id" FROM "{jobs_table}" WHERE "repair_order_id" = %(order)s),\n"""
        + ",\n".join(parts)
        + f""",\nd_mls AS (DELETE FROM "{MlsLine._meta.db_table}" WHERE "repair_order_id" = %(order)s),"""
        + f"""\nd_refs AS (DELETE FROM "{OrderReference._meta.db_table}" WHERE "repair_order_id" = %(order)s)"""
        + f"""\nDELETE FROM "{jobs_table}" WHERE "repair_order_id" = %(order)s"""
    )


def delete_lines(repair_order: RepairOrder) -> None:
    """Remove the order's lines, jobs and references: one statement whatever the order's size."""
    with prepared_cursor() as cursor:
        cursor.execute(_delete_lines_sql(), {"order": repair_order.pk})


# --- the read of one order -----------------------------------------------------------------------


def _iso(column: str) -> str:
    """SQL writing a timestamp column as Python's ``isoformat()`` writes the UTC datetime Django loads: six digits
    of microseconds unless they are zero, then ``+00:00``."""
    utc = f"""("{column}" AT TIME ZONE 'UTC')"""
    return (
        f"""to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS') || CASE to_char({utc}, 'US') WHEN '000000' THEN ''"""
        f""" ELSE '.' || to_char({utc}, 'US') END || '+00:00'"""
    )


# What GET answers, and nothing else, all of it as text PostgreSQL writes: the stored document and the DMS errors
# as their JSON text (spliced into the answer as they are, never decoded), and the members the read appends to the
# document (identity, version, timestamps, DMS state) as one JSON fragment. Loading the timestamps and the UUID
# as Python values only to format them again, and encoding the fragment, were a sixth of a read. One index probe
# on the uuid.
#
# to_json() of a text escapes exactly what json.dumps(ensure_ascii=False) escapes (quote, backslash, C0 controls
# as \b \f \n \r \t or \u00xx), so the fragment is what orders.api.representations.order_representation renders.
#
# The row is found by its uuid's unique index, then checked to be the department's: MATERIALIZED keeps the planner
# from folding the two conditions together. Folded, the generic plan of this prepared statement (planned without
# the values, on a table not yet analysed) chose a department index and filtered the department's orders one by
# one for the uuid: a read slowed with every order the department took (1,500 orders: 0.38 ms, 125 pages).
_READ = f"""
WITH o AS MATERIALIZED (
    SELECT "department_id", "uuid", "version", "document", "created_at", "updated_at", "dms_status",
        "dms_order_number", "dms_errors", "dms_synced_at"
    FROM "orders_repairorder" WHERE "uuid" = %s::uuid
)
SELECT "uuid"::text, "version", "document"::text,
    '"orderUUID":"' || "uuid"::text || '","version":' || "version"
    || ',"createdAt":"' || {_iso("created_at")} || '","updatedAt":"' || {_iso("updated_at")}
    || '","dms":{{"status":' || to_json("dms_status")::text
    || ',"orderNumber":' || COALESCE(to_json(NULLIF("dms_order_number", ''))::text, 'null')
    || ',"errors":' || "dms_errors"::text
    || ',"syncedAt":' || COALESCE('"' || {_iso("dms_synced_at")} || '"', 'null') || '}}'
FROM o WHERE "department_id" = %s
"""


class StoredOrder(NamedTuple):
    """One order as the read path fetches it: its document's JSON text and the JSON members the read adds."""

    uuid: str
    version: int
    document: str
    members: str  # "orderUUID", "version", "createdAt", "updatedAt", "dms", as JSON members (no braces)


def read_order(department_id: int, order_uuid: UUID | str) -> StoredOrder | None:
    """The order of the department named ``order_uuid`` as the read answers it, or None: one statement,
    no model built (the ORM's compilation of the query alone cost more than PostgreSQL's answer)."""
    with prepared_cursor() as cursor:
        cursor.execute(_READ, [str(order_uuid), department_id])
        row = cursor.fetchone()
    return None if row is None else StoredOrder(*row)


# --- the customer and the vehicle a body names ---------------------------------------------------


@cache
def _customer_and_vehicle_sql() -> tuple[str, list[str], list[str]]:
    """The statement of :func:`customer_and_vehicle`, and the attnames of a customer's and a vehicle's columns."""
    customer_columns = [(field.attname, field.column) for field in Customer._meta.concrete_fields]
    vehicle_columns = [(field.attname, field.column) for field in Vehicle._meta.concrete_fields]
    customer_fields = [name for name, _ in customer_columns]
    vehicle_fields = [name for name, _ in vehicle_columns]
    columns = ", ".join(
        [f'c."{column}"' for _, column in customer_columns]
        + [f'v."{column}"' for _, column in vehicle_columns]
        + [f'o."{column}"' for _, column in customer_columns]
    )
    customers, vehicles = Customer._meta.db_table, Vehicle._meta.db_table
    # Each row found by its uuid's unique index (MATERIALIZED, as in _READ), then checked to be the dealer's.
    statement = f"""
WITH c AS MATERIALIZED (SELECT * FROM "{customers}" WHERE "uuid" = %(customer)s::uuid),
v AS MATERIALIZED (SELECT * FROM "{vehicles}" WHERE "uuid" = %(vehicle)s::uuid)
SELECT {columns} FROM (SELECT 1) AS one
LEFT JOIN c ON c."dealer_id" = %(dealer)s
LEFT JOIN v ON v."dealer_id" = %(dealer)s
LEFT JOIN "{customers}" AS o ON o."id" = v."customer_id"
"""
    return statement, customer_fields, vehicle_fields


def customer_and_vehicle(
    dealer_id: int, customer_uuid: UUID | str, vehicle_uuid: UUID | str
) -> tuple[Customer | None, Vehicle | None]:
    """The dealer's customer and vehicle (with its owner loaded) of these uuids, each None when the dealer has
    none such: one statement where ``customer_get`` and ``vehicle_get`` were two ORM queries (their
    compilation cost a create more than PostgreSQL's answers)."""
    statement, customer_fields, vehicle_fields = _customer_and_vehicle_sql()
    with prepared_cursor() as cursor:
        cursor.execute(statement, {"dealer": dealer_id, "customer": str(customer_uuid), "vehicle": str(vehicle_uuid)})
        row = cursor.fetchone()
    n, m = len(customer_fields), len(vehicle_fields)
    customer = _model_from_row(Customer, customer_fields, row[:n])
    vehicle = _model_from_row(Vehicle, vehicle_fields, row[n : n + m])
    if vehicle is not None:
        # as select_related("customer") leaves it: the owner, or None cached so that reading it costs nothing
        Vehicle.customer.field.set_cached_value(vehicle, _model_from_row(Customer, customer_fields, row[n + m :]))
    return customer, vehicle


def _model_from_row(model: type[models.Model], names: list[str], values: tuple[Any, ...]) -> Any:
    """The model instance of these column values as the ORM would load it, None when the join found no row
    (its primary key is NULL). Their types need no conversion on PostgreSQL (no JSON, no custom field)."""
    if values[names.index("id")] is None:
        return None
    return loaded_instance(model, names, values, alias=connection.alias)
