"""Benchmark: repair orders over HTTP (create, read) and the ±30-day lookup at a million orders.

What is measured
    gunicorn with sync workers (2), ``DEBUG=0``, PostgreSQL, the Redis cache, the partner rate limit set to
    100000000/minute (it counts, never refuses); a partner with ``order.create`` and ``order.read`` on
    three departments of one dealer, which has one customer and one vehicle. In one run:

    1. Load (wrk), alternating for ``--rounds`` rounds after a warm-up: the yardstick (``GET /bare`` of
       ``bench/yardstick``, a startproject-default Django with one DRF APIView, served by its own gunicorn
       with the same number of sync workers: the denominator of every "x bare" ratio), OrMa's own bare DRF
       view of ``bench/urls.py`` (``/bench/bare``, a reference), the same answer behind the partner plumbing
       (``/bench/auth``: a reference, the ceiling of any partner endpoint, no goal), ``PUT order`` with
       seed 001's sample (1 job, the dealer's real customer and vehicle) in ONE department, the same creates
       spread over eight departments of the dealer (request n of a wrk thread to department n mod 8), and
       ``GET order/{orderUUID}`` of one created order.
       Every create carries a new ``orderNumber`` (``bench/lua/create_order.lua``: ``<run>-<thread>-<n>``),
       since the ±30-day rule answers 409 to a repeated one; wrk's non-2xx count and the script's own
       count of 201s prove that every answer was a creation. Goals (issue 12, moonshots in brackets):
       create >= 0.15 (0.30) x bare, read >= 0.5 (0.7) x bare, creates in one department >= 0.8 (1.0) x
       the spread creates (ratios of the median requests/second).
    2. Create at half of the peak: requests arriving at 50 % of the median create rate of step 1 (Poisson
       arrivals, each on its own connection, ``bench.common.run_open_loop``), latencies counted from each
       request's scheduled start. Not wrk's Lua ``delay()``: wrk pauses on a connection it has already
       opened, and the gunicorn sync worker that accepted it is blocked reading it for the whole pause.
       Goal: p99 < 50 ms (moonshot 25 ms).
    3. The window lookup: ``--orders`` (1,000,000) orders inserted by one ``INSERT ... SELECT FROM
       generate_series`` into one department and ``--small-orders`` (1,000) into another, each order number
       recurring once a year over five years (never inside another's window), then ANALYZE. The exact SQL
       of ``orders.selectors.repair_order_conflict`` (captured from Django) is run under
       ``EXPLAIN (ANALYZE, BUFFERS)``: it must be an index scan on ``ro_window``, never a Seq Scan. Then
       ``--window-requests`` sequential creates in each department, interleaved, each reusing an existing
       number half a year away from its namesakes. Goal: median latency at 1M <= 1.2 x that at 1k.
    4. In-process (Django's test client, same settings and database): the SQL queries of one create and
       one read, and with ``--profile N`` (200) the time per request and a cProfile of both endpoints.

How to run
    .venv/bin/python bench/orders.py [--duration 10] [--connections 8] [--threads 2] [--rounds 3]
                                     [--warmup 2] [--workers 2] [--orders 1000000] [--small-orders 1000]
                                     [--window-requests 300] [--profile 200] [--keep-db] [--strict]

    Needs PostgreSQL, Redis and ``wrk``. The database, ``orma_orders_bench`` on 127.0.0.1:5432 unless
    ``DATABASE_URL`` names another (whose name must contain "bench"), is dropped and recreated, then
    dropped at the end unless ``--keep-db``. Results: ``bench/results/orders.json``; gunicorn's log:
    ``bench/results/gunicorn-orders.log`` (the yardstick's: ``gunicorn-yardstick-orders.log``).

Exit status: 0 measured (each goal reported met or missed; ``--strict``: 1 when one is missed), 2 the
benchmark could not run (the message says why).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import math
import os
import platform
import pstats
import re
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402
from bench.auth import forget_partner  # noqa: E402
from bench.common import BenchError, GunicornServer, WrkResult  # noqa: E402

# Issue 12's milestone goals (the moonshot beside each); every ratio "x bare" divides by the yardstick,
# the startproject-default DRF view of bench/yardstick served by its own gunicorn in the same run.
GOAL_CREATE_RATIO = 0.15
MOONSHOT_CREATE_RATIO = 0.30
GOAL_SPREAD_RATIO = 0.8  # creates in ONE department / creates spread over SPREAD_DEPARTMENTS departments
MOONSHOT_SPREAD_RATIO = 1.0
GOAL_CREATE_P99_MS = 50.0
MOONSHOT_CREATE_P99_MS = 25.0
GOAL_READ_RATIO = 0.5
MOONSHOT_READ_RATIO = 0.7
GOAL_WINDOW_RATIO = 1.2
SPREAD_DEPARTMENTS = 8

DATABASE_NAME = "orma_orders_bench"
RATE_LIMIT = "100000000/minute"  # the limiter counts every request but never refuses one
SCOPES = ("order.create", "order.read")
BARE_PATH = "/bench/bare"
AUTH_PATH = "/bench/auth"  # the same trivial answer behind the partner plumbing: a reference, no goal
SAMPLE = common.REPO_ROOT / "orders" / "tests" / "data" / "seed001_sample.json"
LUA_DIR = Path(__file__).resolve().parent / "lua"
CREATE_SCRIPT = LUA_DIR / "create_order.lua"
NUMBER_PLACEHOLDER = "{order_number}"
VIN = "WVWZZZ1JZXW000001"
NOISY_SPREAD = 0.15

HALF_LOAD = 0.5

# The window data: order i of a department of N orders has number RO-(i mod N/5) and instant
# BASE + i x (SPAN / N), so each number recurs five times, about a year apart, over five years.
WINDOW_BASE = datetime(2015, 1, 1, tzinfo=UTC)
WINDOW_SPAN_SECONDS = 5 * 365 * 86400
OCCURRENCES = 5
NUMBER_PREFIX = "RO-"
WINDOW_WARMUP = 20  # sequential creates per department before the timed ones
WINDOW_BATCH = 10  # timed creates per department per turn (the departments take turns)

_RE_CREATE_COUNTS = re.compile(r"^orma-create: sent=(\d+) created=(\d+) other=(\d+)$", re.MULTILINE)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Repair orders over HTTP (create, read) against the bare DRF view; the ±30-day lookup at 1M."
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of each measured wrk run (10)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (8, as issue 12)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--rounds", type=int, default=3, help="bare/create/read runs per view; medians (3)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per view (2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (2)")
    parser.add_argument("--orders", type=int, default=1_000_000, help="orders of the large department (1000000)")
    parser.add_argument("--small-orders", type=int, default=1000, help="orders of the small department (1000)")
    parser.add_argument(
        "--window-requests", type=int, default=300, help="sequential creates timed per department (300)"
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=200,
        metavar="N",
        help="in-process requests per endpoint to profile (200; 0: none)",
    )
    parser.add_argument("--cache-url", default=common.DEFAULT_CACHE_URL, help="Redis for the cache (%(default)s)")
    parser.add_argument("--keep-db", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal is missed")
    args = parser.parse_args(argv)
    if min(args.duration, args.connections, args.threads, args.rounds, args.workers, args.window_requests) < 1:
        parser.error("--duration, --connections, --threads, --rounds, --workers and --window-requests must be >= 1")
    if args.small_orders < OCCURRENCES or args.orders < args.small_orders:
        parser.error(f"need {OCCURRENCES} <= --small-orders <= --orders")
    if WINDOW_WARMUP + args.window_requests > args.small_orders:
        parser.error("--window-requests (plus the warm-up) cannot exceed --small-orders: each needs its own slot")
    return args


# --- the dealer, its departments, the partner -----------------------------------------------------


@dataclass(frozen=True)
class BenchDepartment:
    """A department of the run, and how many orders the window part gives it (0: none)."""

    label: str
    id: int
    uuid: str
    orders: int = 0

    @property
    def orders_path(self) -> str:
        return f"/order/v2/department/{self.uuid}/order"

    @property
    def numbers(self) -> int:
        return self.orders // OCCURRENCES

    @property
    def step_seconds(self) -> int:
        return WINDOW_SPAN_SECONDS // self.orders

    def existing_instant(self, index: int) -> datetime:
        """The creation instant of the index-th inserted order (number RO-(index mod numbers))."""
        return WINDOW_BASE + timedelta(seconds=index * self.step_seconds)

    def free_slot(self, request: int) -> tuple[str, datetime]:
        """A number and instant for the request-th create: an existing number, half a year from its namesakes.

        Requests map onto distinct inserted orders (a stride coprime with the count), so no two requests
        share a number within a year either.
        """
        index = (request * _coprime_stride(self.orders)) % self.orders
        half_period = self.numbers * self.step_seconds // 2
        return f"{NUMBER_PREFIX}{index % self.numbers}", self.existing_instant(index) + timedelta(seconds=half_period)


def _coprime_stride(count: int, start: int = 7919) -> int:
    stride = start
    while math.gcd(stride, count) != 1:
        stride += 1
    return stride


@dataclass(frozen=True)
class Fixture:
    username: str
    secret: str
    customer_id: int
    customer_uuid: str
    vehicle_uuid: str
    load: BenchDepartment
    small: BenchDepartment
    large: BenchDepartment
    spread: tuple[BenchDepartment, ...] = ()

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": common.basic_auth(self.username, self.secret)}

    @property
    def json_headers(self) -> dict[str, str]:
        return {**self.auth, "Content-Type": "application/json"}


def create_fixture(args: argparse.Namespace) -> Fixture:
    """A dealer with three departments plus eight to spread creates over, a customer, a vehicle and a partner
    with a grant on each department: all through the services."""
    from orders import services
    from tenancy.services import GrantSpec, dealer_create, department_create, partner_create

    dealer = dealer_create(name="Autohaus Orders Bench")
    departments = {
        label: department_create(dealer=dealer, name=f"Service {label}")
        for label in ("load", "window-small", "window-large", *spread_labels())
    }
    customer = services.customer_create(dealer=dealer, data={"givenName": "Max", "familyName": "Muster"})
    vehicle = services.vehicle_create(dealer=dealer, data={"vin": VIN, "model": "Golf"}, customer=customer, brand="VW")
    # A fresh username per run: credentials cached by an earlier run (same Redis) can never match it.
    username = f"orders-bench-{secrets.token_hex(4)}"
    _, secret = partner_create(
        name="Orders Bench Partner",
        username=username,
        grants=[GrantSpec(department.uuid, SCOPES) for department in departments.values()],
    )

    def bench_department(label: str, orders: int) -> BenchDepartment:
        department = departments[label]
        return BenchDepartment(label, department.id, str(department.uuid), orders)

    return Fixture(
        username=username,
        secret=secret,
        customer_id=customer.id,
        customer_uuid=str(customer.uuid),
        vehicle_uuid=str(vehicle.uuid),
        load=bench_department("load", 0),
        small=bench_department("window-small", args.small_orders),
        large=bench_department("window-large", args.orders),
        spread=tuple(bench_department(label, 0) for label in spread_labels()),
    )


def spread_labels() -> tuple[str, ...]:
    return tuple(f"spread-{n}" for n in range(SPREAD_DEPARTMENTS))


def sample_body(fixture: Fixture, order_number: str, instant: datetime | None = None) -> dict[str, Any]:
    """Seed 001's sample request (1 job) for the dealer's customer and vehicle, with this number (and instant)."""
    text = SAMPLE.read_text().replace("{customer_uuid}", fixture.customer_uuid)
    body = json.loads(text.replace("{vehicle_uuid}", fixture.vehicle_uuid))
    header = body["order"]["header"]
    header["orderNumber"] = order_number
    if instant is not None:
        header["createDate"], header["createTime"] = f"{instant:%Y-%m-%d}", f"{instant:%H:%M:%S}"
    return body


def write_body_template(fixture: Fixture, directory: Path) -> Path:
    """The sample body with ``{order_number}`` as its number, for the wrk script to fill per request."""
    path = directory / "create_body.json"
    path.write_text(json.dumps(sample_body(fixture, NUMBER_PLACEHOLDER), separators=(",", ":")))
    return path


# --- checks before measuring ----------------------------------------------------------------------


def _json(content: bytes) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        return None


def verify(server: GunicornServer, fixture: Fixture, run_id: str) -> str:
    """The answers measured are the ones intended; answers the UUID of an order to read."""
    common.expect_answer(server.url(BARE_PATH), 200, body={"ok": True}, label="bare view")
    common.expect_answer(server.url(AUTH_PATH), 200, fixture.auth, body={"ok": True}, label="auth view")
    for n, department in enumerate(fixture.spread):  # the partner's grant on each of the eight works
        body = json.dumps(sample_body(fixture, f"V{run_id}-S{n}")).encode()
        status, content = common.http_request("PUT", server.url(department.orders_path), body, fixture.json_headers)
        if status != 201:
            raise BenchError(f"creating in {department.label}: expected 201, got {status}: {content[:300]!r}")
    url = server.url(fixture.load.orders_path)
    body = json.dumps(sample_body(fixture, f"V{run_id}-1")).encode()
    status, content = common.http_request("PUT", url, body, fixture.json_headers)
    envelope = _json(content) or {}
    if status != 201 or not envelope.get("orderUUID") or envelope.get("warnings"):
        raise BenchError(f"creating seed 001's sample: expected 201 without warnings, got {status}: {content[:500]!r}")
    order_uuid = str(envelope["orderUUID"])
    status, content = common.http_request("PUT", url, body, fixture.json_headers)
    if status != 409 or b"DUPLICATE_ORDER" not in content:
        raise BenchError(f"repeating an order number: expected 409 DUPLICATE_ORDER, got {status}: {content[:300]!r}")
    status, content = common.http_get(f"{url}/{order_uuid}", fixture.auth)
    order = (_json(content) or {}).get("order") or {}
    if status != 200 or order.get("header", {}).get("orderNumber") != f"V{run_id}-1":
        raise BenchError(f"reading the created order: expected 200 with its number, got {status}: {content[:300]!r}")
    return order_uuid


# --- load: bare, create, read ---------------------------------------------------------------------


@dataclass
class LoadRunner:
    server: GunicornServer
    yardstick_server: GunicornServer
    fixture: Fixture
    template: Path
    order_uuid: str
    run_id: str
    args: argparse.Namespace
    creates: int = 0

    def yardstick(self, duration: float) -> WrkResult:
        return common.run_wrk(
            self.yardstick_server.url(common.YARDSTICK_PATH),
            duration=duration,
            connections=self.args.connections,
            threads=self.args.threads,
        )

    def bare(self, duration: float) -> WrkResult:
        return common.run_wrk(
            self.server.url(BARE_PATH),
            duration=duration,
            connections=self.args.connections,
            threads=self.args.threads,
        )

    def auth(self, duration: float) -> WrkResult:
        return common.run_wrk(
            self.server.url(AUTH_PATH),
            duration=duration,
            connections=self.args.connections,
            threads=self.args.threads,
            headers=self.fixture.auth,
        )

    def read(self, duration: float) -> WrkResult:
        return common.run_wrk(
            self.server.url(f"{self.fixture.load.orders_path}/{self.order_uuid}"),
            duration=duration,
            connections=self.args.connections,
            threads=self.args.threads,
            headers=self.fixture.auth,
        )

    def create(self, duration: float) -> WrkResult:
        """A wrk run of creates in ONE department, each with a new number; raises unless every answer was a 201."""
        return self._creates(duration, [self.fixture.load])

    def create_spread(self, duration: float) -> WrkResult:
        """The same creates spread over eight departments of the dealer: department = request counter mod 8."""
        return self._creates(duration, list(self.fixture.spread))

    def _creates(self, duration: float, departments: list[BenchDepartment]) -> WrkResult:
        self.creates += 1
        prefix = f"B{self.run_id}{self.creates}"  # unique per run of wrk, whose counters restart at 1
        result = common.run_wrk(
            self.server.url(departments[0].orders_path),
            duration=duration,
            connections=self.args.connections,
            threads=self.args.threads,
            headers=self.fixture.json_headers,
            script=CREATE_SCRIPT,
            script_args=[str(self.template), prefix, ",".join(d.orders_path for d in departments)],
        )
        counts = _RE_CREATE_COUNTS.search(result.output)
        if counts is None:
            raise BenchError(f"the create script reported no counts:\n{result.output}")
        sent, created, other = (int(n) for n in counts.groups())
        if other or created != result.requests:
            raise BenchError(
                f"{other} of {created + other} create answers were not 201 ({result.requests} requests):\n"
                f"{result.output}"
            )
        return result


VIEWS = ("yardstick", "bare", "auth", "create", "create_spread", "read")
MEASURED = ("bare", "auth", "create", "create_spread", "read")  # divided by the yardstick


def measure_load(runner: LoadRunner) -> list[dict[str, WrkResult]]:
    """Warm the views up, then alternate bare/auth/create/read; one {view: result} per round."""
    args = runner.args
    run: dict[str, Callable[[float], WrkResult]] = {
        "yardstick": runner.yardstick,
        "create_spread": runner.create_spread,
        "bare": runner.bare,
        "auth": runner.auth,
        "create": runner.create,
        "read": runner.read,
    }
    if args.warmup > 0:
        print(f"warm-up: {args.warmup:g}s per view")
        for view in VIEWS:
            run[view](args.warmup)
    rounds: list[dict[str, WrkResult]] = []
    for number in range(1, args.rounds + 1):
        results: dict[str, WrkResult] = {}
        for view in VIEWS:
            results[view] = result = run[view](args.duration)
            print(
                f"round {number}/{args.rounds}  {view:<13} {result.requests_per_second:>9.1f} req/s  "
                f"p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms"
                + (f"  socket errors {result.socket_errors}" if any(result.socket_errors.values()) else "")
            )
        rounds.append(results)
    return rounds


medians = common.medians


def measure_half_load(runner: LoadRunner, median_peak_rps: float) -> dict[str, Any]:
    """Creates arriving at half the peak rate (Poisson, each on a new connection): the latency distribution.

    The peak is measured again just before (the machine's other load drifts; the median of the rounds is
    reported beside it). Not wrk: its think time (Lua ``delay()``) runs on a connection already open, and
    the sync worker that accepted it sits blocked reading it for the whole pause, so the "half load" would
    starve the workers. Latencies count from each request's scheduled start (no coordinated omission).
    """
    peak_rps = runner.create(max(3.0, runner.args.duration / 2)).requests_per_second
    print(f"half load: peak just before {peak_rps:.1f} req/s (median of the rounds {median_peak_rps:.1f})")
    target = peak_rps * HALF_LOAD
    template = runner.template.read_text()
    headers = runner.fixture.json_headers
    prefix = f"H{runner.run_id}-"

    def build_request(number: int) -> tuple[str, dict[str, str], bytes]:
        return "PUT", headers, template.replace(NUMBER_PLACEHOLDER, f"{prefix}{number}").encode()

    result = common.run_open_loop(
        runner.server.url(runner.fixture.load.orders_path),
        build_request,
        rate=target,
        duration=runner.args.duration,
        seed=int(runner.run_id, 16),
    )
    if result.statuses != {201: result.requests}:
        raise BenchError(f"creates at half load: expected only 201s, got {result.statuses}")
    print(
        f"half load: target {target:.1f} req/s, sent {result.achieved_rate:.1f} req/s  "
        f"p50 {result.p50_ms:.2f} ms  p99 {result.p99_ms:.2f} ms  (client lag p99 {result.lag_ms['99']:.2f} ms)"
    )
    return {
        "method": "open loop, Poisson arrivals, one connection per request (bench.common.run_open_loop)",
        "peak_requests_per_second": peak_rps,
        "median_peak_requests_per_second": median_peak_rps,
        "target_requests_per_second": target,
        "achieved_requests_per_second": result.achieved_rate,
        "fraction_of_peak": result.achieved_rate / peak_rps,
        "requests": result.requests,
        "p50_ms": result.p50_ms,
        "p99_ms": result.p99_ms,
        "latency_ms": result.latency_ms,
        "client_lag_ms": result.lag_ms,
        "goal_p99_ms": GOAL_CREATE_P99_MS,
        "moonshot_p99_ms": MOONSHOT_CREATE_P99_MS,
        "goal_met": result.p99_ms < GOAL_CREATE_P99_MS,
    }


# --- the window lookup at a million orders --------------------------------------------------------

# NOT NULL columns of orders_repairorder without a default, and the value each inserted order gets;
# any other NOT NULL text column gets '', and an unknown NOT NULL column of another type stops the run.
_WINDOW_VALUES = {
    "uuid": "gen_random_uuid()",
    "department_id": "%(department_id)s",
    "order_number": "%(prefix)s || (i %% %(numbers)s)",
    "created_instant": "%(base)s::timestamptz + (i * %(step)s) * interval '1 second'",
    "status": "%(status)s",
    "customer_id": "%(customer_id)s",
    "document": "'{}'::jsonb",
    "version": "1",
    "created_at": "now()",
    "updated_at": "now()",
    "dms_status": "%(dms_status)s",
    "dms_errors": "'[]'::jsonb",
}


def window_insert_sql() -> str:
    """``INSERT ... SELECT FROM generate_series`` filling every NOT NULL column of orders_repairorder."""
    from django.db import connection

    from orders.models import RepairOrder

    table = RepairOrder._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, data_type, is_identity, column_default FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s AND is_nullable = 'NO' "
            "ORDER BY ordinal_position",
            [table],
        )
        not_null = cursor.fetchall()
    columns, values = [], []
    for name, data_type, is_identity, default in not_null:
        if name in _WINDOW_VALUES:
            value = _WINDOW_VALUES[name]
        elif is_identity == "YES" or default is not None:
            continue
        elif data_type in ("character varying", "text"):
            value = "''"
        else:
            raise BenchError(f"{table}.{name} ({data_type}) is NOT NULL and the benchmark has no value for it")
        columns.append(name)
        values.append(value)
    missing = set(_WINDOW_VALUES) - set(columns)
    if missing:
        raise BenchError(f"{table} has no NOT NULL column(s) {', '.join(sorted(missing))}: update the benchmark")
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) "
        f"SELECT {', '.join(values)} FROM generate_series(0, %(count)s - 1) AS i"
    )


def insert_window_orders(fixture: Fixture, department: BenchDepartment) -> float:
    """Insert the department's orders in one statement; answers the seconds it took."""
    from django.db import connection

    from orders.choices import DmsStatus, RepairOrderStatus

    params = {
        "department_id": department.id,
        "customer_id": fixture.customer_id,
        "prefix": NUMBER_PREFIX,
        "numbers": department.numbers,
        "base": WINDOW_BASE.isoformat(),
        "step": department.step_seconds,
        "status": RepairOrderStatus.OPENED.value,
        "dms_status": DmsStatus.PENDING.value,
        "count": department.orders,
    }
    start = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(window_insert_sql(), params)
        if cursor.rowcount != department.orders:
            raise BenchError(f"inserted {cursor.rowcount} orders, expected {department.orders}")
    return time.perf_counter() - start


