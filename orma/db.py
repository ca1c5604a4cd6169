"""Cursors whose hot statements PostgreSQL prepares once per connection (:func:`prepared_cursor`).

Django binds parameters on the client with psycopg 3, so PostgreSQL parses, analyses and plans every
statement anew. For the few hand-written statements every create and read runs (the order's one INSERT of
77 columns, jobs, lines and history was ~0.6 ms of planning alone), a cursor that binds on the server lets
psycopg prepare a statement it has run five times (``prepare_threshold``) on the connection, and PostgreSQL
then skips parsing and, once it settles on a generic plan, planning. Those cursors also keep psycopg's parse of
each statement's placeholders (:class:`_FixedTextQuery`). (The persistent connection's health check:
``orma.postgresql``.)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache, lru_cache
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models import signals
from django.db.models.base import ModelState

M = TypeVar("M", bound=models.Model)


@contextmanager
def prepared_cursor() -> Iterator[Any]:
    """A cursor of the default connection (PostgreSQL) binding on the server, so that its statements are
    prepared once run often; Django's wrapper is kept (the query log, the execute wrappers, its errors).

    One statement per ``execute`` (the extended protocol takes no ``;``-joined statements), ``%s`` or
    ``%(name)s`` placeholders as everywhere, and the statement's text must not vary between calls (each
    text is prepared apart, at most ``prepared_max`` per connection).
    """
    import psycopg
    from django.db.backends.postgresql.psycopg_any import register_tzloader

    wrapper = connections[DEFAULT_DB_ALIAS]
    # what Django's connection.cursor() does, without building the client-side cursor it would hand back
    wrapper.close_if_health_check_failed()
    wrapper.ensure_connection()
    wrapper.validate_thread_sharing()
    server_side = _fixed_text_cursor_class()(wrapper.connection)
    # as Django's create_cursor: the connection's time zone, when the connection's loader disagrees
    loader = wrapper.connection.adapters.get_loader(_timestamptz_oid(), psycopg.pq.Format.TEXT)
    if wrapper.timezone != loader.timezone:
        register_tzloader(wrapper.timezone, server_side)
    cursor = wrapper.make_debug_cursor(server_side) if wrapper.queries_logged else wrapper.make_cursor(server_side)
    with cursor:
        yield cursor


@cache
def _fixed_text_cursor_class() -> type:
    """psycopg's server-binding cursor, with :class:`_FixedTextQuery` converting its statements."""
    import psycopg

    try:  # psycopg's private module (pinned in constraints.txt; tests/test_db_connections.py notices a change)
        from psycopg._queries import PostgresQuery, _query2pg_nocache
    except ImportError:  # another layout: psycopg's own cursor, its own cache
        return psycopg.Cursor

    # psycopg caches the conversion of a statement's ``%s``/``%(name)s`` placeholders into ``$n`` only for statements
    # of at most 4 KiB and 50 parameters (psycopg._queries.MAX_CACHED_STATEMENT_LENGTH, against ORMs generating
    # endless variants of multi-row INSERTs). The order's INSERT (9 KiB, 90 parameters) was split anew on every
    # create: ~0.3 ms of CPU per create. The statements of these cursors are fixed texts, few of them (the
    # docstring of prepared_cursor), so every one is worth keeping.
    converted = lru_cache(maxsize=128)(_query2pg_nocache)

    class _FixedTextQuery(PostgresQuery):
        """psycopg's query, its placeholders' conversion kept per statement text whatever the statement's size."""

        __slots__ = ()

        def convert(self, query: Any, vars: Any) -> None:
            if vars is None or not isinstance(query, (str, bytes)):  # no placeholders, or a t-string Template
                super().convert(query, vars)
                return
            query = self._ensure_bytes(query)
            self.query, self._want_formats, self._order, self._parts = converted(query, self._tx.encoding)
            self.dump(vars)

    class FixedTextCursor(psycopg.Cursor):
        _query_cls = _FixedTextQuery
        conversions = converted  # (its cache_info() tells the tests)

    return FixedTextCursor


@cache
def _timestamptz_oid() -> int:
    import psycopg

    return psycopg.adapters.types["timestamptz"].oid


def insert_instance(instance: models.Model) -> None:
    """INSERT a new ``instance`` as ``save(force_insert=True)`` would (defaults, ``auto_now``, each value prepared
    by its field, ``pre_save`` and ``post_save`` sent), in one prepared statement compiled once per model; sets its
    primary key. Where that shortcut does not apply (not PostgreSQL, a parent model, an expression value),
    ``save()`` itself.

    For the rows every create writes beside its order (the DMS push): the ORM rebuilt the same INSERT each time.
    """
    model = type(instance)
    wrapper = connections[DEFAULT_DB_ALIAS]
    statement, fields = _insert_statement(model)
    if (
        wrapper.vendor != "postgresql"
        or model._meta.parents
        or instance.pk is not None
        # db_default, F(), a database function: only the compiler writes those
        or any(hasattr(getattr(instance, field.attname), "resolve_expression") for field in fields)
    ):
        instance.save(force_insert=True)
        return
    signals.pre_save.send(sender=model, instance=instance, raw=False, using=DEFAULT_DB_ALIAS, update_fields=None)
    values = insert_values(instance, fields)
    if values is None:  # a pre_save receiver set an expression: nothing here can write it
        raise TypeError(f"insert_instance cannot write an expression value of {model.__name__}; use save()")
    with prepared_cursor() as cursor:
        cursor.execute(statement, values)
        instance.pk = cursor.fetchone()[0]
    instance._state.adding = False
    instance._state.db = DEFAULT_DB_ALIAS
    signals.post_save.send(
        sender=model, instance=instance, created=True, update_fields=None, raw=False, using=DEFAULT_DB_ALIAS
    )


