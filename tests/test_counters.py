"""The windowed counters behind lockouts and rate limits, on whichever cache the run uses."""

import time

import pytest

from orma.api.counters import counters


def test_it_counts_hits_within_a_window():
    assert counters.hit("t:a", 60)[0] == 1
    count, seconds_left = counters.hit("t:a", 60)

    assert count == 2
    assert 1 <= seconds_left <= 60


def test_peek_does_not_count():
    counters.hit("t:b", 60)

    assert counters.peek(["t:b", "t:none"])["t:b"][0] == 1
    assert counters.peek(["t:b"])["t:b"][0] == 1
    assert counters.peek(["t:none"])["t:none"][0] == 0


def test_the_window_starts_at_the_first_hit_and_expires():
    counters.hit("t:c", 1)
    counters.hit("t:c", 1)
    time.sleep(1.2)

    assert counters.peek(["t:c"])["t:c"][0] == 0
    assert counters.hit("t:c", 1)[0] == 1


@pytest.mark.redis
def test_on_redis_a_hit_and_a_peek_are_one_round_trip_each(monkeypatch):
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
    counters.hit("t:d", 60)
    counters.peek(["t:d", "t:e"])

    assert calls == {"single": 0, "pipeline": 2}


@pytest.mark.redis
@pytest.mark.urls("tests.probe_urls")
def test_an_authenticated_request_is_one_redis_round_trip(monkeypatch, settings, api, department):
    """Without the near cache (tests/test_nearcache.py: a warm request then makes none)."""
    import redis
    from redis.client import Pipeline

    settings.ORMA_NEAR_CACHE = False
    assert api.get(f"/order/v2/department/{department.uuid}/probe").status_code == 200  # credentials now cached
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

    assert api.get(f"/order/v2/department/{department.uuid}/probe").status_code == 200

    # lockout counters + cached credentials + the rate-limit count, one pipeline
    assert calls == {"single": 0, "pipeline": 1}


def test_a_json_value_is_reached_by_djangos_own_delete_and_clear():
    from django.core.cache import cache

    from orma.cache import get_json, set_json

    set_json("t:json", {"a": [1, "b"]}, 60)
    assert get_json("t:json") == {"a": [1, "b"]}
    cache.delete("t:json")
    assert get_json("t:json") is None
    set_json("t:json", {"a": 1}, 60)
    cache.clear()
    assert get_json("t:json") is None
