"""Webhook delivery by real components (issue 10): gunicorn serving the API, the webhooks worker (Celery, thread
pool, ``-Q webhooks``), the DMS worker and beat on a private ``redis-server``, PostgreSQL, and the partner's
endpoint on 127.0.0.1 (``receiver.Receiver``). No mock of HTTP or of Celery.

The clock runs for real with the knobs turned down (a lease of a few seconds, a sweep every second, a
retry schedule of fractions of a second); every wait polls for an asserted state with a bound.
"""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from django.db import connection

from notifications.models import Delivery, DeliveryStatus, PayloadForm
from notifications.tests.factories import SubscriptionFactory
from notifications.tests.receiver import Receiver, Reply
from orders.tests.factories import CustomerFactory, minimal_body, orders_url
from orma.events import EventType
from tenancy.tests.factories import DepartmentFactory, partner_on
from tests.processes import (
    CeleryBeat,
    CeleryWorker,
    RedisServer,
    WebServer,
    child_env,
    database_url,
    stop_all,
    wait_until,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

KNOBS = {
    "ORMA_WEBHOOK_ALLOW_PRIVATE": 1,
    "ORMA_WEBHOOK_LEASE_SECONDS": 4,
    "ORMA_WEBHOOK_TIMEOUT_SECONDS": 2,
    "ORMA_WEBHOOK_SWEEP_SECONDS": 1,
    "ORMA_WEBHOOK_RETRY_SCHEDULE": "0.1,0.2,0.3,0.5,0.5,0.5,0.5,0.5,0.5",
    "ORMA_DMS_SWEEP_SECONDS": 1,
}


@dataclass
class System:
    redis: RedisServer
    env: dict[str, str]
    beat: CeleryBeat
    webhooks: CeleryWorker
    dms: CeleryWorker | None
    web: WebServer

    def processes(self) -> list[Any]:
        return [p for p in (self.web, self.webhooks, self.dms, self.beat, self.redis) if p is not None]

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} ---\n{p.log_tail(100)}" for p in self.processes())


@pytest.fixture
def system() -> Iterator[Callable[..., System]]:
    """``system(webhooks=True, dms=False, threads=16, **knobs)``: the processes a test asks for, stopped at the end."""
    started: list[System] = []

    def start(*, webhooks: bool = True, dms: bool = False, threads: int = 16, **knobs: Any) -> System:
        redis = RedisServer()
        env = child_env(
            database_url=database_url(connection.settings_dict),
            broker_url=redis.url(0),
            ORMA_CELERY_DIR=str(redis.log_dir / "celery"),
            **{**KNOBS, **knobs},
        )
        redis.start()
        current = System(
            redis,
            env,
            beat=CeleryBeat(env),
            webhooks=CeleryWorker(env, pool="threads", concurrency=threads, queues="webhooks"),
            dms=CeleryWorker(env, concurrency=1) if dms else None,
            web=WebServer(env),
        )
        started.append(current)
        wanted = [current.beat, current.web, *([current.webhooks] if webhooks else []), current.dms]
        wanted = [p for p in wanted if p is not None]
        for process in wanted:
            process.spawn()
        for process in wanted:
            process.wait_ready()
        return current

    try:
        yield start
    finally:
        for current in started:
            stop_all([p for p in current.processes() if p is not current.redis])
            current.redis.stop()
            print(current.logs())  # noqa: T201  (shown when the test failed)
            for process in current.processes():
                process.close()


@pytest.fixture
def endpoint() -> Iterator[Receiver]:
    with Receiver() as receiver:
        yield receiver


