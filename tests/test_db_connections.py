"""Persistent connections (``orma.postgresql``): the health check skipped for a connection that answered a moment
ago, kept for one idle longer, and a dropped connection replaced either way."""

from __future__ import annotations

import time

import psycopg
import pytest
from django.core.signals import request_finished, request_started
from django.db import OperationalError, connection, connections
from django.test import override_settings

from orma.postgresql.base import DatabaseWrapper

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


class CountingChecks:
    """Counts Django's health checks (``is_usable``: the ``SELECT 1``) on the default connection."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        original = connection.is_usable

        def counted() -> bool:
            self.count += 1
            return original()

        monkeypatch.setattr(connection, "is_usable", counted)


def one_request() -> None:
    """What a request does to the connection: Django's signals around one query."""
    request_started.send(sender=None)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    request_finished.send(sender=None)


@pytest.fixture
def reused_connection() -> None:
    """A persistent, health-checked connection, as production has it, already open."""
    assert isinstance(connections["default"], DatabaseWrapper)  # what the settings name on PostgreSQL
    assert connection.settings_dict["CONN_HEALTH_CHECKS"]
    connection.ensure_connection()
    yield
    connection.close()


@pytest.mark.usefixtures("reused_connection")
def test_a_connection_that_answered_within_the_window_is_not_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    one_request()
    checks = CountingChecks(monkeypatch)
    for _ in range(5):
        one_request()
    assert checks.count == 0


@pytest.mark.usefixtures("reused_connection")
@override_settings(ORMA_DB_ALIVE_BYPASS_SECONDS=0.05)
def test_a_connection_idle_longer_than_the_window_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    one_request()
    checks = CountingChecks(monkeypatch)
    time.sleep(0.06)
    one_request()
    assert checks.count == 1
    one_request()  # it has just answered again
    assert checks.count == 1


@pytest.mark.usefixtures("reused_connection")
@override_settings(ORMA_DB_ALIVE_BYPASS_SECONDS=0)
def test_a_window_of_zero_checks_every_request(monkeypatch: pytest.MonkeyPatch) -> None:
    one_request()
    checks = CountingChecks(monkeypatch)
    for _ in range(3):
        one_request()
    assert checks.count == 3


def _drop_the_connection() -> None:
    """The server ends this connection's session, as a restart or an idle timeout does."""
    backend_pid = connection.connection.info.backend_pid
    params = connection.get_connection_params()
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [backend_pid])
    time.sleep(0.05)


@pytest.mark.usefixtures("reused_connection")
@override_settings(ORMA_DB_ALIVE_BYPASS_SECONDS=0.05)
def test_a_dropped_connection_idle_past_the_window_is_replaced_before_the_request_uses_it() -> None:
    one_request()
    _drop_the_connection()
    time.sleep(0.06)
    one_request()  # the check finds it dead and Django connects anew: no error


@pytest.mark.usefixtures("reused_connection")
@override_settings(ORMA_DB_ALIVE_BYPASS_SECONDS=60)
def test_a_dropped_connection_within_the_window_fails_one_request_and_the_next_reconnects() -> None:
    one_request()
    _drop_the_connection()
    request_started.send(sender=None)
    with pytest.raises(OperationalError):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    request_finished.send(sender=None)  # Django closes a connection that failed
    one_request()


def test_insert_instance_stores_what_save_stores(department):
    """``orma.db.insert_instance`` (the prepared INSERT a create writes its DMS push with) against ``save()``."""
    import datetime as dt

    from dms_adapters.models import DmsPush
    from orders.models import RepairOrder
    from orders.tests.factories import CustomerFactory
    from orma.db import insert_instance

    customer = CustomerFactory(dealer=department.dealer)
    instant = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)
    first, second = (
        RepairOrder.objects.create(
            department=department, customer=customer, order_number=number, created_instant=instant, document={}
        )
        for number in ("RO-1", "RO-2")
    )
    pushes = []
    for repair_order, write in ((first, insert_instance), (second, lambda push: push.save(force_insert=True))):
        push = DmsPush(dealer=repair_order.department.dealer, repair_order=repair_order, version=4)
        write(push)
        assert push.pk is not None and not push._state.adding
        pushes.append(push)
    volatile = {"id", "repair_order_id", "dealer_id", "next_attempt_at", "pending_since", "created_at", "updated_at"}
    stored = [
        {k: v for k, v in DmsPush.objects.filter(pk=push.pk).values().get().items() if k not in volatile}
        for push in pushes
    ]
    assert stored[0] == stored[1]
    assert DmsPush.objects.get(pk=pushes[0].pk).created_at is not None  # auto_now_add applied


@pytest.mark.django_db
def test_statements_are_never_jit_compiled():
    """A statement whose estimate runs high (a table not yet analysed) was once JIT-compiled for 1.4 s."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


def test_a_prepared_cursor_keeps_the_conversion_of_a_long_statement():
    """psycopg converts the placeholders of a statement over 4 KiB or 50 parameters anew on every run; the cursors
    of ``orma.db.prepared_cursor`` (the order's 9 KiB INSERT) keep it, and still bind each run's own values."""
    from orma.db import prepared_cursor

    columns = ", ".join(f"%s::int AS c{n}" for n in range(90))
    statement = f"SELECT {columns} /* {'x' * 4096} */"
    with prepared_cursor() as cursor:
        conversions = type(cursor.cursor).conversions
        assert len(statement) > 4096
        before = conversions.cache_info()
        answers = []
        for run in range(3):
            cursor.execute(statement, [run * 100 + n for n in range(90)])
            answers.append(cursor.fetchone())
        after = conversions.cache_info()
    assert answers == [tuple(run * 100 + n for n in range(90)) for run in range(3)]
    assert after.misses - before.misses <= 1  # converted once (or earlier, by another test)
    assert after.hits - before.hits >= 2
