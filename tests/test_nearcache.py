"""The near cache (orma.nearcache) and batched rate-limit counts (orma.api.counters.BatchedCounters):
a warm authenticated request makes no Redis round trip, and nothing a process holds outlives a change."""

from __future__ import annotations

import secrets
import time

import pytest

from orma import nearcache
from orma.api.access import failure_key_for_user, rate_key
from orma.api.counters import BatchedCounters, batched
from orma.cache import raw_key, redis_client
from tenancy.models import Partner
from tenancy.selectors import partner_cache_tag, partner_generation_cache_key
from tests.clients import basic_auth

pytestmark = [pytest.mark.redis, pytest.mark.urls("tests.probe_urls")]


def probe_url(department) -> str:
    return f"/order/v2/department/{department.uuid}/probe"


@pytest.fixture
def round_trips(monkeypatch, redis_round_trips):
    """Redis round trips of this process, with the rate-limit counts sent only when a batch is full."""
    monkeypatch.setattr(BatchedCounters, "FLUSH_SECONDS", 60.0)
    return redis_round_trips


def warm(api, department) -> None:
    """The first request loads the entries into Redis, the second keeps them in the process."""
    for _ in range(2):
        assert api.get(probe_url(department)).status_code == 200


def publish_from_another_process(*tags: str) -> None:
    """What another process's announcement puts on the channel (this process does not wait for it)."""
    redis_client().publish(nearcache.channel(), " ".join([secrets.token_hex(6), *tags]))


class TestWarmRequests:
    def test_a_warm_authenticated_request_makes_no_redis_round_trip(self, api, department, round_trips):
        warm(api, department)
        round_trips.update(single=0, pipeline=0)

        for _ in range(10):
            assert api.get(probe_url(department)).status_code == 200

        assert round_trips == {"single": 0, "pipeline": 0}

    def test_without_the_near_cache_every_request_is_one_round_trip(self, settings, api, department, round_trips):
        settings.ORMA_NEAR_CACHE = False
        warm(api, department)
        round_trips.update(single=0, pipeline=0)

        assert api.get(probe_url(department)).status_code == 200

        assert round_trips == {"single": 0, "pipeline": 1}  # lockout, credentials, grant, rate count

    def test_the_subscription_is_one_connection_of_its_own(self, api, department):
        warm(api, department)

        near = nearcache.near_cache()
        clients = [c for c in redis_client().client_list(_type="pubsub") if int(c["id"]) == near.client_id]
        assert [c["name"] for c in clients] == ["orma-near-cache"]

    def test_a_forked_child_subscribes_on_a_connection_of_its_own_and_holds_nothing_of_its_parent(
        self, api, department
    ):
        """gunicorn forks its workers after the app is loaded: a child must not read its parent's subscription
        (both would consume the same socket's announcements) nor serve what the parent held."""
        import os

        warm(api, department)
        near = nearcache.near_cache()
        parent_client = near.client_id
        assert near._entries
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: report and leave at once, without pytest's teardown
            try:
                held_before = bool(near._entries)
                alive = near.poll()
                os.write(write, f"{alive} {held_before} {bool(near._entries)} {near.client_id}".encode())
            finally:
                os._exit(0)
        os.close(write)
        answer = os.read(read, 200).decode().split()
        os.waitpid(pid, 0)
        os.close(read)
        assert answer[:3] == ["True", "True", "False"]  # the child polled: its parent's entries dropped
        assert int(answer[3]) != parent_client  # a subscription of its own
        assert near.poll() and near.client_id == parent_client  # the parent's is untouched