@dataclass
class Shop:
    """A department with a customer, a partner speaking to the live API, and its subscription."""

    department: Any
    customer: Any
    auth: tuple[str, str]
    partner: Any
    base_url: str = ""
    created: int = 0
    local: threading.local = field(default_factory=threading.local)

    @property
    def session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        return self.local.session

    def subscribe(self, url: str, types: list[str], **fields: Any) -> Any:
        return SubscriptionFactory(
            partner=self.partner, departments=[self.department], url=url, event_types=types, **fields
        )

    def create(self, number: str | None = None, **fields: Any) -> str:
        self.created += 1
        body = minimal_body(self.customer, number=number or f"RO-{self.created}")
        body["order"]["header"].update(fields)
        response = self.session.put(self.base_url + orders_url(self.department), json=body, auth=self.auth, timeout=30)
        assert response.status_code == 201, response.text
        return response.json()["orderUUID"]

    def update(self, order_uuid: str, number: str) -> None:
        url = f"{self.base_url}{orders_url(self.department)}/{order_uuid}"
        body = minimal_body(self.customer, number=number)
        response = self.session.put(url, json=body, auth=self.auth, timeout=30)
        assert response.status_code == 200, response.text


@pytest.fixture
def shop() -> Shop:
    department = DepartmentFactory()
    partner = partner_on(department)
    return Shop(department, CustomerFactory(dealer=department.dealer), (partner.username, partner.secret), partner)


def delivered(count: int, **filters: Any) -> Callable[[], bool]:
    return lambda: Delivery.objects.filter(status=DeliveryStatus.DELIVERED, **filters).count() >= count


def successes(endpoint: Receiver) -> list[Any]:
    return endpoint.answered(200)


class TestEndToEnd:
    def test_created_synced_and_rejected_arrive_through_the_api_and_the_sandbox_dms(self, system, shop, endpoint):
        running = system(dms=True)
        shop.base_url = running.web.base_url
        shop.subscribe(
            endpoint.url,
            [EventType.ORDER_CREATED, EventType.ORDER_DMS_SYNCED, EventType.ORDER_DMS_REJECTED],
            payload_form=PayloadForm.FULL,
        )

        synced_uuid = shop.create("RO-OK")
        rejected_uuid = shop.create("RO-NO", advisorNumber="UNKNOWN-7")  # the sandbox knows no such advisor
        wait_until(lambda: len(successes(endpoint)) >= 4, timeout=30, what="4 notifications")

        by_order = defaultdict(list)
        for request in successes(endpoint):
            by_order[request.payload["data"]["orderUUID"]].append(request.payload)
        assert [p["type"] for p in by_order[synced_uuid]] == ["order.created", "order.dms_synced"]
        assert [p["type"] for p in by_order[rejected_uuid]] == ["order.created", "order.dms_rejected"]
        created = by_order[synced_uuid][0]
        assert created["departmentUUID"] == str(shop.department.uuid)
        assert created["data"]["order"]["orderUUID"] == synced_uuid  # the full form: the order as GET answers it
        synced = by_order[synced_uuid][1]["data"]
        assert synced["dms"]["status"] == "SYNCED" and synced["dms"]["orderNumber"]
        rejected = by_order[rejected_uuid][1]["data"]
        assert rejected["dms"]["status"] == "REJECTED"
        assert [e["errorCode"] for e in rejected["errors"]] == ["UNKNOWN_ADVISOR"]


