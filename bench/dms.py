"""Benchmark: the DMS push on the outbox (issue 9), with real processes and a loopback DMS.

What is measured
    PostgreSQL, a private ``redis-server`` on a free port (broker and cache), ``celery -A orma worker``
    with ``--workers`` (2) prefork processes and one ``celery beat`` (the production sweep, every 5 s unless
    ``--sweep``), gunicorn with 2 sync workers for the HTTP creates, all with ``DEBUG=0``. One dealer's DMS
    is a loopback myKaarma DMS in this process: it checks each body with the strict test peer's seed 001
    rules (``dms_adapters.tests.peer.seed_001_problems``), answers seed 001's envelope, and de-duplicates on
    ``Idempotency-Key`` with a dictionary. (The test peer itself scans every order it holds per request, so
    at 10,000 orders it would measure itself.) In one run, in this order:

    1. What the outbox adds to a create, in-process (Django's test client, same settings and database, no
       worker running): ``--creates`` (300) creates of seed 001's sample per round, ``--rounds`` (3)
       rounds, alternately with the DMS receiver subscribed (the push row in the order's transaction, the
       doorbell published on commit) and unsubscribed; and, timed around the receiver and the commit's
       hand-over of the doorbells, the outbox's own time on each create's thread (the publish on the outbox's
       publisher thread runs beside the next request and is not counted). Goal: that time's p99 <= 2 ms (the
       difference of the two modes' p99s is reported too: on a busy machine it is mostly noise).
    2. Pushes per second: ``--pushes`` (2,000) pending orders (copies of one created order, by one
       ``INSERT ... SELECT``), each with its doorbell queued, then the worker starts; from the first
       attempt to the last SYNCED.
    3. Create -> SYNCED: creates over HTTP at ``--rate`` (20) per second for ``--latency-seconds`` (10),
       Poisson arrivals (``bench.common.run_open_loop``), the worker and beat running; from each order's
       ``created_at`` to its ``dms_synced_at`` (both written by the database's clients on this machine).
       Goals: p50 < 200 ms, p99 < 1 s.
    4. Drain: ``--drain`` (10,000) pending orders with no doorbell at all (as after a wiped broker), then
       the worker starts: the sweep finds them; the time until the last is SYNCED.

    After each of 2-4: every order is at the DMS exactly once (0 missing, 0 created twice there).

How to run
    .venv/bin/python bench/dms.py [--workers 2] [--creates 300] [--rounds 3] [--pushes 2000] [--rate 20]
                                  [--latency-seconds 10] [--drain 10000] [--sweep 5] [--keep-db] [--strict]

    Needs PostgreSQL (the database ``orma_dms_bench`` on 127.0.0.1:5432 unless ``DATABASE_URL`` names
    another whose name contains "bench"; dropped and recreated, dropped at the end unless ``--keep-db``)
    and ``redis-server`` on PATH. Nothing else on the machine is touched: every process it starts is
    stopped by its process group. Results: ``bench/results/dms.json``; logs in ``bench/results/``.

Exit status: 0 the figures were measured (each goal reported met or missed; ``--strict``: 1 when one is
missed), 2 the benchmark could not run (the message says why).
"""

from __future__ import annotations

import argparse
import base64
import http.server
import json
import os
import platform
import re
import secrets
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402
from bench.common import BenchError, GunicornServer  # noqa: E402
from tests.processes import (  # noqa: E402
    CeleryBeat,
    CeleryWorker,
    ProcessStartError,
    RedisServer,
    insert_pending_orders,
    stop_all,
)

DATABASE_NAME = "orma_dms_bench"
RATE_LIMIT = "100000000/minute"  # the limiter counts every request but never refuses one
SCOPES = ("order.create", "order.read")
SAMPLE = common.REPO_ROOT / "orders" / "tests" / "data" / "seed001_sample.json"
VIN = "WVWZZZ1JZXW000001"
DMS_USER, DMS_PASSWORD = "bench-dms", "bench-dms-secret"
MYKAARMA_PATH = re.compile(r"^/order/v2/department/(?P<department>[^/]+)/order(?:/(?P<order>[^/]+))?$")