def analyze_orders() -> float:
    from django.db import connection

    from orders.models import RepairOrder

    start = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {RepairOrder._meta.db_table}")
    return time.perf_counter() - start


_RE_SCAN = re.compile(r"(Index Only Scan|Index Scan|Bitmap Index Scan|Seq Scan)(?: Backward)?(?: using| on) (\S+)")
_RE_EXECUTION = re.compile(r"Execution Time: ([\d.]+) ms")


def explain_window_lookup(department: BenchDepartment) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, BUFFERS) of the exact query ``repair_order_conflict`` runs, for a real conflict.

    The probe is ten days after an existing order of the department, so the lookup must find it (and
    the function must name it): the plan shown is one that actually reaches the data.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from orders.selectors import repair_order_conflict

    index = department.orders // 2 + 7
    number = f"{NUMBER_PREFIX}{index % department.numbers}"
    existing = department.existing_instant(index)
    with CaptureQueriesContext(connection) as captured:
        conflict = repair_order_conflict(
            department_id=department.id, order_number=number, created_instant=existing + timedelta(days=10)
        )
    if len(captured.captured_queries) != 1:
        raise BenchError(f"repair_order_conflict ran {len(captured.captured_queries)} queries, expected 1")
    if conflict is None or conflict.created_instant != existing:
        raise BenchError(f"repair_order_conflict did not name the order of {existing} ({conflict})")
    sql = captured.captured_queries[0]["sql"]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        plan = [row[0] for row in cursor.fetchall()]
    scans = [{"node": node, "relation": relation} for node, relation in _RE_SCAN.findall("\n".join(plan))]
    execution = _RE_EXECUTION.search("\n".join(plan))
    index_scan = any(s["node"] in ("Index Scan", "Index Only Scan") and s["relation"] == "ro_window" for s in scans)
    return {
        "department_orders": department.orders,
        "sql": sql,
        "plan": plan,
        "scans": scans,
        "execution_ms": float(execution.group(1)) if execution else None,
        "index_scan_on_ro_window": index_scan,
        "seq_scan": any(s["node"] == "Seq Scan" for s in scans),
    }


