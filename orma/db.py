"""Cursors whose hot statements PostgreSQL prepares once per connection (:func:`prepared_cursor`).

Django binds parameters on the client with psycopg 3, so PostgreSQL parses, analyses and plans every
statement anew. For the few hand-written statements every create and read runs (the order's one INSERT of
77 columns, jobs, lines and history was ~0.6 ms of planning alone), a cursor that binds on the server lets
psycopg prepare a statement it has run five times (``prepare_threshold``) on the connection, and PostgreSQL
then skips parsing and, once it settles on a generic plan, planning. (The persistent connection's health
check: ``orma.postgresql``.)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections


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
    server_side = psycopg.Cursor(wrapper.connection)
    # as Django's create_cursor: the connection's time zone, when the connection's loader disagrees
    loader = wrapper.connection.adapters.get_loader(_timestamptz_oid(), psycopg.pq.Format.TEXT)
    if wrapper.timezone != loader.timezone:
        register_tzloader(wrapper.timezone, server_side)
    cursor = wrapper.make_debug_cursor(server_side) if wrapper.queries_logged else wrapper.make_cursor(server_side)
    with cursor:
        yield cursor


@cache
def _timestamptz_oid() -> int:
    import psycopg

    return psycopg.adapters.types["timestamptz"].oid
