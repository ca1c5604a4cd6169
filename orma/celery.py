"""The Celery app. Without CELERY_BROKER_URL tasks run eagerly, in-process (the embedded default)."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import before_task_publish, task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orma.settings")

app = Celery("orma")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

_CORRELATION_HEADER = "correlation_id"


@before_task_publish.connect
def _stamp_correlation_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    """Carry the request's correlation id into the task, so its log lines can be tied to the request."""
    from .context import current_correlation_id

    correlation_id = current_correlation_id()
    if headers is not None and correlation_id:
        headers[_CORRELATION_HEADER] = correlation_id


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
