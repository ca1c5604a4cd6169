"""Persistent database connections: the health check skipped for a connection that answered a moment ago.

With ``CONN_HEALTH_CHECKS`` Django sends ``SELECT 1`` before the first query of every request that reuses a
connection, so that no request fails on a connection the server dropped (a restart, an idle timeout). That
is a whole round trip per request: the read of one order is one query, so the check was half of its
database time. A connection that answered a query less than ``ORMA_DB_ALIVE_BYPASS_SECONDS`` ago (0.5 s,
HikariCP's ``aliveBypassWindowMs``) is taken as alive without asking again; one idle for longer is checked
as before. What this gives up: when the server drops connections while requests keep arriving, each
worker's next request may fail (503) instead of being served on a fresh connection; Django closes the
broken connection at that request's end, and the next one reconnects. Requests arriving during a restart
fail either way.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.signals import request_started
from django.db import connections
from django.db.backends.signals import connection_created


def _note_answer(execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
    """An execute wrapper: the time of the connection's last answered query."""
    result = execute(sql, params, many, context)
    context["connection"].orma_answered_at = time.monotonic()
    return result


def watch_answers(sender: Any, connection: Any, **kwargs: Any) -> None:
    """``connection_created``: note each answered query of a connection that Django health-checks."""
    if connection.settings_dict.get("CONN_HEALTH_CHECKS") and _note_answer not in connection.execute_wrappers:
        connection.execute_wrappers.append(_note_answer)


def skip_recent_checks(**kwargs: Any) -> None:
    """``request_started``, after Django's own handler (which asks for a check on every reused connection):
    no check for a connection that answered within the bypass window."""
    window = settings.ORMA_DB_ALIVE_BYPASS_SECONDS
    if window <= 0:
        return
    now = time.monotonic()
    for connection in connections.all(initialized_only=True):
        if (
            connection.connection is not None
            and connection.health_check_enabled
            and not connection.health_check_done
            and now - getattr(connection, "orma_answered_at", -window) < window
        ):
            connection.health_check_done = True


def connect_signals() -> None:
    """Called from the app's ``ready()``: Django's ``close_old_connections`` is connected before, at import."""
    connection_created.connect(watch_answers, dispatch_uid="orma.db.watch_answers")
    request_started.connect(skip_recent_checks, dispatch_uid="orma.db.skip_recent_checks")
