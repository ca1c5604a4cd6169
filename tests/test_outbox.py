"""The outbox mechanism (orma.outbox) on its own: backoff bounds, and a doorbell that never waits twice on a
dead broker. (Claims, leases and tokens are exercised on a real table in dms_adapters/tests/test_push.py.)"""

from __future__ import annotations

import pytest

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
