"""Reachability of what OrMa depends on; shared by /readyz and ``orma_check``."""

from __future__ import annotations

from django.conf import settings
from django.db import connection


def database_status() -> str:
    """ "ok", or "down: <reason>"."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure to reach the database is "down", whatever the driver raises
        return f"down: {type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    return "ok"


def broker_status() -> str:
    """ "ok", "eager" (no broker configured: the embedded default), or "down: <reason>"."""
    url = settings.CELERY_BROKER_URL
    if not url:
        return "eager"
    from orma.celery import app

    try:
        with app.connection_for_write(url) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
    except Exception as exc:  # kombu raises transport-specific errors
        return f"down: {type(exc).__name__}: {exc}"
    return "ok"