class TestOrdering:
    def test_100_orders_5_updates_each_random_5xx_arrive_in_version_order(self, system, shop, endpoint):
        running = system()
        shop.base_url = running.web.base_url
        shop.subscribe(endpoint.url, [EventType.ORDER_CREATED, EventType.ORDER_UPDATED], payload_form=PayloadForm.THIN)
        chance = random.Random(10)
        lock = threading.Lock()

        def flaky(request: Any) -> Reply:
            with lock:
                return Reply(503) if chance.random() < 0.3 else Reply(200)

        endpoint.script = flaky

        def one_order(n: int) -> str:
            order_uuid = shop.create(f"RO-{n}")
            for version in range(2, 7):
                shop.update(order_uuid, f"RO-{n}-v{version}")
            return order_uuid

        with ThreadPoolExecutor(max_workers=4) as pool:
            order_uuids = list(pool.map(one_order, range(100)))
        wait_until(delivered(600), timeout=120, interval=0.2, what="600 deliveries")

        seen: dict[str, list[int]] = defaultdict(list)
        for request in endpoint.requests:  # every request, failed ones included, in arrival order
            data = request.payload["data"]
            seen[data["orderUUID"]].append(data["version"])
        inversions = sum(
            1
            for versions in seen.values()
            for before, after in zip(versions, versions[1:], strict=False)
            if after < before
        )
        assert inversions == 0
        delivered_versions = defaultdict(list)
        for request in successes(endpoint):
            data = request.payload["data"]
            delivered_versions[data["orderUUID"]].append(data["version"])
        assert {u: sorted(set(v)) for u, v in delivered_versions.items()} == {
            u: [1, 2, 3, 4, 5, 6] for u in order_uuids
        }
        assert len(endpoint.answered(503)) > 50  # the receiver did fail at random

    def test_a_hanging_order_does_not_delay_the_others(self, system, shop, endpoint):
        running = system(ORMA_WEBHOOK_TIMEOUT_SECONDS=30, ORMA_WEBHOOK_LEASE_SECONDS=40)
        shop.base_url = running.web.base_url
        shop.subscribe(endpoint.url, [EventType.ORDER_CREATED, EventType.ORDER_UPDATED], payload_form=PayloadForm.THIN)
        hanging_uuid = shop.create("RO-HANG")
        endpoint.script = lambda r: Reply(hang=True) if r.payload["data"]["orderUUID"] == hanging_uuid else Reply()
        shop.update(hanging_uuid, "RO-HANG-2")  # waits behind the hanging delivery of version 1
        # the first delivery of the hanging order may have gone out before the script changed: make sure it hangs
        wait_until(
            lambda: (
                any(r.status is None and r.payload["data"]["orderUUID"] == hanging_uuid for r in endpoint.requests)
                or Delivery.objects.filter(
                    subject_key=f"order:{hanging_uuid}", status=DeliveryStatus.DELIVERED
                ).exists()
            ),
            timeout=10,
            what="the hanging order's delivery at the endpoint",
        )

        others = [shop.create(f"RO-{n}") for n in range(20)]
        wait_until(
            lambda: {r.payload["data"]["orderUUID"] for r in successes(endpoint)} >= set(others),
            timeout=20,
            what="the other orders delivered while one hangs",
        )
        held = Delivery.objects.filter(subject_key=f"order:{hanging_uuid}").order_by("pk")
        statuses = [d.status for d in held]
        assert DeliveryStatus.DELIVERED not in statuses[1:]  # version 2 still waits for version 1
        endpoint.release()
        wait_until(delivered(2, subject_key=f"order:{hanging_uuid}"), timeout=20, what="the hanging order delivered")


