"""Suite-wide test plumbing: CI strictness, service markers, a clean cache per test, and the fixtures every
app's tests share (a department, a partner holding every scope on it, API clients)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from io import StringIO

import pytest
from rest_framework.test import APIClient

# Every API response of every test is checked against the OpenAPI schema (tests/schema_conformance.py).
pytest_plugins = ["tests.schema_conformance"]

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# `make e2e` (tests/test_e2e*.py: the production shape, a minute of real processes) is a step of its own;
# `make test` does not collect it.
collect_ignore_glob = [] if os.environ.get("ORMA_E2E") == "1" else ["tests/test_e2e*.py"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    on_redis = "redis" in settings.CACHES["default"]["BACKEND"].lower()
    for item in items:
        if item.get_closest_marker("postgres") and not on_postgres:
            if IN_CI:
                item.add_marker(pytest.mark.xfail(reason="CI must run on PostgreSQL", strict=True, run=False))
            else:
                item.add_marker(pytest.mark.skip(reason="needs PostgreSQL (DATABASE_URL); runs in CI"))
        if item.get_closest_marker("redis") and not on_redis:
            if IN_CI:
                item.add_marker(pytest.mark.xfail(reason="CI must run with Redis", strict=True, run=False))
            else:
                item.add_marker(pytest.mark.skip(reason="needs Redis (CACHE_URL); runs in CI"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI a skipped (or not-run) test is a failure: a missing service must not pass silently."""
    if not IN_CI:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    skipped = reporter.stats.get("skipped", []) + reporter.stats.get("xfailed", [])
    if skipped:
        reporter.write_line(f"CI: {len(skipped)} test(s) skipped or not run; in CI that is a failure", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def _clean_cache() -> None:
    """Lockout counters, rate limits and cached credentials never leak from one test into another."""
    from django.core.cache import cache

    from orma import nearcache
    from orma.api.counters import batched

    cache.clear()
    nearcache.reset()  # what this process held of the cleared entries, and its unsent rate-limit hits
    batched.reset()


@pytest.fixture
def redis_round_trips(monkeypatch) -> dict[str, int]:
    """Counts what this process sends to Redis through redis-py: single commands and pipelines."""
    import redis
    from redis.client import Pipeline

    calls = {"single": 0, "pipeline": 0}
    single, execute = redis.Redis.execute_command, Pipeline.execute

    def count_single(self, *args, **kwargs):
        calls["single"] += 1
        return single(self, *args, **kwargs)

    def count_pipeline(self, *args, **kwargs):
        calls["pipeline"] += 1
        return execute(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "execute_command", count_single)
    monkeypatch.setattr(Pipeline, "execute", count_pipeline)
    return calls


@pytest.fixture
def department(db):
    from tenancy.tests.factories import DepartmentFactory

    return DepartmentFactory()


@pytest.fixture
def partner(department):
    from tenancy.tests.factories import partner_on

    return partner_on(department)


@pytest.fixture
def api(partner) -> APIClient:
    """An API client authenticated as ``partner`` (every scope on ``department``)."""
    from tests.clients import client_for

    return client_for(partner)


@pytest.fixture
def anon() -> APIClient:
    return APIClient()


@pytest.fixture
def run_json() -> Callable[..., dict]:
    """Run a support command with ``--json`` and answer what it printed, parsed."""
    from django.core.management import call_command

    def run(*args: str) -> dict:
        out = StringIO()
        call_command(*args, "--json", stdout=out)
        return json.loads(out.getvalue())

    return run
