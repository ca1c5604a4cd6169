"""Reachability of what OrMa depends on; shared by /readyz and ``orma_check``."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping

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
    """ "ok", or "down: <reason>": the filesystem broker's folders writable, any other broker connectable."""
    url = settings.CELERY_BROKER_URL
    if url.startswith("filesystem://"):
        return _folders_status(settings.CELERY_BROKER_TRANSPORT_OPTIONS)
    from orma.celery import app

    try:
        with app.connection_for_write(url) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
    except Exception as exc:  # kombu raises transport-specific errors
        return f"down: {type(exc).__name__}: {exc}"
    return "ok"


def _folders_status(transport_options: Mapping[str, object]) -> str:
    """Kombu's filesystem transport "connects" to anything: what can fail is writing a message file."""
    for name in ("data_folder_out", "data_folder_in", "control_folder"):
        folder = str(transport_options.get(name) or "")
        if not folder:
            return f"down: {name} is not set in CELERY_BROKER_TRANSPORT_OPTIONS"
        try:
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as exc:
            return f"down: {name} {folder!r} is not writable: {exc.strerror or exc}"
    return "ok"