def insert_values(instance: models.Model, fields: tuple[models.Field, ...]) -> list[Any] | None:
    """The values Django's compiler passes to INSERT ``instance`` into ``fields``: each field's ``pre_save``
    (``auto_now``) made ready by ``get_db_prep_save``; None when one is an expression (only the compiler
    writes those)."""
    wrapper = connections[DEFAULT_DB_ALIAS]  # the connection itself: the proxy costs a lookup per attribute
    values = []
    for field in fields:
        value = field.pre_save(instance, add=True)
        if hasattr(value, "resolve_expression"):
            return None
        values.append(field.get_db_prep_save(value, connection=wrapper))
    return values


@cache
def _insert_statement(model: type[models.Model]) -> tuple[str, tuple[models.Field, ...]]:
    """The INSERT of one new row of ``model`` returning its primary key, as the compiler writes it for plain
    values, and the fields it takes (every local concrete one but the automatic key and generated columns)."""
    meta = model._meta
    wrapper = connections[DEFAULT_DB_ALIAS]
    quote = wrapper.ops.quote_name
    fields = tuple(
        field
        for field in meta.local_concrete_fields
        if field is not meta.auto_field and not getattr(field, "generated", False)
    )
    columns = ", ".join(quote(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    statement = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders}) RETURNING {quote(meta.pk.column)}"
    )
    return statement, fields


def init_signals_listened(model: type[models.Model]) -> bool:
    """Whether anyone listens to the model's ``pre_init`` or ``post_init`` (then only ``Model.__init__`` may build
    its instances: :func:`loaded_instance`)."""
    return signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model)


def loaded_instance(
    model: type[M],
    names: Sequence[str],
    values: Sequence[Any],
    *,
    listened: bool | None = None,
    alias: str = DEFAULT_DB_ALIAS,
) -> M:
    """``model.from_db(alias, names, values)``: an instance of a row read from the database, ``names`` in the
    order of the model's fields (as ``from_db`` takes them), the columns not in ``names`` deferred (loaded on
    access, as ``QuerySet.defer`` leaves them). Without init signals' listeners, what ``Model.__init__`` leaves
    behind is written straight into the instance: its per-field ``setattr`` through the field descriptors and its
    two signals were most of building a row's instance. ``listened``: the caller's :func:`init_signals_listened`,
    asked once for many rows; None asks it here."""
    if init_signals_listened(model) if listened is None else listened:
        return model.from_db(alias, list(names), list(values))
    instance = object.__new__(model)
    instance.__dict__.update(zip(names, values, strict=True))
    state = instance._state = ModelState()
    state.adding, state.db = False, alias
    return instance


def new_instance(model: type[M], **values: Any) -> M:
    """``model(**values)``, a new row not yet saved, without ``Model.__init__``'s walk over every field when no
    init signal is listened to: the fields' constant defaults copied in at once, the callable ones (``uuid4``,
    ``list``, ``now``) called, then ``values`` set through the model's attributes (a foreign key by its object or
    its ``_id``). For the rows every create makes (the order's 74 fields cost ~80 us in ``__init__``)."""
    if init_signals_listened(model):
        return model(**values)
    constants, callables, names = _defaults(model)
    if unknown := values.keys() - names:  # as Model.__init__ refuses them, not set as stray attributes
        raise TypeError(f"{model.__name__}() got unexpected keyword arguments: {', '.join(sorted(unknown))}")
    instance = object.__new__(model)
    instance._state = ModelState()  # adding, no database: a new row
    instance.__dict__.update(constants)
    for attname, default in callables:
        instance.__dict__[attname] = default()
    for name, value in values.items():
        setattr(instance, name, value)
    return instance


@cache
def _defaults(model: type[models.Model]) -> tuple[dict[str, Any], tuple[tuple[str, Any], ...], frozenset[str]]:
    """The model's fields' defaults as ``Model.__init__`` takes them (attname -> constant; (attname, what to call
    for each instance): a callable default, or a database default's fresh expression), and the names a value may
    be given by (each field's name and attname, the private fields, the properties)."""
    constants: dict[str, Any] = {}
    callables = []
    for field in model._meta.concrete_fields:
        if field.has_default() and callable(field.default):
            callables.append((field.attname, field.default))
        elif field.has_db_default():
            callables.append((field.attname, field.get_default))
        else:
            constants[field.attname] = field.get_default()
    meta = model._meta
    names = frozenset(
        [name for field in meta.concrete_fields for name in (field.name, field.attname)]
        + [field.name for field in meta.private_fields]
        + list(meta._property_names)  # a settable property, as Model.__init__ takes one too
    )
    return constants, tuple(callables), names
