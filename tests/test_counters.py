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
def test_on_redis_a_hit_and_a_peek_are_one_round_trip_each(redis_round_trips):
    counters.hit("t:d", 60)
    counters.peek(["t:d", "t:e"])

    assert redis_round_trips == {"single": 0, "pipeline": 2}


# An authenticated request's round trips: tests/test_nearcache.py (none once warm, one without the near cache).


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
