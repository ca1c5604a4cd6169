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
from typing import Any

from django.db import connection as default_connection


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

    with default_connection.cursor() as cursor:  # Django's checks, connection and wrapper
        client_side, server_side = cursor.cursor, psycopg.Cursor(default_connection.connection)
        # as Django's create_cursor: the connection's time zone, when the connection's loader disagrees
        loader = default_connection.connection.adapters.get_loader(
            psycopg.adapters.types["timestamptz"].oid, psycopg.pq.Format.TEXT
        )
        if default_connection.timezone != loader.timezone:
            register_tzloader(default_connection.timezone, server_side)
        cursor.cursor = server_side
        client_side.close()
        yield cursor