def measure_window_latency(server: GunicornServer, fixture: Fixture, requests: int) -> dict[str, Any]:
    """Sequential creates in the small and the large department, taking turns; latencies in ms."""
    departments = (fixture.small, fixture.large)
    sent = dict.fromkeys((d.label for d in departments), 0)
    latencies: dict[str, list[float]] = {d.label: [] for d in departments}

    def create(department: BenchDepartment) -> float:
        number, instant = department.free_slot(sent[department.label])
        sent[department.label] += 1
        body = json.dumps(sample_body(fixture, number, instant)).encode()
        url = server.url(department.orders_path)
        start = time.perf_counter()
        status, content = common.http_request("PUT", url, body, fixture.json_headers)
        elapsed = (time.perf_counter() - start) * 1000.0
        if status != 201:
            raise BenchError(f"create of {number} at {instant} in {department.label}: {status} {content[:300]!r}")
        return elapsed

    for _ in range(WINDOW_WARMUP):
        for department in departments:
            create(department)
    turn = 0
    while len(latencies[fixture.large.label]) < requests:
        order = departments if turn % 2 == 0 else departments[::-1]  # ABBA: neither always goes first
        for department in order:
            for _ in range(min(WINDOW_BATCH, requests - len(latencies[department.label]))):
                latencies[department.label].append(create(department))
        turn += 1

    def describe(values: list[float]) -> dict[str, float]:
        return {
            "requests": len(values),
            "mean_ms": statistics.fmean(values),
            "p50_ms": common.percentile(values, 50),
            "p90_ms": common.percentile(values, 90),
            "p99_ms": common.percentile(values, 99),
            "min_ms": min(values),
        }

    small, large = describe(latencies[fixture.small.label]), describe(latencies[fixture.large.label])
    ratio = {key: large[key] / small[key] for key in ("p50_ms", "mean_ms", "p99_ms")}
    return {
        "small": {"orders": fixture.small.orders, **small},
        "large": {"orders": fixture.large.orders, **large},
        "ratio_large_to_small": ratio,
        "goal_ratio": GOAL_WINDOW_RATIO,
        "goal_met": ratio["p50_ms"] <= GOAL_WINDOW_RATIO,
    }


