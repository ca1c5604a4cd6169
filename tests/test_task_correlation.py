"""A task queued during a request carries the request's correlation id into the worker's log lines."""

from types import SimpleNamespace

from orma.celery import _adopt_correlation_id, _drop_correlation_id, _stamp_correlation_id
from orma.context import correlation_id_var, current_correlation_id


def test_publishing_a_task_stamps_the_requests_correlation_id():
    token = correlation_id_var.set("cid-42")
    headers: dict = {}
    try:
        _stamp_correlation_id(headers=headers)
    finally:
        correlation_id_var.reset(token)

    assert headers["correlation_id"] == "cid-42"


def test_a_worker_runs_the_task_under_the_stamped_id_and_forgets_it_after():
    task = SimpleNamespace(request=SimpleNamespace(is_eager=False, correlation_id="cid-42"))

    _adopt_correlation_id(task_id="t-1", task=task)
    during = current_correlation_id()
    _drop_correlation_id(task_id="t-1")

    assert during == "cid-42"
    assert current_correlation_id() is None


def test_a_forged_id_in_a_task_header_is_replaced():
    task = SimpleNamespace(request=SimpleNamespace(is_eager=False, correlation_id="bad\nid"))

    _adopt_correlation_id(task_id="t-2", task=task)
    during = current_correlation_id()
    _drop_correlation_id(task_id="t-2")

    assert during not in (None, "bad\nid")
