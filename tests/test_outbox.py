"""The outbox mechanism (orma.outbox) on its own: backoff bounds, and a doorbell that never waits twice on a
dead broker. (Claims, leases and tokens are exercised on a real table in dms_adapters/tests/test_push.py.)"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import transaction

from orma import outbox


class Task:
    """A stand-in for a Celery task's publishing side: counts publishes, fails while told to."""

    name = "test.task"

    def __init__(self, failing: bool) -> None:
        self.failing = failing
        self.published: list[list[int]] = []

    def apply_async(self, args: list[int], retry: bool) -> None:
        assert retry is False  # a publish must not retry in the request
        if self.failing:
            raise ConnectionError("broker down")
        self.published.append(args)


@pytest.fixture(autouse=True)
def _broker_well(monkeypatch):
    monkeypatch.setattr(outbox, "_publish_paused_until", 0.0)


@pytest.mark.parametrize("attempt", [1, 2, 5, 10, 30])
def test_a_retry_waits_between_half_and_all_of_its_exponential_ceiling(attempt):
    ceiling = min(3600.0, 5.0 * 2 ** (attempt - 1))
    delays = [outbox.retry_delay(attempt) for _ in range(200)]
    assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
    assert len(set(delays)) > 1  # jitter: not every row comes back at the same instant


def test_a_retry_never_comes_before_the_peers_retry_after():
    assert all(outbox.retry_delay(1, retry_after=90) >= 90 for _ in range(50))


def test_after_a_failed_publish_the_process_skips_publishing_for_a_while(monkeypatch):
    # the first publish reads the clock twice (is it paused? then: pause from now), the others once
    clock = iter([100.0, 100.0, 101.0, 100.0 + outbox.PUBLISH_PAUSE_SECONDS + 1]).__next__
    monkeypatch.setattr(outbox.time, "monotonic", clock)
    dead = Task(failing=True)

    outbox._publish(dead, 1)  # fails: the pause starts
    dead.failing = False
    outbox._publish(dead, 2)  # within the pause: not even tried
    assert dead.published == []
    outbox._publish(dead, 3)  # after the pause: published again
    assert dead.published == [[3]]


@pytest.mark.django_db
def test_ringing_publishes_once_the_transaction_commits(django_capture_on_commit_callbacks):
    task = Task(failing=False)
    with django_capture_on_commit_callbacks(execute=True):
        outbox.ring(task, 7)
        assert task.published == []
    assert task.published == [[7]]


class _Conf:
    def __init__(self, eager: bool) -> None:
        self.task_always_eager = eager


class _App:
    """A stand-in Celery app: eager or not (a real broker)."""

    def __init__(self, eager: bool) -> None:
        self.conf = _Conf(eager)


class AppTask(Task):
    """A stand-in task of a Celery app; remembers the thread each publish ran in."""

    def __init__(self, eager: bool) -> None:
        super().__init__(failing=False)
        self.app = _App(eager)
        self.threads: list[str] = []

    def apply_async(self, args: list[int], retry: bool) -> None:
        self.threads.append(threading.current_thread().name)
        super().apply_async(args, retry)


@pytest.fixture
def no_broker_connection(monkeypatch):
    monkeypatch.setattr(outbox, "_connect_at_once", lambda task: None)


@pytest.mark.django_db(transaction=True)
class TestDoorbellsOffTheRequestThread:
    def test_with_a_real_broker_the_publisher_thread_publishes_after_commit(self, no_broker_connection):
        task = AppTask(eager=False)
        with transaction.atomic():
            for row_id in (3, 1, 2):
                outbox.ring(task, row_id)
            assert task.published == []
        assert outbox._publisher.drain(5.0)
        assert task.published == [[3], [1], [2]]
        assert set(task.threads) == {"outbox-doorbells"}

    def test_a_transaction_hands_its_doorbells_over_once(self, no_broker_connection, monkeypatch):
        handed: list[list[tuple[object, int]]] = []
        monkeypatch.setattr(outbox, "_hand_over", handed.append)
        task = AppTask(eager=False)
        with transaction.atomic():
            outbox.ring(task, 1)
            outbox.ring(task, 2)
        with transaction.atomic():
            outbox.ring(task, 3)
        assert handed == [[(task, 1), (task, 2)], [(task, 3)]]

    def test_a_rolled_back_transaction_rings_nothing(self, no_broker_connection):
        task = AppTask(eager=False)
        with pytest.raises(RuntimeError), transaction.atomic():
            outbox.ring(task, 1)
            raise RuntimeError
        with transaction.atomic():
            outbox.ring(task, 2)
        assert outbox._publisher.drain(5.0)
        assert task.published == [[2]]

    def test_eager_celery_publishes_in_the_committing_thread(self, no_broker_connection):
        task = AppTask(eager=True)
        with transaction.atomic():
            outbox.ring(task, 5)
        assert task.published == [[5]] and task.threads == [threading.current_thread().name]

    def test_the_thread_can_be_switched_off(self, no_broker_connection, settings):
        settings.ORMA_OUTBOX_DOORBELL_THREAD = False
        task = AppTask(eager=False)
        with transaction.atomic():
            outbox.ring(task, 6)
        assert task.published == [[6]] and task.threads == [threading.current_thread().name]

    def test_a_dead_broker_pauses_the_publisher_thread_too(self, no_broker_connection):
        task = AppTask(eager=False)
        task.failing = True
        outbox.ring(task, 1)  # outside a transaction: handed over at once
        assert outbox._publisher.drain(5.0)
        assert outbox._publish_paused_until > time.monotonic()
        task.failing = False
        outbox.ring(task, 2)  # within the pause: not even tried; the sweep will ring for it
        assert outbox._publisher.drain(5.0)
        assert task.published == []
