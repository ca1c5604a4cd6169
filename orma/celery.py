"""The Celery app: the doorbell of the outbox (``orma.outbox``), on Redis in production and on kombu's
filesystem transport in the embedded default (``orma/settings.py``); a real worker in both run modes."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import before_task_publish, task_postrun, task_prerun, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orma.settings")

app = Celery("orma")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

_CORRELATION_HEADER = "correlation_id"


@worker_init.connect
def _never_eager_in_a_worker(**_: Any) -> None:
    """A worker publishes what its tasks queue (the sweep rings one push task per due row): eager, it would
    run every push inside the sweep, one after the other. Eager mode is for the test process only."""
    app.conf.task_always_eager = False


@before_task_publish.connect
def _stamp_correlation_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    """Carry the request's correlation id into the task, so its log lines can be tied to the request."""
    from .context import current_correlation_id

    correlation_id = current_correlation_id()
    if headers is not None and correlation_id:
        headers[_CORRELATION_HEADER] = correlation_id


@task_prerun.connect
@task_postrun.connect
def _database_connections_as_a_request(task: Any = None, **_: Any) -> None:
    """A worker's task treats the database connections as Django treats a request's, at its start and end: kept
    within CONN_MAX_AGE, closed when obsolete or broken by an error (Celery's own fixup closed them around every
    task; ``CELERY_DB_REUSE_MAX`` in the settings keeps it from that)."""
    if task is None or task.request.is_eager:
        return  # an eager task runs inside a request (or a test), whose connection is not the task's to close
    from django.db import close_old_connections

    close_old_connections()


_task_tokens: dict[str, Any] = {}


@task_prerun.connect
def _adopt_correlation_id(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    from .context import accept_correlation_id, correlation_id_var

    if task is None or task.request.is_eager:
        return  # an eager task runs inside the request and already has its id
    correlation_id = accept_correlation_id(getattr(task.request, _CORRELATION_HEADER, None))
    if task_id:
        _task_tokens[task_id] = correlation_id_var.set(correlation_id)


@task_postrun.connect
def _drop_correlation_id(task_id: str | None = None, **_: Any) -> None:
    from .context import correlation_id_var

    token = _task_tokens.pop(task_id, None) if task_id else None
    if token is not None:
        correlation_id_var.reset(token)