GOAL_OUTBOX_P99_MS = 2.0
GOAL_SYNC_P50_MS = 200.0
GOAL_SYNC_P99_MS = 1000.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes (default 2)")
    parser.add_argument("--creates", type=int, default=300, help="in-process creates per mode and round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the in-process comparison")
    parser.add_argument("--pushes", type=int, default=2000, help="orders of the throughput run")
    parser.add_argument("--rate", type=float, default=20.0, help="HTTP creates per second of the latency run")
    parser.add_argument("--latency-seconds", type=float, default=10.0, help="length of the latency run")
    parser.add_argument("--drain", type=int, default=10_000, help="pending orders of the drain run")
    parser.add_argument("--sweep", type=int, default=5, help="seconds between sweeps (production: 5)")
    parser.add_argument("--keep-db", action="store_true", help="keep the database at the end")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal is missed")
    return parser.parse_args(argv)


# --- the loopback DMS ------------------------------------------------------------------------------


@dataclass
class LoopbackDms:
    """A myKaarma DMS on 127.0.0.1 (seed 001's create and update), strict about bodies, fast at any size.

    It keeps, per OrMa order (the ``Idempotency-Key``'s UUID), the DMS order it made and how many times it
    was *created* there: a repeated create with a known key writes to the same DMS order (as the test peer).
    """

    problems: list[str] = field(default_factory=list)
    created: Counter[str] = field(default_factory=Counter)
    dms_orders: dict[str, str] = field(default_factory=dict)
    requests: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: http.server.ThreadingHTTPServer | None = None

    def answer(self, path: str, authorization: str | None, key: str | None, body: bytes) -> tuple[int, dict[str, Any]]:
        """Seed 001's answer to a PUT: (status, envelope)."""
        from dms_adapters.tests.peer import seed_001_problems

        match = MYKAARMA_PATH.match(path)
        if match is None or authorization != self.expected_authorization:
            return (404 if match is None else 401), {"errors": [{"errorCode": "REFUSED"}], "statusCode": 401}
        problems = seed_001_problems(json.loads(body))
        partner_order = (key or "").rpartition(":")[0]
        with self._lock:
            self.requests += 1
            if problems or not partner_order:
                self.problems.append(f"{path}: {problems or 'no Idempotency-Key'}")
                return 400, {"errors": [{"errorCode": "FIELD_INVALID"}], "statusCode": 400}
            known = self.dms_orders.get(partner_order)
            status = 200
            if match["order"] is None and known is None:
                known = self.dms_orders[partner_order] = str(uuid.uuid4())
                self.created[partner_order] += 1
                status = 201
        return status, {"errors": [], "warnings": [], "orderUUID": known, "statusCode": status}

    @property
    def expected_authorization(self) -> str:
        return "Basic " + base64.b64encode(f"{DMS_USER}:{DMS_PASSWORD}".encode()).decode()

    def start(self) -> None:
        dms = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_PUT(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, envelope = dms.answer(
                    self.path, self.headers.get("Authorization"), self.headers.get("Idempotency-Key"), body
                )
                payload = json.dumps(envelope).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def check(self, order_uuids: list[str], what: str) -> dict[str, int]:
        """0 missing, 0 created twice, no refused body: else :class:`BenchError`."""
        with self._lock:
            counts = Counter(self.created.get(order_uuid, 0) for order_uuid in order_uuids)
            problems = list(self.problems)
        missing, doubled = counts.get(0, 0), sum(n for times, n in counts.items() if times > 1)
        if missing or doubled or problems:
            raise BenchError(f"{what}: {missing} missing, {doubled} created twice at the DMS; {problems[:3]}")
        return {"missing": missing, "created_twice": doubled}


# --- the data ----------------------------------------------------------------------------------


@dataclass
class Fixture:
    username: str
    secret: str
    dealer_id: int
    department_uuid: str
    customer_uuid: str
    vehicle_uuid: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": common.basic_auth(self.username, self.secret)}

    @property
    def orders_path(self) -> str:
        return f"/order/v2/department/{self.department_uuid}/order"

    def body(self, order_number: str) -> bytes:
        text = SAMPLE.read_text().replace("{customer_uuid}", self.customer_uuid)
        body = json.loads(text.replace("{vehicle_uuid}", self.vehicle_uuid))
        body["order"]["header"]["orderNumber"] = order_number
        return json.dumps(body, separators=(",", ":")).encode()


def create_fixture(dms: LoopbackDms) -> Fixture:
    """A dealer whose DMS is the loopback one, a department, a customer, a vehicle and a partner."""
    from orders import services
    from tenancy.choices import DmsKind
    from tenancy.services import GrantSpec, dealer_create, department_create, partner_create

    dealer = dealer_create(
        name="Autohaus DMS Bench",
        dms_kind=DmsKind.MYKAARMA,
        dms_base_url=dms.base_url,
        dms_username=DMS_USER,
        dms_password=DMS_PASSWORD,
    )
    department = department_create(dealer=dealer, name="Service")
    customer = services.customer_create(dealer=dealer, data={"givenName": "Max", "familyName": "Muster"})
    vehicle = services.vehicle_create(dealer=dealer, data={"vin": VIN, "model": "Golf"}, customer=customer, brand="VW")
    username = f"dms-bench-{secrets.token_hex(4)}"
    _, secret = partner_create(name="DMS Bench Partner", username=username, grants=[GrantSpec(department.uuid, SCOPES)])
    return Fixture(username, secret, dealer.id, str(department.uuid), str(customer.uuid), str(vehicle.uuid))


def _pushes(prefix: str) -> Any:
    from dms_adapters.models import DmsPush

    return DmsPush.objects.filter(repair_order__order_number__startswith=prefix)


def wait_synced(prefix: str, count: int, *, timeout: float, what: str) -> None:
    """Wait until the ``count`` orders numbered ``prefix``… are SYNCED (a cheap count, four times a second:
    the database is the one the workers use)."""
    from orma.outbox import OutboxStatus

    deadline = time.monotonic() + timeout
    while (done := _pushes(prefix).filter(status=OutboxStatus.SYNCED).count()) < count:
        if time.monotonic() > deadline:
            raise BenchError(f"{what}: {done} of {count} SYNCED after {timeout:.0f} s")
        time.sleep(0.25)


def synced_span(prefix: str, since: datetime | None = None) -> float:
    """Seconds from ``since`` (default: the first attempt's start) to the last SYNCED of the orders numbered
    ``prefix``…, as the workers recorded them."""
    from django.db.models import Max, Min

    from dms_adapters.models import DmsAttempt
    from orders.models import RepairOrder

    if since is None:
        attempts = DmsAttempt.objects.filter(push__repair_order__order_number__startswith=prefix)
        since = attempts.aggregate(t=Min("started_at"))["t"]
    last = RepairOrder.objects.filter(order_number__startswith=prefix).aggregate(t=Max("dms_synced_at"))["t"]
    return (last - since).total_seconds()


def describe(values_ms: list[float]) -> dict[str, float]:
    return {
        "count": len(values_ms),
        "p50": common.percentile(values_ms, 50),
        "p99": common.percentile(values_ms, 99),
        "max": max(values_ms),
    }


# --- the measures --------------------------------------------------------------------------------


@contextmanager
def dms_receiver(subscribed: bool, spent: list[float]) -> Iterator[None]:
    """The DMS push's event receiver subscribed (as always) or not, for the duration. Subscribed, the time
    the outbox itself takes on each create's own thread is added to ``spent`` (ms): the receiver writing the
    push row in the order's transaction, and, once it commits, the doorbells' hand-over (with the publish when
    it runs in that thread: eager Celery, or ``ORMA_OUTBOX_DOORBELL_THREAD=0``). A publish on the outbox's
    publisher thread is not the create's time (it runs beside the next request), nor added to it."""
    import threading

    from dms_adapters import receivers
    from orma import events, outbox

    events.unsubscribe(receivers.repair_order_written)
    publish, flush = outbox._publish, outbox._Doorbells.flush
    request_thread = threading.current_thread()
    if subscribed:

        def timed_receiver(event: Any) -> None:
            started = time.perf_counter()
            receivers.repair_order_written(event)
            spent.append((time.perf_counter() - started) * 1000)

        def timed_flush(self: Any) -> None:  # the commit's hand-over, on the request's thread
            started = time.perf_counter()
            flush(self)
            spent[-1] += (time.perf_counter() - started) * 1000

        def timed_publish(task: Any, row_id: int) -> None:  # only when the request's thread publishes
            started = time.perf_counter()
            publish(task, row_id)
            if threading.current_thread() is request_thread:
                spent[-1] += (time.perf_counter() - started) * 1000

        events.subscribe(
            timed_receiver,
            events.EventType.ORDER_CREATED,
            events.EventType.ORDER_UPDATED,
            phase=events.Phase.IN_TRANSACTION,
        )
        outbox._publish = timed_publish  # ``ring`` looks them up when the transaction commits
        outbox._Doorbells.flush = timed_flush  # type: ignore[method-assign]
    try:
        yield
    finally:
        if subscribed:
            events.unsubscribe(timed_receiver)
            outbox._publish = publish
            outbox._Doorbells.flush = flush  # type: ignore[method-assign]
        events.subscribe(
            receivers.repair_order_written,
            events.EventType.ORDER_CREATED,
            events.EventType.ORDER_UPDATED,
            phase=events.Phase.IN_TRANSACTION,
        )


def measure_outbox_cost(fixture: Fixture, creates: int, rounds: int) -> dict[str, Any]:
    """In-process creates with and without the DMS receiver, alternating: each request's milliseconds, and
    the outbox's own share of the creates with it."""
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    samples: dict[str, list[float]] = {"with": [], "without": []}
    spent: list[float] = []
    counter = 0

    def create() -> float:
        nonlocal counter
        counter += 1
        body = fixture.body(f"IP-{counter}")
        started = time.perf_counter()
        response = client.put(fixture.orders_path, body, content_type="application/json", headers=fixture.auth)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 201:
            raise BenchError(f"in-process create answered {response.status_code}: {response.content[:300]!r}")
        return elapsed

    for _ in range(20):  # warm: imports, connections, caches
        create()
    for round_number in range(rounds):
        modes = ("with", "without") if round_number % 2 == 0 else ("without", "with")
        for mode in modes:
            with dms_receiver(mode == "with", spent):
                samples[mode] += [create() for _ in range(creates)]
    if len(spent) != len(samples["with"]):
        raise BenchError(f"the outbox ran {len(spent)} times for {len(samples['with'])} creates")
    figures = {mode: describe(values) for mode, values in samples.items()}
    figures["added_p50_ms"] = figures["with"]["p50"] - figures["without"]["p50"]
    figures["added_p99_ms"] = figures["with"]["p99"] - figures["without"]["p99"]
    figures["outbox_own_ms"] = describe(spent)
    return figures


def keep_one_order(redis: RedisServer) -> str:
    """Forget the in-process step's orders, pushes and doorbells but its first order, the copies' template
    (without a push of its own); answers its UUID."""
    from dms_adapters.models import DmsPush
    from orders.models import RepairOrder

    template_uuid = str(RepairOrder.objects.order_by("id").values_list("uuid", flat=True)[0])
    RepairOrder.objects.exclude(uuid=template_uuid).delete()
    DmsPush.objects.all().delete()
    redis.flushall()
    return template_uuid


def measure_throughput(
    fixture: Fixture, template_uuid: str, dms: LoopbackDms, worker: CeleryWorker, count: int
) -> dict[str, Any]:
    """``count`` pending orders with their doorbells queued; the worker starts; pushes per second from the
    first attempt to the last SYNCED."""
    from dms_adapters.tasks import push
    from orma import outbox

    order_uuids = insert_pending_orders(
        template_uuid=template_uuid, dealer_id=fixture.dealer_id, count=count, prefix="TP-"
    )
    for push_id in _pushes("TP-").values_list("pk", flat=True):
        outbox.ring(push, push_id)  # outside a transaction: published at once
    requests_before = dms.requests
    worker.start()
    wait_synced("TP-", count, timeout=600, what="throughput")
    seconds = synced_span("TP-")
    return {
        "orders": count,
        "seconds": seconds,
        "pushes_per_second": count / seconds,
        "http_requests": dms.requests - requests_before,
        **dms.check(order_uuids, "throughput"),
    }


def measure_latency(fixture: Fixture, server: GunicornServer, dms: LoopbackDms, rate: float, seconds: float) -> Any:
    """HTTP creates at ``rate`` per second; create -> SYNCED per order, from the database's timestamps."""
    from orders.models import RepairOrder

    run = secrets.token_hex(3)
    headers = {**fixture.auth, "Content-Type": "application/json"}
    requests_before = dms.requests

    def build_request(number: int) -> tuple[str, dict[str, str], bytes]:
        return "PUT", headers, fixture.body(f"LT-{run}-{number}")

    result = common.run_open_loop(server.url(fixture.orders_path), build_request, rate=rate, duration=seconds)
    if set(result.statuses) != {201}:
        raise BenchError(f"the latency run's creates answered {result.statuses}")
    rows = RepairOrder.objects.filter(order_number__startswith=f"LT-{run}-")
    order_uuids = [str(u) for u in rows.values_list("uuid", flat=True)]
    wait_synced(f"LT-{run}-", result.requests, timeout=120, what="latency")
    latencies = [
        (synced_at - created).total_seconds() * 1000
        for created, synced_at in rows.values_list("created_at", "dms_synced_at")
    ]
    return {
        "creates": result.requests,
        "create_http_ms": result.latency_ms,
        "sync_ms": describe(latencies),
        "http_requests": dms.requests - requests_before,
        **dms.check(order_uuids, "latency"),
    }


def measure_drain(
    fixture: Fixture, template_uuid: str, dms: LoopbackDms, worker: CeleryWorker, redis: RedisServer, count: int
) -> dict[str, Any]:
    """``count`` pending orders and no doorbell (the broker wiped); the worker starts; seconds from its being
    ready to the last SYNCED."""
    order_uuids = insert_pending_orders(
        template_uuid=template_uuid, dealer_id=fixture.dealer_id, count=count, prefix="DR-"
    )
    redis.flushall()  # beat's sweeps queued meanwhile too: nothing rings for the rows
    requests_before, found_done_before = dms.requests, worker.log_text().count(": 'skipped'")
    worker.start()
    ready = datetime.now(UTC)
    wait_synced("DR-", count, timeout=1800, what="drain")
    seconds = synced_span("DR-", since=ready)
    return {
        "orders": count,
        "seconds": seconds,
        "orders_per_second": count / seconds,
        "http_requests": dms.requests - requests_before,
        # doorbells for pushes already done: those the worker took, and those still queued
        "needless_doorbells": worker.log_text().count(": 'skipped'") - found_done_before + redis.queued(),
        **dms.check(order_uuids, "drain"),
    }


# --- the run -----------------------------------------------------------------------------------


def server_env(database_url: str, redis: RedisServer, scratch: Path, sweep: int) -> dict[str, str]:
    return common.server_env(
        settings_module="orma.settings",
        database_url=database_url,
        cache_url=redis.url(1),
        extra={
            "CELERY_BROKER_URL": redis.url(0),
            "ORMA_CELERY_EAGER": "0",
            "ORMA_CELERY_DIR": str(scratch / "celery"),
            "ORMA_PARTNER_RATE_LIMIT": RATE_LIMIT,
            "ORMA_DMS_SWEEP_SECONDS": str(sweep),
        },
    )


def print_summary(results: dict[str, Any], goals: dict[str, bool]) -> None:
    cost, tp, lat, drain = results["outbox_cost"], results["throughput"], results["latency"], results["drain"]
    own = cost["outbox_own_ms"]

    def met(goal: str) -> str:
        return "met" if goals[goal] else "MISSED"

    print()
    print(f"DMS push, {results['workers']} worker processes, sweep every {results['sweep_seconds']} s")
    print(
        f"  outbox on a create (in-process): its own time (push row + doorbell) p50 {own['p50']:.2f} ms, "
        f"p99 {own['p99']:.2f} ms (goal <= {GOAL_OUTBOX_P99_MS:g} ms: {met('outbox_p99')}); whole creates without "
        f"-> with it: p50 {cost['without']['p50']:.2f} -> {cost['with']['p50']:.2f} ms ({cost['added_p50_ms']:+.2f}), "
        f"p99 {cost['without']['p99']:.2f} -> {cost['with']['p99']:.2f} ms ({cost['added_p99_ms']:+.2f})"
    )
    print(
        f"  throughput: {tp['orders']} pushes in {tp['seconds']:.1f} s = {tp['pushes_per_second']:.0f}/s "
        f"({tp['http_requests']} requests at the DMS; missing {tp['missing']}, created twice {tp['created_twice']})"
    )
    sync = lat["sync_ms"]
    print(
        f"  create -> SYNCED at {results['rate']:g}/s: p50 {sync['p50']:.0f} ms ({met('sync_p50')}), "
        f"p99 {sync['p99']:.0f} ms ({met('sync_p99')}), max {sync['max']:.0f} ms over {sync['count']} orders; "
        f"HTTP create p50 {lat['create_http_ms']['50']:.1f} ms, p99 {lat['create_http_ms']['99']:.1f} ms"
    )
    print(
        f"  drain of {drain['orders']:,} pending rows without doorbells: {drain['seconds']:.1f} s after the worker "
        f"was ready ({drain['orders_per_second']:.0f}/s; {drain['http_requests']} requests at the DMS, "
        f"{drain['needless_doorbells']} needless doorbells; missing {drain['missing']}, "
        f"created twice {drain['created_twice']})"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        database_url = common.bench_database_url(DATABASE_NAME)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    load = common.machine_load()
    if warning := common.busy_machine_warning(load):
        print(f"warning: {warning}", file=sys.stderr)
    common.recreate_database(database_url)
    print(f"database: {database_url} (recreated)")
    results: dict[str, Any] = {
        "workers": args.workers,
        "sweep_seconds": args.sweep,
        "rate": args.rate,
        "load_before": load,
    }
    with tempfile.TemporaryDirectory(prefix="orma-dms-bench-") as scratch_dir:
        scratch, logs = Path(scratch_dir), common.RESULTS_DIR
        logs.mkdir(parents=True, exist_ok=True)
        redis = RedisServer(log_dir=scratch)
        env = server_env(database_url, redis, scratch, args.sweep)
        worker = CeleryWorker(env, concurrency=args.workers, log_dir=scratch, supervised=False)
        beat = CeleryBeat(env, log_dir=scratch)
        worker.log_path, beat.log_path = logs / "worker-dms.log", logs / "beat-dms.log"
        for path in (worker.log_path, beat.log_path):
            path.unlink(missing_ok=True)  # this run's only: the drain counts lines of the worker's
        server = GunicornServer(env, workers=2, log_path=logs / "gunicorn-dms.log")
        dms = LoopbackDms()
        try:
            redis.start()
            common.setup_django(env)
            common.migrate()
            dms.start()
            fixture = create_fixture(dms)

            print(f"outbox cost: {args.rounds} rounds of {args.creates} in-process creates with and without ...")
            results["outbox_cost"] = measure_outbox_cost(fixture, args.creates, args.rounds)
            template_uuid = keep_one_order(redis)
            beat.start()
            print(f"throughput: {args.pushes:,} pending orders, doorbells queued, {args.workers} worker processes ...")
            results["throughput"] = measure_throughput(fixture, template_uuid, dms, worker, args.pushes)

            server.start()
            print(f"latency: creates at {args.rate:g}/s for {args.latency_seconds:g} s ...")
            results["latency"] = measure_latency(fixture, server, dms, args.rate, args.latency_seconds)
            server.stop()

            worker.stop()
            print(f"drain: {args.drain:,} pending orders, no doorbells ...")
            results["drain"] = measure_drain(fixture, template_uuid, dms, worker, redis, args.drain)
        except (BenchError, ProcessStartError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        finally:
            server.stop()
            stop_all([worker, beat])  # each by its process group
            redis.stop()
            dms.stop()
            common.close_database_connections()
            if args.keep_db:
                print(f"database kept: {database_url}")
            else:
                common.drop_database(database_url)

    goals = {
        # on the outbox's own time: the difference of two whole requests' p99s is mostly noise
        "outbox_p99": results["outbox_cost"]["outbox_own_ms"]["p99"] <= GOAL_OUTBOX_P99_MS,
        "sync_p50": results["latency"]["sync_ms"]["p50"] < GOAL_SYNC_P50_MS,
        "sync_p99": results["latency"]["sync_ms"]["p99"] < GOAL_SYNC_P99_MS,
    }
    results["goals"] = goals
    results["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count()}
    results["revision"] = common.git_revision()
    path = common.write_results("dms", results)
    print_summary(results, goals)
    print(f"results: {path}")
    return 1 if args.strict and not all(goals.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
