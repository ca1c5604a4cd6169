"""Django's PostgreSQL backend, with the health check skipped for a connection that answered a moment ago.

With ``CONN_HEALTH_CHECKS`` Django sends ``SELECT 1`` before the first query of every request (and every
Celery task) that reuses a connection, so that none fails on a connection the server dropped (a restart, an
idle timeout). That is a whole round trip each time: the read of one order is one query, so the check was
half of its database time. A connection that answered a query less than ``ORMA_DB_ALIVE_BYPASS_SECONDS``
ago (0.5 s, HikariCP's ``aliveBypassWindowMs``) is taken as alive without asking again; one idle for longer
is checked as before. What this gives up: when the server drops connections while requests keep arriving,
each worker's next request may fail (503) instead of being served on a fresh connection; Django closes the
broken connection at that request's end, and the next one connects anew. Requests arriving during a
restart fail either way.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    """Django's wrapper; it notes when the connection last answered a query, and trusts it for a moment."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.answered_at = float("-inf")
        self.execute_wrappers.append(self._note_answer)  # every query of every cursor passes through it

    def _note_answer(self, execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        result = execute(sql, params, many, context)
        self.answered_at = time.monotonic()
        return result

    def close_if_health_check_failed(self) -> None:
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and time.monotonic() - self.answered_at < settings.ORMA_DB_ALIVE_BYPASS_SECONDS
        ):
            self.health_check_done = True  # answered a moment ago: no round trip to ask again
            return
        super().close_if_health_check_failed()

    def connect(self) -> None:
        super().connect()
        self.answered_at = float("-inf")  # a new connection is healthy by Django's own rule; nothing noted yet