# --- in-process: query counts and profile ---------------------------------------------------------


class InProcess:
    """The same requests through Django's test client in this process (same settings, same database)."""

    def __init__(self, fixture: Fixture, order_uuid: str, run_id: str) -> None:
        from django.test import Client

        self.client = Client(HTTP_HOST="127.0.0.1")
        self.fixture = fixture
        self.order_uuid = order_uuid
        self.run_id = run_id
        self.created = 0
        # Slots of the window departments from the top down: the window part took the first ones.
        self.next_slot = {department.label: department.orders - 1 for department in (fixture.small, fixture.large)}

    def bare(self) -> None:
        self._check(self.client.get(BARE_PATH), 200, "bare")

    def auth(self) -> None:
        self._check(self.client.get(AUTH_PATH, headers=self.fixture.auth), 200, "auth")

    def create(self, department: BenchDepartment | None = None) -> None:
        self.created += 1
        if department is None or not department.orders:
            department = self.fixture.load
            body = sample_body(self.fixture, f"P{self.run_id}-{self.created}")
        else:
            number, instant = department.free_slot(self.next_slot[department.label])
            self.next_slot[department.label] -= 1
            body = sample_body(self.fixture, number, instant)
        response = self.client.put(
            department.orders_path, json.dumps(body), content_type="application/json", headers=self.fixture.auth
        )
        self._check(response, 201, "create")

    def read(self) -> None:
        response = self.client.get(f"{self.fixture.load.orders_path}/{self.order_uuid}", headers=self.fixture.auth)
        self._check(response, 200, "read")

    @staticmethod
    def _check(response: Any, status: int, what: str) -> None:
        if response.status_code != status:
            raise BenchError(f"in-process {what} answered {response.status_code}: {response.content[:300]!r}")