class TestFailuresOfTheEndpointAndOfOrMa:
    def test_endpoint_down_for_a_burst_of_100_then_up_delivers_all_with_duplicates_only_by_webhook_id(
        self, system, shop
    ):
        # retries over ~20 s: the endpoint comes back well before any delivery runs out of attempts
        running = system(ORMA_WEBHOOK_RETRY_SCHEDULE="0.5,1,2,3,3,3,3,3,3")
        shop.base_url = running.web.base_url
        down = Receiver()
        port = down.port
        down.stop()  # nothing listens: connections are refused
        shop.subscribe(f"http://127.0.0.1:{port}/hook", [EventType.ORDER_CREATED], payload_form=PayloadForm.THIN)

        order_uuids = [shop.create(f"RO-{n}") for n in range(100)]
        wait_until(
            lambda: Delivery.objects.filter(attempts__gte=2).count() >= 100, timeout=30, what="every delivery retried"
        )
        assert Delivery.objects.filter(status=DeliveryStatus.DELIVERED).count() == 0
        with Receiver(port=port) as endpoint:
            wait_until(delivered(100), timeout=60, interval=0.2, what="all 100 delivered once the endpoint is up")
            assert Delivery.objects.filter(status=DeliveryStatus.FAILED).count() == 0
            by_id: dict[str, set[str]] = defaultdict(set)
            for request in successes(endpoint):
                by_id[request.webhook_id].add(request.payload["data"]["orderUUID"])
        assert all(len(orders) == 1 for orders in by_id.values())  # a repeat carries the same webhook-id
        assert {next(iter(orders)) for orders in by_id.values()} == set(order_uuids)
        assert set(by_id) == {d.webhook_id for d in Delivery.objects.all()}

    def test_a_worker_killed_mid_delivery_is_completed_by_a_new_worker(self, system, shop, endpoint):
        running = system(ORMA_WEBHOOK_TIMEOUT_SECONDS=3, ORMA_WEBHOOK_LEASE_SECONDS=5)
        shop.base_url = running.web.base_url
        subscription = shop.subscribe(endpoint.url, [EventType.ORDER_CREATED], payload_form=PayloadForm.THIN)
        endpoint.script = lambda request: Reply(hang=True) if request.number == 1 else Reply()

        shop.create("RO-KILL")
        wait_until(lambda: endpoint.requests, timeout=10, what="the held delivery")
        [held] = Delivery.objects.filter(subscription=subscription)
        assert held.status == DeliveryStatus.SENDING
        running.webhooks.kill()  # SIGKILL mid-request
        endpoint.release()
        running.webhooks.start()
        wait_until(delivered(1), timeout=30, what="the delivery completed by the new worker")

        assert {r.webhook_id for r in endpoint.requests} == {held.webhook_id}
        assert len(endpoint.requests) == 2

    def test_a_wiped_broker_loses_none_of_50_queued_deliveries(self, system, shop, endpoint):
        running = system(webhooks=False)
        shop.base_url = running.web.base_url
        shop.subscribe(endpoint.url, [EventType.ORDER_CREATED], payload_form=PayloadForm.THIN)
        for n in range(50):
            shop.create(f"RO-{n}")
        # the web server's publisher thread rings after the response: wait for the last doorbell to land
        wait_until(lambda: running.redis.queued("webhooks") >= 50, timeout=10, what="50 doorbells queued")
        running.redis.flushall()
        assert running.redis.queued("webhooks") == 0

        running.webhooks.start()
        wait_until(delivered(50), timeout=60, interval=0.2, what="all 50 delivered after the wipe")
        assert len({r.webhook_id for r in successes(endpoint)}) == 50

    def test_the_cap_of_requests_in_flight_holds_with_16_threads_racing(self, system, shop, endpoint):
        running = system(ORMA_WEBHOOK_MAX_IN_FLIGHT=3, threads=16)
        shop.base_url = running.web.base_url
        shop.subscribe(endpoint.url, [EventType.ORDER_CREATED], payload_form=PayloadForm.THIN)
        endpoint.script = lambda request: Reply(delay=0.3)

        for n in range(40):
            shop.create(f"RO-{n}")
        wait_until(delivered(40), timeout=60, interval=0.2, what="all 40 delivered")
        assert 2 <= endpoint.max_concurrent <= 3


class TestTheWorkersConnections:
    def test_the_workers_tasks_keep_their_database_connections(self, system, shop, endpoint):
        """Celery's Django fixup closed a task's connections before and after every task: each push and each
        delivery paid a new PostgreSQL session (and lost its prepared statements). They keep theirs now, within
        CONN_MAX_AGE, as a request does (``orma.celery``, ``CELERY_DB_REUSE_MAX``)."""
        from dms_adapters.models import DmsPush
        from orma.outbox import OutboxStatus

        running = system(dms=True, threads=2)
        shop.base_url = running.web.base_url
        shop.subscribe(endpoint.url, [EventType.ORDER_CREATED], payload_form=PayloadForm.THIN)
        shop.create("RO-warm")  # every thread and process opens its connection
        wait_until(delivered(1), timeout=30, what="the warm-up delivered")

        def sessions() -> int:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_stat_clear_snapshot()")
                cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
                return int(cursor.fetchone()[0])

        before = sessions()
        for n in range(30):
            shop.create(f"RO-{n}")
        wait_until(delivered(31), timeout=60, interval=0.2, what="all 31 delivered")
        synced = lambda: DmsPush.objects.filter(status=OutboxStatus.SYNCED).count() >= 31  # noqa: E731
        wait_until(synced, timeout=60, interval=0.2, what="all 31 pushed")
        time.sleep(1.5)  # a session's count reaches the statistics within a second (at its end at the latest)
        opened = sessions() - before

        # 60 tasks (30 pushes, 30 deliveries) and the sweeps: one session each before; now at most one per thread
        # and process whose connection reached CONN_MAX_AGE or broke, and none here
        assert opened <= 5, opened