class TestChangesReachEveryProcess:
    def test_a_partner_deactivated_by_another_process_is_refused_on_the_next_request(self, api, department, partner):
        warm(api, department)
        # another process: the row, then a new generation, then the announcement (what the signals do there)
        Partner.objects.filter(pk=partner.pk).update(is_active=False)
        redis_client().set(raw_key(partner_generation_cache_key(partner.username)), '"renewed"')
        publish_from_another_process(partner_cache_tag(partner.username))

        assert api.get(probe_url(department)).status_code == 401

    def test_a_lockout_counted_by_another_process_refuses_the_right_secret(self, settings, anon, department, partner):
        header = basic_auth(partner.username, partner.secret)
        for _ in range(2):
            assert anon.get(probe_url(department), HTTP_AUTHORIZATION=header).status_code == 200
        key = failure_key_for_user(partner.username, "127.0.0.1")
        redis_client().set(raw_key(key), settings.ORMA_AUTH_FAIL_LIMIT_USERNAME, ex=60)
        publish_from_another_process(key)

        assert anon.get(probe_url(department), HTTP_AUTHORIZATION=header).status_code == 429

    def test_an_own_change_is_seen_without_waiting_for_the_channel(self, api, department, partner):
        warm(api, department)
        partner.is_active = False
        partner.save()  # the signal renews and announces, and waits for its own message to come back

        assert api.get(probe_url(department)).status_code == 401


class TestNothingStaleIsServed:
    def test_a_value_read_before_an_announcement_is_not_kept_after_it(self, db):
        near = nearcache.near_cache()
        assert near.poll()
        before = near.sequence
        nearcache.announce(["some-tag"])  # arrives while the value is on its way from Redis

        near.store({"some-key": 1}, tag="some-tag", sequence=before)
        assert near.get("some-key") is nearcache.MISSING

        near.store({"some-key": 1}, tag="some-tag", sequence=near.sequence)
        assert near.get("some-key") == 1
        publish_from_another_process("some-tag")
        time.sleep(0.05)
        assert near.poll()
        assert near.get("some-key") is nearcache.MISSING

    def test_a_lost_subscription_serves_nothing_until_it_is_back(self, monkeypatch, api, department, round_trips):
        warm(api, department)
        near = nearcache.near_cache()
        lost = near.client_id
        redis_client().client_kill_filter(_id=lost)
        time.sleep(0.05)
        round_trips.update(single=0, pipeline=0)

        assert api.get(probe_url(department)).status_code == 200
        assert round_trips["pipeline"] == 1  # read from Redis: what the process held is gone

        monkeypatch.setattr(nearcache, "RETRY_SECONDS", 0.0)
        near._retry_at = 0.0  # the next poll subscribes again
        warm(api, department)
        assert near.client_id != lost
        round_trips.update(single=0, pipeline=0)
        assert api.get(probe_url(department)).status_code == 200
        assert round_trips == {"single": 0, "pipeline": 0}

    def test_on_the_file_cache_there_is_no_near_cache(self, settings, tmp_path):
        settings.CACHES = {
            "default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(tmp_path)}
        }

        assert nearcache.near_cache() is None


class TestBatchedRateCounts:
    def test_one_process_is_exact_at_the_limit(self, settings, api, department, partner, round_trips):
        settings.ORMA_PARTNER_RATE_LIMIT = "40/minute"

        statuses = [api.get(probe_url(department)).status_code for _ in range(41)]

        assert statuses == [200] * 40 + [429]
        assert int(redis_client().get(raw_key(rate_key(partner.username, 60)))) == 41  # sent one by one near it

    def test_far_from_the_limit_hits_are_sent_in_batches(self, settings, api, department, partner, round_trips):
        settings.ORMA_RATE_LIMIT_BATCH = 16
        for _ in range(20):
            assert api.get(probe_url(department)).status_code == 200

        stored = int(redis_client().get(raw_key(rate_key(partner.username, 60))))
        assert 20 - 16 < stored <= 20
        assert api.get(probe_url(department))["RateLimit-Remaining"] == str(600 - 21)  # the process's own count

    def test_two_processes_overshoot_by_less_than_a_batch(self, settings, db):
        settings.ORMA_RATE_LIMIT_BATCH = 16
        first, second = BatchedCounters(), BatchedCounters()
        first.FLUSH_SECONDS = second.FLUSH_SECONDS = 60.0
        key = f"rate:test:{secrets.token_hex(4)}"

        admitted = sum(counter.hit(key, 60, 100)[0] <= 100 for _ in range(150) for counter in (first, second))

        assert 100 <= admitted < 100 + 16

    def test_a_batch_of_one_counts_every_hit_in_redis(self, settings, db):
        settings.ORMA_RATE_LIMIT_BATCH = 1
        key = f"rate:test:{secrets.token_hex(4)}"

        for _ in range(5):
            batched.hit(key, 60, 100)

        assert int(redis_client().get(raw_key(key))) == 5