def count_queries(in_process: InProcess, fixture: Fixture) -> dict[str, Any]:
    """The SQL of one create and one read (after one of each, so the credentials are cached)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def captured(request: Callable[[], None]) -> list[str]:
        request()  # warm: credentials cached, nothing loaded lazily for the first time
        with CaptureQueriesContext(connection) as queries:
            request()
        return [query["sql"] for query in queries.captured_queries]

    create_sql = captured(in_process.create)
    read_sql = captured(in_process.read)
    at_large = captured(lambda: in_process.create(fixture.large))
    return {
        "create": {"queries": len(create_sql), "sql": create_sql},
        "read": {"queries": len(read_sql), "sql": read_sql},
        "create_in_large_department": {"queries": len(at_large)},
    }


def _sql_summary(sql: str) -> str:
    text = re.sub(r"\s+", " ", sql)
    table = re.search(r'(?:FROM|INTO|UPDATE) "?(\w+)"?', text)
    verb = text.split(" ", 1)[0]
    if verb == "SELECT" and "FOR UPDATE" in text:
        verb = "SELECT ... FOR UPDATE"
    return f"{verb} {table.group(1) if table else ''}".strip()


# The pieces of each endpoint, as cProfile names them: (file suffix, function) -> label.
_PIECES = {
    "create": {
        ("rest_framework/views.py", "perform_authentication"): "authentication",
        ("rest_framework/views.py", "check_throttles"): "rate limit",
        ("rest_framework/views.py", "check_permissions"): "permission (grant + department)",
        ("rest_framework/request.py", "_parse"): "JSON body parsing (request.data)",
        ("orders/validation.py", "repair_order_fields"): "validation: field rules (whole)",
        ("orders/validation.py", "repair_order_approve"): "validation: references, packages, totals, window",
        ("orders/body.py", "walk_object"): "  field rules: body.walk_object",
        ("orders/validation.py", "_customer_reference"): "  customer lookup",
        ("orders/validation.py", "_vehicle"): "  vehicle lookup",
        ("orders/selectors.py", "repair_order_conflict"): "  ±30-day lookup (validation + service)",
        ("orders/services.py", "repair_order_create"): "service: repair_order_create (whole)",
        ("orders/services.py", "_lock_department"): "  department lock (SELECT FOR UPDATE)",
        ("orders/validation.py", "document"): "  render the stored document",
        ("orders/persistence.py", "header_columns"): "  header columns",
        ("orders/persistence.py", "write_lines"): "  line inserts (persistence.write_lines)",
        ("orders/services.py", "_record_history"): "  history row",
        ("django/db/transaction.py", "__exit__"): "  transaction exit (COMMIT)",
        ("rest_framework/response.py", "rendered_content"): "JSON rendering of the answer",
        ("django/db/backends/utils.py", "execute"): "SQL, all statements (Django cursor execute)",
        ("psycopg/cursor.py", "execute"): "  of which psycopg execute (incl. the round trip)",
        ("copy.py", "deepcopy"): "copy.deepcopy (all)",
    },
    "read": {
        ("rest_framework/views.py", "perform_authentication"): "authentication",
        ("rest_framework/views.py", "check_throttles"): "rate limit",
        ("rest_framework/views.py", "check_permissions"): "permission (grant + department)",
        ("orders/selectors.py", "repair_order_get"): "order lookup (selectors.repair_order_get)",
        ("orders/api/representations.py", "order_representation"): "order representation",
        ("rest_framework/response.py", "rendered_content"): "JSON rendering of the answer",
        ("django/db/backends/utils.py", "execute"): "SQL, all statements (Django cursor execute)",
        ("psycopg/cursor.py", "execute"): "  of which psycopg execute (incl. the round trip)",
    },
}


def _profile_breakdown(stats: pstats.Stats, pieces: dict[tuple[str, str], str], requests: int) -> dict[str, Any]:
    breakdown: dict[str, dict[str, float]] = {}
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, function), (_cc, calls, _tottime, cumtime, _callers) in raw.items():
        for (suffix, name), label in pieces.items():
            if function == name and filename.endswith(suffix):
                entry = breakdown.setdefault(label, {"calls_per_request": 0.0, "microseconds_per_request": 0.0})
                entry["calls_per_request"] += calls / requests
                entry["microseconds_per_request"] += cumtime / requests * 1e6
    return {label: breakdown[label] for label in pieces.values() if label in breakdown}


def _database_backend_cpu_seconds() -> float | None:
    """CPU seconds used so far by this process's PostgreSQL backend (same machine: /proc), or None."""
    from django.db import connection

    connection.ensure_connection()
    try:
        pid = connection.connection.info.backend_pid
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    except (AttributeError, OSError, ValueError, IndexError):
        return None


def profile_in_process(in_process: InProcess, requests: int) -> dict[str, Any]:
    """Time per request of bare, create and read (interleaved batches), where it goes, then cProfile of each.

    Per request: wall time (fastest batch, and median), this process's CPU time (Python: Django, DRF,
    OrMa, psycopg), the CPU time of its PostgreSQL backend, and the rest (waiting: commit flush, the
    scheduler on a busy machine).
    """
    endpoints: dict[str, Callable[[], None]] = {
        "bare": in_process.bare,
        "auth": in_process.auth,
        "create": in_process.create,
        "read": in_process.read,
    }
    for request in endpoints.values():
        for _ in range(20):
            request()
    batch = max(1, min(50, requests // 4))  # at least four interleaved batches: the fastest is kept
    means: dict[str, list[float]] = {name: [] for name in endpoints}
    totals = {name: {"wall": 0.0, "python": 0.0, "database": 0.0, "requests": 0} for name in endpoints}
    backend_visible = _database_backend_cpu_seconds() is not None
    for _ in range(max(1, requests // batch)):
        for name, request in endpoints.items():
            database_before = _database_backend_cpu_seconds() or 0.0
            cpu_before = time.process_time()
            start = time.perf_counter()
            for _ in range(batch):
                request()
            wall = time.perf_counter() - start
            totals[name]["python"] += time.process_time() - cpu_before
            totals[name]["database"] += (_database_backend_cpu_seconds() or 0.0) - database_before
            totals[name]["wall"] += wall
            totals[name]["requests"] += batch
            means[name].append(wall / batch * 1e6)
    report: dict[str, Any] = {"requests": requests, "database_cpu_visible": backend_visible}
    for name in endpoints:
        done = totals[name]["requests"]
        wall_us, python_us = totals[name]["wall"] / done * 1e6, totals[name]["python"] / done * 1e6
        database_us = totals[name]["database"] / done * 1e6 if backend_visible else None
        report[name] = {
            "microseconds_per_request": min(means[name]),
            "microseconds_per_request_median": statistics.median(means[name]),
            "microseconds_per_request_mean": wall_us,
            "python_cpu_microseconds_per_request": python_us,
            "database_cpu_microseconds_per_request": database_us,
            "other_wait_microseconds_per_request": wall_us - python_us - (database_us or 0.0),
        }
    for name in endpoints:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(requests):
            endpoints[name]()
        profiler.disable()
        stats = pstats.Stats(profiler)
        # Python function calls per request: a measure of the work that does not depend on the machine
        report[name]["function_calls_per_request"] = stats.total_calls / requests  # type: ignore[attr-defined]
        if name not in _PIECES:
            continue
        total = sum(tt for (_cc, _nc, tt, _ct, _callers) in stats.stats.values())  # type: ignore[attr-defined]
        report[name]["profiled_microseconds_per_request"] = total / requests * 1e6
        report[name]["breakdown"] = _profile_breakdown(stats, _PIECES[name], requests)
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(15)
        report[name]["top_own_time"] = text.getvalue()
    return report


# --- report ---------------------------------------------------------------------------------------


def _met(met: bool) -> str:
    return "MET" if met else "MISSED"


def print_summary(results: dict[str, Any], args: argparse.Namespace) -> None:
    load, goals = results["load"], results["goals"]
    print(
        f"\nOrMa orders benchmark: gunicorn {args.workers} sync workers, PostgreSQL, Redis; "
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s, median of {args.rounds} rounds"
    )
    labels = {
        "yardstick": "yardstick      GET /bare (startproject)",
        "bare": "OrMa bare view GET /bench/bare",
        "auth": "auth reference GET /bench/auth",
        "create": "create         PUT order (1 job)",
        "create_spread": "create spread  over 8 departments",
        "read": "read           GET order/{id}",
    }
    for view in VIEWS:
        data = load[view]
        line = (
            f"  {labels[view]:<40} {data['requests_per_second']:8.1f} req/s  "
            f"p50 {data['p50_ms']:6.2f} ms  p99 {data['p99_ms']:6.2f} ms"
        )
        if view != "yardstick":
            per_round = ", ".join(f"{r:.3f}" for r in load["ratio_per_round"][view])
            line += f"   ratio {load['ratio'][view]:.3f} x bare (rounds {per_round})"
            if view in ("bare", "auth", "create_spread"):
                line += "; a reference, no goal"
            else:
                goal = GOAL_CREATE_RATIO if view == "create" else GOAL_READ_RATIO
                line += f"; goal >= {goal:g}: {_met(goals[f'{view}_ratio'])}"
                line += f"; {load['ratio_to_auth'][view]:.3f} x auth"
        print(line)
    print(
        f"  creates in ONE department / spread over {SPREAD_DEPARTMENTS}: {load['one_to_spread']:.3f} "
        f"(goal >= {GOAL_SPREAD_RATIO:g}: {_met(goals['spread_ratio'])})"
    )
    half = results["half_load"]
    print(
        f"  create at half of peak ({half['peak_requests_per_second']:.1f} req/s just before): "
        f"target {half['target_requests_per_second']:.1f} req/s, achieved "
        f"{half['achieved_requests_per_second']:.1f} req/s ({half['fraction_of_peak']:.0%} of peak; open loop, "
        f"Poisson arrivals, {half['requests']} requests)\n"
        f"    p50 {half['p50_ms']:.2f} ms  p90 {half['latency_ms']['90']:.2f} ms  p99 {half['p99_ms']:.2f} ms  "
        f"max {half['latency_ms']['max']:.2f} ms (client lag p99 {half['client_lag_ms']['99']:.2f} ms); "
        f"goal p99 < {GOAL_CREATE_P99_MS:g} ms: {_met(goals['create_p99_half_load'])}"
    )
    window = results["window"]
    large_plan = window["explain"]["large"]
    small_plan = window["explain"]["small"]
    print(
        f"  window lookup: {window['large_orders']:,} orders inserted in {window['insert_seconds']:.1f} s "
        f"(+ {window['small_orders']:,} in another department; ANALYZE {window['analyze_seconds']:.1f} s)"
    )
    print(f"    EXPLAIN (ANALYZE, BUFFERS) of repair_order_conflict's query at {window['large_orders']:,} orders:")
    for line in large_plan["plan"]:
        print(f"      {line}")
    print(
        f"    index scan on ro_window: {'yes' if large_plan['index_scan_on_ro_window'] else 'NO'}; "
        f"seq scan: {'YES' if large_plan['seq_scan'] else 'no'}; execution {large_plan['execution_ms']} ms "
        f"(at {window['small_orders']:,} orders: {small_plan['execution_ms']} ms, "
        + ("index scan on ro_window)" if small_plan["index_scan_on_ro_window"] else f"scans {small_plan['scans']})")
    )
    latency = window["latency"]
    for key, label in (
        ("small", f"{window['small_orders']:>9,} orders"),
        ("large", f"{window['large_orders']:>9,} orders"),
    ):
        data = latency[key]
        print(
            f"    sequential creates at {label}: p50 {data['p50_ms']:6.2f} ms  mean {data['mean_ms']:6.2f} ms  "
            f"p90 {data['p90_ms']:6.2f} ms  p99 {data['p99_ms']:6.2f} ms  ({data['requests']} requests)"
        )
    ratio = latency["ratio_large_to_small"]
    print(
        f"    large/small: p50 {ratio['p50_ms']:.3f}, mean {ratio['mean_ms']:.3f}, p99 {ratio['p99_ms']:.3f}; "
        f"goal p50 <= {GOAL_WINDOW_RATIO:g} x: {_met(goals['window_latency'])}"
    )
    queries = results["queries"]
    print(
        f"  SQL queries per request: create {queries['create']['queries']} "
        f"(in the {window['large_orders']:,}-order department: {queries['create_in_large_department']['queries']}), "
        f"read {queries['read']['queries']}"
    )
    for name in ("create", "read"):
        print(f"    {name}: " + "; ".join(_sql_summary(sql) for sql in queries[name]["sql"]))
    profile = results.get("profile")
    if profile:
        print(f"\n  in-process (Django test client, no gunicorn, {profile['requests']} requests per endpoint):")
        bare_us = profile["bare"]["microseconds_per_request"]
        for name in ("bare", "auth", "create", "read"):
            data = profile[name]
            us = data["microseconds_per_request"]
            database = data["database_cpu_microseconds_per_request"]
            print(
                f"    {name:<6} {us:8.0f} us/request fastest batch (bare/this {bare_us / us:.3f}); mean "
                f"{data['microseconds_per_request_mean']:.0f} us = "
                f"Python CPU {data['python_cpu_microseconds_per_request']:.0f}"
                + (f" + PostgreSQL CPU {database:.0f}" if database is not None else "")
                + f" + waiting {data['other_wait_microseconds_per_request']:.0f}; "
                f"{data['function_calls_per_request']:,.0f} Python function calls"
            )
        for name in ("create", "read"):
            data = profile[name]
            print(
                f"  cProfile of {name} ({data['profiled_microseconds_per_request']:.0f} us/request under the "
                "profiler; compare the shares):"
            )
            for label, entry in data["breakdown"].items():
                share = entry["microseconds_per_request"] / data["profiled_microseconds_per_request"]
                print(
                    f"    {label:<50} {entry['microseconds_per_request']:8.0f} us  {share:4.0%}  "
                    f"{entry['calls_per_request']:.1f} calls"
                )
        for name, goal in (("create", "create_ratio"), ("read", "read_ratio")):
            if not goals[goal] or (name == "create" and not goals["create_p99_half_load"]):
                print(f"  top functions by own time ({name}, goal missed):")
                print("\n".join("    " + line for line in profile[name]["top_own_time"].splitlines()[:40]))


# --- main -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    database_url, env, load_average = common.prepare_run(
        DATABASE_NAME, args.cache_url, {"ORMA_PARTNER_RATE_LIMIT": RATE_LIMIT}
    )
    run_id = secrets.token_hex(3)
    fixture: Fixture | None = None
    results: dict[str, Any] = {}
    try:
        common.setup_django(env)
        common.migrate()
        fixture = create_fixture(args)
        server = GunicornServer(env, workers=args.workers, log_path=common.RESULTS_DIR / "gunicorn-orders.log")
        yardstick = common.yardstick_server(args.workers, "gunicorn-yardstick-orders.log")
        print(f"gunicorn: {args.workers} sync workers on {server.base_url} (log {server.log_path})")
        print(f"yardstick: {args.workers} sync workers on {yardstick.base_url} (log {yardstick.log_path})")
        with server, yardstick, tempfile.TemporaryDirectory(prefix="orma-orders-bench-") as scratch:
            common.verify_yardstick(yardstick)
            order_uuid = verify(server, fixture, run_id)
            template = write_body_template(fixture, Path(scratch))
            runner = LoadRunner(server, yardstick, fixture, template, order_uuid, run_id, args)
            rounds = measure_load(runner)
            peak = medians(rounds, "create")["requests_per_second"]
            results["half_load"] = measure_half_load(runner, peak)

            print(f"window: inserting {args.orders:,} + {args.small_orders:,} orders ...")
            insert_seconds = insert_window_orders(fixture, fixture.large)
            insert_small_seconds = insert_window_orders(fixture, fixture.small)
            analyze_seconds = analyze_orders()
            print(
                f"window: inserted in {insert_seconds:.1f} s (+ {insert_small_seconds:.1f} s), "
                f"ANALYZE {analyze_seconds:.1f} s"
            )
            explain = {"large": explain_window_lookup(fixture.large), "small": explain_window_lookup(fixture.small)}
            print(f"window: {args.window_requests} sequential creates per department ...")
            latency = measure_window_latency(server, fixture, args.window_requests)
        in_process = InProcess(fixture, order_uuid, run_id)
        results["queries"] = count_queries(in_process, fixture)
        if args.profile:
            print(f"in-process: profiling {args.profile} requests per endpoint ...")
            results["profile"] = profile_in_process(in_process, args.profile)
    finally:
        if fixture is not None:
            forget_partner(fixture.username)
        common.close_database_connections()
        if args.keep_db:
            print(f"database kept: {database_url}")
        else:
            common.drop_database(database_url)

    load: dict[str, Any] = {view: medians(rounds, view) for view in VIEWS}
    yardstick_rps = load["yardstick"]["requests_per_second"]
    load["ratio"] = {view: load[view]["requests_per_second"] / yardstick_rps for view in MEASURED}
    load["ratio_per_round"] = {
        view: [r[view].requests_per_second / r["yardstick"].requests_per_second for r in rounds] for view in MEASURED
    }
    load["ratio_to_orma_bare"] = {
        view: load[view]["requests_per_second"] / load["bare"]["requests_per_second"]
        for view in ("auth", "create", "create_spread", "read")
    }
    load["one_to_spread"] = load["create"]["requests_per_second"] / load["create_spread"]["requests_per_second"]
    load["one_to_spread_per_round"] = [
        r["create"].requests_per_second / r["create_spread"].requests_per_second for r in rounds
    ]
    load["ratio_to_auth"] = {
        view: load[view]["requests_per_second"] / load["auth"]["requests_per_second"] for view in ("create", "read")
    }
    load["bare_spread"] = common.spread([r["yardstick"].requests_per_second for r in rounds])
    results["load"] = load
    results["window"] = {
        "large_orders": args.orders,
        "small_orders": args.small_orders,
        "insert_seconds": insert_seconds,
        "insert_small_seconds": insert_small_seconds,
        "analyze_seconds": analyze_seconds,
        "explain": explain,
        "latency": latency,
    }
    goals = {
        "create_ratio": load["ratio"]["create"] >= GOAL_CREATE_RATIO,
        "create_p99_half_load": results["half_load"]["goal_met"],
        "read_ratio": load["ratio"]["read"] >= GOAL_READ_RATIO,
        "spread_ratio": load["one_to_spread"] >= GOAL_SPREAD_RATIO,
        "window_index_scan": explain["large"]["index_scan_on_ro_window"] and not explain["large"]["seq_scan"],
        "window_latency": latency["goal_met"],
    }
    results["goals"] = goals
    print_summary(results, args)
    if not goals["window_index_scan"]:
        print("  the window lookup is NOT an index scan on ro_window at 1M orders", file=sys.stderr)
    if load["bare_spread"] > NOISY_SPREAD:
        print(
            f"  warning: the bare runs differ by {load['bare_spread']:.0%} of their median: the machine is noisy; "
            "re-run on a quiet machine or with more --rounds",
            file=sys.stderr,
        )
    elapsed = time.monotonic() - started
    print(f"  goals: {', '.join(f'{name} {_met(met)}' for name, met in goals.items())}  ({elapsed:.0f} s in all)")

    document = {
        "benchmark": "orders",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "revision": common.git_revision(),
        "machine": {
            "cpus": os.cpu_count(),
            "load_before": load_average,
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "config": {
            "workers": args.workers,
            "worker_class": "sync",
            "wrk": {"threads": args.threads, "connections": args.connections, "duration_s": args.duration},
            "rounds": args.rounds,
            "warmup_s": args.warmup,
            "database": "postgresql",
            "cache": args.cache_url,
            "partner_rate_limit": RATE_LIMIT,
            "window_requests": args.window_requests,
            "elapsed_s": elapsed,
        },
        "goals": {
            "create_ratio": GOAL_CREATE_RATIO,
            "create_p99_half_load_ms": GOAL_CREATE_P99_MS,
            "read_ratio": GOAL_READ_RATIO,
            "spread_ratio": GOAL_SPREAD_RATIO,
            "window_latency_ratio": GOAL_WINDOW_RATIO,
        },
        "moonshots": {
            "create_ratio": MOONSHOT_CREATE_RATIO,
            "create_p99_half_load_ms": MOONSHOT_CREATE_P99_MS,
            "read_ratio": MOONSHOT_READ_RATIO,
            "spread_ratio": MOONSHOT_SPREAD_RATIO,
        },
        "bare": {"yardstick": load["yardstick"], "orma": load["bare"]},
        "goals_met": goals,
        "load": load,
        "rounds": [{view: result.summary() for view, result in r.items()} for r in rounds],
        "half_load": results["half_load"],
        "window": results["window"],
        "queries": results["queries"],
        "profile": results.get("profile"),
    }
    print(f"results: {common.write_results('orders', document).relative_to(common.REPO_ROOT)}")
    return 1 if args.strict and not all(goals.values()) else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench/orders.py: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
