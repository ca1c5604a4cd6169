"""Benchmark: parts (seeds 002 and 003): price & availability for one part and a basket, placing orders,
and the CSV import.

What is measured
    gunicorn with sync workers (2), ``DEBUG=0``, PostgreSQL, the Redis cache, the partner rate limit set to
    100000000/minute (it counts, never refuses); a partner with ``parts.read`` and ``parts.order`` on one
    store of a dealer whose catalogue of 200 parts (every stock row holding 10^8) is loaded by the
    importer itself, one customer with a brand discount, a VOR surcharge. In one run:

    1. Load (wrk), alternating for ``--rounds`` rounds after a warm-up: the bare DRF view of
       ``bench/urls.py`` (``/bench/bare``, the yardstick), ``GET price-availability`` of one part,
       ``POST price-availability`` of a basket of 200 parts, and ``POST parts-orders`` with 10 lines (every
       request places a new order and reserves stock: the same 10 stock rows, the worst case for the row
       locks). wrk's non-2xx count proves every answer was the one intended. Goals: basket p50 <= 3 x the
       single part's p50, place order >= 0.25 x bare (medians of the rounds' requests/second).
    2. The import (``orma_import_parts`` in a subprocess, as an operator runs it): ``--import-rows``
       (100,000) generated rows into an empty catalogue, then the same file again (every row an update);
       rows per second of each, goal >= 10,000 for the first. Then ``--rss-rows`` (1,000,000) rows into
       another dealer: the command's peak RSS (``wait4``), goal < 300 MiB. One row in ten names a successor,
       one in twenty two alternatives, every row a quantity for the store.

How to run
    .venv/bin/python bench/parts.py [--duration 5] [--connections 8] [--threads 2] [--rounds 3] [--warmup 1]
                                    [--workers 2] [--import-rows 1000000] [--update-rows 100000] [--keep-db]
                                    [--only basket,order,import]

    ``--only`` runs some of it: ``basket`` the single part and the basket (the ratio's two views), ``order``
    the yardstick, ``/bench/bare`` and the parts orders, ``import`` the import; results then go to
    ``bench/results/parts-<parts>.json``, so a full run's ``parts.json`` is never overwritten by a partial one.
    ``--only import`` alone starts no server and no load catalogue, e.g. for a quick A/B of the importer:
    ``--only import --import-rows 200000 --update-rows 0``.

    Needs PostgreSQL, Redis and ``wrk``. The database, ``orma_parts_bench`` on 127.0.0.1:5432 unless
    ``DATABASE_URL`` names another (whose name must contain "bench"), is dropped and recreated, then
    dropped at the end unless ``--keep-db``. Results: ``bench/results/parts.json``; gunicorn's log:
    ``bench/results/gunicorn-parts.log``.

Exit status: 0 every goal met, 1 a goal missed, 2 the benchmark could not run (the message says why).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402
from bench.auth import forget_partner  # noqa: E402
from bench.common import BenchError, GunicornServer, WrkResult  # noqa: E402

# Issue 12's milestone goals (the moonshot beside each); "x bare" divides by the yardstick, the
# startproject-default DRF view of bench/yardstick served by its own gunicorn in the same run.
GOAL_BASKET_P50_RATIO = 3.0
MOONSHOT_BASKET_P50_RATIO = 2.0
GOAL_ORDER_RATIO = 0.10
MOONSHOT_ORDER_RATIO = 0.20
GOAL_IMPORT_ROWS_PER_SECOND = 25_000
MOONSHOT_IMPORT_ROWS_PER_SECOND = 50_000
GOAL_IMPORT_RSS_MIB = 300

DATABASE_NAME = "orma_parts_bench"
RATE_LIMIT = "100000000/minute"  # the limiter counts every request but never refuses one
SCOPES = ("parts.read", "parts.order")
BARE_PATH = "/bench/bare"
BASKET_PARTS = 200
CATALOGUE_PARTS = 5000  # the load catalogue: each parts order picks ORDER_LINES distinct parts of it
ORDER_LINES = 10
ON_HAND = 10**8
HEADER = (
    "partId,brandCode,partCode,description,netPrice,currencyCode,taxRate,unitOfSale,weightKg,"
    "supersededBy,alternatives,mandatoryVehicleReferences,quantityOnHand\n"
)
# wrk: POST the body held in the file given after "--" (Authorization and Content-Type come from -H).
POST_SCRIPT = """
function init(args)
   local file = assert(io.open(args[1], "rb"), "cannot open the body " .. tostring(args[1]))
   wrk.body = file:read("*a")
   file:close()
   wrk.method = "POST"
end
"""
ORDER_SCRIPT = Path(__file__).resolve().parent / "lua" / "place_parts_order.lua"
VIEWS = ("yardstick", "bare", "single", "basket", "order")
# What ``--only`` names, and the load views each needs (run in VIEWS' order).
ONLY = {"basket": ("single", "basket"), "order": ("yardstick", "bare", "order"), "import": ()}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Parts over HTTP against the bare DRF view; the CSV import.")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds of each measured wrk run (5)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (8)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--rounds", type=int, default=3, help="runs per view; medians (3)")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of warm-up per view (1)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (2)")
    parser.add_argument(
        "--catalogue", type=int, default=CATALOGUE_PARTS, help=f"parts of the load catalogue ({CATALOGUE_PARTS})"
    )
    parser.add_argument(
        "--import-rows", type=int, default=1_000_000, help="rows of the timed import: rows/s and peak RSS (1000000)"
    )
    parser.add_argument(
        "--update-rows", type=int, default=100_000, help="rows imported twice, the second all updates (100000; 0: none)"
    )
    parser.add_argument("--cache-url", default=common.DEFAULT_CACHE_URL, help="Redis for the cache (%(default)s)")
    parser.add_argument("--keep-db", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal is missed")
    parser.add_argument(
        "--only",
        type=_only,
        default=tuple(ONLY),
        help=f"comma-separated parts of the run: {', '.join(ONLY)} (all); basket: the single part and the basket",
    )
    args = parser.parse_args(argv)
    if min(args.duration, args.connections, args.threads, args.rounds, args.workers, args.import_rows) < 1:
        parser.error("--duration, --connections, --threads, --rounds, --workers and --import-rows must be >= 1")
    if args.catalogue < max(BASKET_PARTS, 4 * ORDER_LINES):
        parser.error(f"--catalogue must hold at least {max(BASKET_PARTS, 4 * ORDER_LINES)} parts")
    return args


def _only(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    unknown = [name for name in names if name not in ONLY]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"expected some of {', '.join(ONLY)}, not {text!r}")
    return names


def views_of(only: tuple[str, ...]) -> tuple[str, ...]:
    """The load views the parts of ``--only`` need, in VIEWS' order."""
    wanted = {view for name in only for view in ONLY[name]}
    return tuple(view for view in VIEWS if view in wanted)


# --- data -----------------------------------------------------------------------------------------


def write_catalogue(path: Path, rows: int, *, prefix: str = "P", on_hand: int | None = None, seed: int = 1) -> Path:
    """A catalogue CSV of ``rows`` parts: one in ten superseded by the next, one in twenty with two alternatives."""
    chance = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        for n in range(1, rows + 1):
            successor = f"{prefix}{n + 1:07d}" if n % 10 == 1 and n < rows else ""
            alternatives = f"{prefix}{n % rows + 1:07d}|{prefix}{(n + 7) % rows + 1:07d}" if n % 20 == 0 else ""
            quantity = on_hand if on_hand is not None else chance.randint(0, 50)
            out.write(
                f"{prefix}{n:07d},VW,{n:07d},Part number {n} for the catalogue,{chance.randint(1, 99999) / 100},"
                f"EUR,19,1,{chance.randint(1, 9999) / 1000},{successor},{alternatives},,{quantity}\n"
            )
    return path


@dataclass(frozen=True)
class Fixture:
    username: str
    secret: str
    dealer_uuid: str
    store_uuid: str
    customer_uuid: str
    part_ids: tuple[str, ...]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": common.basic_auth(self.username, self.secret)}

    @property
    def json_headers(self) -> dict[str, str]:
        return {**self.auth, "Content-Type": "application/json"}

    @property
    def base(self) -> str:
        return f"/parts-api/{self.dealer_uuid}/{self.store_uuid}/v1"


def create_fixture(scratch: Path, catalogue_parts: int) -> Fixture:
    """The load test's dealer, store, customer, partner and catalogue: through the services and the importer."""
    from orders.services import customer_create
    from parts.importing import parts_import
    from parts.models import CustomerDiscount, Part, Surcharge
    from tenancy import services
    from tenancy.choices import DepartmentType
    from tenancy.services import GrantSpec

    dealer = services.dealer_create(name="Autohaus Parts Bench")
    store = services.department_create(dealer=dealer, name="Teile", type=DepartmentType.PARTS)
    customer = customer_create(
        dealer=dealer,
        data={"familyName": "Muster", "invoiceAddress": {"streetName": "Hauptstr. 1", "city": "Berlin"}},
    )
    CustomerDiscount.objects.create(customer=customer, brand_code="V", percent=Decimal("12.5"))
    Surcharge.objects.create(dealer=dealer, order_type="VOR", percent=Decimal("5"))
    catalogue = write_catalogue(scratch / "load.csv", catalogue_parts, prefix="L", on_hand=ON_HAND)
    result = parts_import(path=catalogue, dealer=dealer, store=store, progress=False)
    if result.errors:
        raise BenchError(f"importing the load catalogue failed: {result.as_json()['errors'][:3]}")
    # A fresh username per run: credentials cached by an earlier run (same Redis) can never match it.
    username = f"parts-bench-{secrets.token_hex(4)}"
    _, secret = services.partner_create(
        name="Parts Bench Partner", username=username, grants=[GrantSpec(store.uuid, SCOPES)]
    )
    part_ids = tuple(Part.objects.filter(dealer=dealer).order_by("part_id").values_list("part_id", flat=True))
    return Fixture(username, secret, str(dealer.uuid), str(store.uuid), str(customer.uuid), part_ids)


def basket_body(fixture: Fixture) -> dict[str, Any]:
    return {
        "customerId": fixture.customer_uuid,
        "orderType": "VOR",
        "parts": [{"partId": part_id, "quantity": 1} for part_id in fixture.part_ids[:BASKET_PARTS]],
    }


def orderable_parts(fixture: Fixture) -> list[str]:
    """The catalogue's parts that no successor supersedes (every tenth part is superseded by the next)."""
    return [part_id for part_id in fixture.part_ids if int(part_id[1:]) % 10 != 1]


def order_body(fixture: Fixture, parts: list[str] | None = None) -> dict[str, Any]:
    """A parts order of ORDER_LINES lines, one of each of ``parts`` (default: the first orderable ones)."""
    current = parts if parts is not None else orderable_parts(fixture)[:ORDER_LINES]
    return {
        "customerId": fixture.customer_uuid,
        "orderType": "STK",
        "orderReference": "bench",
        "parts": [{"part": {"partId": part_id}, "quantity": 1} for part_id in current],
    }


def single_url(server: GunicornServer, fixture: Fixture) -> str:
    query = urlencode({"partId": fixture.part_ids[1], "quantity": 2, "customerId": fixture.customer_uuid})
    return server.url(f"{fixture.base}/price-availability?{query}")


# --- checks before measuring ----------------------------------------------------------------------


def verify(server: GunicornServer, fixture: Fixture, views: tuple[str, ...] = VIEWS) -> None:
    """The answers measured are the ones intended (the yardstick is checked by ``common.verify_yardstick``)."""
    common.expect_answer(server.url(BARE_PATH), 200, body={"ok": True}, label="bare view")
    status, content = common.http_get(single_url(server, fixture), fixture.auth)
    single = json.loads(content or b"{}")
    if status != 200 or single.get("availability") != "IN_STOCK":
        raise BenchError(f"price & availability of one part: expected 200 IN_STOCK, got {status}: {content[:300]!r}")
    url = server.url(f"{fixture.base}/price-availability")
    status, content = common.http_request("POST", url, json.dumps(basket_body(fixture)).encode(), fixture.json_headers)
    basket = json.loads(content or b"{}")
    if status != 200 or len(basket.get("parts", [])) != BASKET_PARTS:
        raise BenchError(f"the basket: expected 200 with {BASKET_PARTS} parts, got {status}: {content[:300]!r}")
    if "order" not in views:
        return  # no order placed: a run of the basket alone leaves the stock rows as the import wrote them
    url = server.url(f"{fixture.base}/parts-orders")
    # the last orderable parts of the catalogue: what a random pick of the wrk script may draw
    body = order_body(fixture, orderable_parts(fixture)[-ORDER_LINES:])
    status, content = common.http_request("POST", url, json.dumps(body).encode(), fixture.json_headers)
    order = json.loads(content or b"{}")
    statuses = {line.get("partsOrderLineStatus") for line in order.get("parts", [])}
    if status != 201 or len(order.get("parts", [])) != ORDER_LINES or statuses != {"RESERVED"}:
        raise BenchError(
            f"placing an order: expected 201 with {ORDER_LINES} RESERVED lines, got {status}: {content[:300]!r}"
        )


# --- load -----------------------------------------------------------------------------------------


_RE_ORDER_COUNTS = re.compile(r"^orma-parts-order: sent=(\d+) created=(\d+) other=(\d+)$", re.MULTILINE)
PARTS_PLACEHOLDER = "{parts}"


def write_order_inputs(fixture: Fixture, scratch: Path) -> tuple[Path, Path]:
    """The orderable part ids (one a line) and the order body with ``{parts}`` as its lines, for the wrk script."""
    parts = scratch / "orderable-parts.txt"
    parts.write_text("\n".join(orderable_parts(fixture)) + "\n")
    body = {**order_body(fixture), "parts": "__PARTS__"}
    template = scratch / "order-template.json"
    template.write_text(json.dumps(body, separators=(",", ":")).replace('"__PARTS__"', PARTS_PLACEHOLDER))
    return parts, template


def measure_load(
    server: GunicornServer,
    yardstick: GunicornServer,
    fixture: Fixture,
    scratch: Path,
    args: argparse.Namespace,
) -> list[dict[str, WrkResult]]:
    """Warm the views of ``--only`` up (all five by default), then alternate them; one {view: result} per round."""
    views = views_of(args.only)
    script = scratch / "post.lua"
    script.write_text(POST_SCRIPT)
    (scratch / "basket.json").write_text(json.dumps(basket_body(fixture), separators=(",", ":")))
    parts_file, order_template = write_order_inputs(fixture, scratch)

    def run(view: str, duration: float) -> WrkResult:
        options: dict[str, Any] = {"duration": duration, "connections": args.connections, "threads": args.threads}
        if view == "yardstick":
            return common.run_wrk(yardstick.url(common.YARDSTICK_PATH), **options)
        if view == "bare":
            return common.run_wrk(server.url(BARE_PATH), **options)
        if view == "single":
            return common.run_wrk(single_url(server, fixture), headers=fixture.auth, **options)
        if view == "basket":
            return common.run_wrk(
                server.url(f"{fixture.base}/price-availability"),
                headers=fixture.json_headers,
                script=script,
                script_args=[str(scratch / "basket.json")],
                **options,
            )
        result = common.run_wrk(
            server.url(f"{fixture.base}/parts-orders"),
            headers=fixture.json_headers,
            script=ORDER_SCRIPT,
            script_args=[str(parts_file), str(order_template), str(ORDER_LINES)],
            **options,
        )
        counts = _RE_ORDER_COUNTS.search(result.output)
        if counts is None:
            raise BenchError(f"the parts-order script reported no counts:\n{result.output}")
        _sent, created, other = (int(n) for n in counts.groups())
        if other or created != result.requests:
            raise BenchError(f"{other} of {created + other} parts-order answers were not 201:\n{result.output}")
        return result

    if args.warmup > 0:
        print(f"warm-up: {args.warmup:g}s per view")
        for view in views:
            run(view, args.warmup)
    rounds: list[dict[str, WrkResult]] = []
    for number in range(1, args.rounds + 1):
        results: dict[str, WrkResult] = {}
        for view in views:
            results[view] = result = run(view, args.duration)
            print(
                f"round {number}/{args.rounds}  {view:<9} {result.requests_per_second:>9.1f} req/s  "
                f"p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms"
            )
        rounds.append(results)
    return rounds


medians = common.medians


# --- import ---------------------------------------------------------------------------------------


def run_import(env: dict[str, str], path: Path, dealer_uuid: str, store_uuid: str, rows: int) -> dict[str, Any]:
    """``orma_import_parts`` in a subprocess: its JSON answer, wall time, rows per second and peak RSS."""
    command = [
        sys.executable,
        str(common.REPO_ROOT / "manage.py"),
        "orma_import_parts",
        str(path),
        "--dealer",
        dealer_uuid,
        "--store",
        store_uuid,
        "--json",
        "--no-progress",
    ]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        process = subprocess.Popen(command, cwd=common.REPO_ROOT, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)  # the child's own peak RSS, not the benchmark's
        seconds = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        answer, problems = out.read().decode(), err.read().decode()
    if process.returncode != 0:
        raise BenchError(f"orma_import_parts failed ({process.returncode}): {problems[-1000:] or answer[-1000:]}")
    result = json.loads(answer)
    if result["created"] + result["updated"] != rows or result["errors"]:
        raise BenchError(f"orma_import_parts imported {result} of {rows} rows")
    rss_mib = usage.ru_maxrss / 1024  # kilobytes on Linux
    return {**result, "seconds": seconds, "rows_per_second": rows / seconds, "peak_rss_mib": rss_mib}


def measure_import(env: dict[str, str], scratch: Path, args: argparse.Namespace) -> dict[str, Any]:
    from tenancy import services
    from tenancy.choices import DepartmentType

    def new_store(name: str) -> tuple[str, str]:
        dealer = services.dealer_create(name=name)
        store = services.department_create(dealer=dealer, name="Teile", type=DepartmentType.PARTS)
        return str(dealer.uuid), str(store.uuid)

    results: dict[str, Any] = {}
    # The goal's run: --import-rows (1M) new rows into an empty catalogue; rows/s and peak RSS of that run.
    path = write_catalogue(scratch / "import.csv", args.import_rows)
    dealer_uuid, store_uuid = new_store("Autohaus Import Bench")
    results["create"] = outcome = run_import(env, path, dealer_uuid, store_uuid, args.import_rows)
    print(
        f"import: {args.import_rows:,} new rows in {outcome['seconds']:.1f} s = "
        f"{outcome['rows_per_second']:,.0f} rows/s, peak RSS {outcome['peak_rss_mib']:.0f} MiB"
    )
    path.unlink()
    if args.update_rows:  # a reference, no goal: the same file twice, the second time every row an update
        path = write_catalogue(scratch / "update.csv", args.update_rows, prefix="U")
        dealer_uuid, store_uuid = new_store("Autohaus Update Bench")
        for label in ("update_first", "update"):
            results[label] = outcome = run_import(env, path, dealer_uuid, store_uuid, args.update_rows)
            print(
                f"import {label}: {args.update_rows:,} rows in {outcome['seconds']:.1f} s = "
                f"{outcome['rows_per_second']:,.0f} rows/s, peak RSS {outcome['peak_rss_mib']:.0f} MiB"
            )
        path.unlink()
    return results


def count_queries(fixture: Fixture, views: tuple[str, ...] = VIEWS) -> dict[str, int]:
    """SQL statements of one request of each endpoint, in-process (Django's test client, same settings and data)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    orderable = orderable_parts(fixture)
    requests = {
        "single": lambda: client.get(
            f"{fixture.base}/price-availability",
            {"partId": fixture.part_ids[1], "quantity": 2, "customerId": fixture.customer_uuid},
            headers=fixture.auth,
        ),
        "basket": lambda: client.post(
            f"{fixture.base}/price-availability", basket_body(fixture), "application/json", headers=fixture.auth
        ),
        "order": lambda: client.post(
            f"{fixture.base}/parts-orders",
            order_body(fixture, random.sample(orderable, ORDER_LINES)),
            "application/json",
            headers=fixture.auth,
        ),
    }
    expected = {"single": 200, "basket": 200, "order": 201}
    counts: dict[str, int] = {}
    for name, request in requests.items():
        if name not in views:
            continue
        request()  # warm: credentials cached, nothing loaded lazily for the first time
        with CaptureQueriesContext(connection) as queries:
            response = request()
        if response.status_code != expected[name]:
            raise BenchError(f"in-process {name} answered {response.status_code}: {response.content[:300]!r}")
        counts[name] = len(queries.captured_queries)
    return counts


# --- main -----------------------------------------------------------------------------------------


def main_import(args: argparse.Namespace) -> int:
    """``--only import``: the import's figures alone, in ``bench/results/parts-import.json``."""
    common.check_redis(args.cache_url)
    database_url = common.bench_database_url(DATABASE_NAME)
    env = common.server_env(settings_module="bench.settings", database_url=database_url, cache_url=args.cache_url)
    load_average = common.machine_load()
    busy = common.busy_machine_warning(load_average)
    if busy:
        print(f"warning: {busy}", file=sys.stderr)
    started = time.monotonic()
    print(f"database: {database_url} (recreated)")
    common.recreate_database(database_url)
    try:
        common.setup_django(env)
        common.migrate()
        with tempfile.TemporaryDirectory(prefix="orma-parts-bench-") as directory:
            outcome = measure_import(env, Path(directory), args)
    finally:
        common.close_database_connections()
        if args.keep_db:
            print(f"database kept: {database_url}")
        else:
            common.drop_database(database_url)
    create = outcome["create"]
    goals = {
        "import_rows_per_second": create["rows_per_second"] >= GOAL_IMPORT_ROWS_PER_SECOND,
        "import_rss": create["peak_rss_mib"] < GOAL_IMPORT_RSS_MIB,
    }
    results = {
        "import": outcome,
        "goals": {
            "import_rows_per_second_min": GOAL_IMPORT_ROWS_PER_SECOND,
            "import_rss_mib_max": GOAL_IMPORT_RSS_MIB,
            "met": goals,
        },
        "settings": vars(args),
        "machine": {"cpus": os.cpu_count(), "load_average_before": load_average, "busy": busy},
        "revision": common.git_revision(),
        "seconds": time.monotonic() - started,
    }
    print(f"results: {common.write_results('parts-import', results)}")
    missed = [name for name, met in goals.items() if not met]
    if missed:
        print(f"goals missed: {', '.join(missed)}", file=sys.stderr)
    return 1 if args.strict and missed else 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.only == ("import",):  # no servers, no load catalogue
        return main_import(args)
    common.require_wrk()
    common.check_redis(args.cache_url)
    database_url = common.bench_database_url(DATABASE_NAME)
    env = common.server_env(
        settings_module="bench.settings",
        database_url=database_url,
        cache_url=args.cache_url,
        extra={"ORMA_PARTNER_RATE_LIMIT": RATE_LIMIT},
    )
    load_average = common.machine_load()
    busy = common.busy_machine_warning(load_average)
    if busy:
        print(f"warning: {busy}", file=sys.stderr)
    started = time.monotonic()
    print(f"database: {database_url} (recreated)")
    common.recreate_database(database_url)
    fixture: Fixture | None = None
    results: dict[str, Any] = {}
    try:
        common.setup_django(env)
        common.migrate()
        with tempfile.TemporaryDirectory(prefix="orma-parts-bench-") as directory:
            scratch = Path(directory)
            fixture = create_fixture(scratch, args.catalogue)
            server = GunicornServer(env, workers=args.workers, log_path=common.RESULTS_DIR / "gunicorn-parts.log")
            yardstick = common.yardstick_server(args.workers, "gunicorn-yardstick-parts.log")
            print(f"gunicorn: {args.workers} sync workers on {server.base_url} (log {server.log_path})")
            print(f"yardstick: {args.workers} sync workers on {yardstick.base_url} (log {yardstick.log_path})")
            with server, yardstick:
                common.verify_yardstick(yardstick)
                verify(server, fixture, views_of(args.only))
                rounds = measure_load(server, yardstick, fixture, scratch, args)
            results["queries"] = count_queries(fixture, views_of(args.only))
            if "import" in args.only:
                results["import"] = measure_import(env, scratch, args)
    finally:
        if fixture is not None:
            forget_partner(fixture.username)
        common.close_database_connections()
        if args.keep_db:
            print(f"database kept: {database_url}")
        else:
            common.drop_database(database_url)

    load: dict[str, Any] = {view: medians(rounds, view) for view in views_of(args.only)}
    goals = {}
    if "basket" in args.only:
        load["basket_p50_ratio"] = load["basket"]["p50_ms"] / load["single"]["p50_ms"]
        goals["basket_p50_ratio"] = load["basket_p50_ratio"] <= GOAL_BASKET_P50_RATIO
    if "order" in args.only:
        load["order_ratio"] = load["order"]["requests_per_second"] / load["yardstick"]["requests_per_second"]
        load["order_ratio_to_orma_bare"] = load["order"]["requests_per_second"] / load["bare"]["requests_per_second"]
        load["bare_spread"] = common.spread([r["yardstick"].requests_per_second for r in rounds])
        results["bare"] = {"yardstick": load["yardstick"], "orma": load["bare"]}
        goals["order_ratio"] = load["order_ratio"] >= GOAL_ORDER_RATIO
    results["load"] = load
    if "import" in args.only:
        goals["import_rows_per_second"] = results["import"]["create"]["rows_per_second"] >= GOAL_IMPORT_ROWS_PER_SECOND
        goals["import_rss"] = results["import"]["create"]["peak_rss_mib"] < GOAL_IMPORT_RSS_MIB
    results.update(
        {
            "goals": {
                "basket_p50_ratio_max": GOAL_BASKET_P50_RATIO,
                "order_ratio_min": GOAL_ORDER_RATIO,
                "import_rows_per_second_min": GOAL_IMPORT_ROWS_PER_SECOND,
                "import_rss_mib_max": GOAL_IMPORT_RSS_MIB,
                "met": goals,
            },
            "moonshots": {
                "basket_p50_ratio_max": MOONSHOT_BASKET_P50_RATIO,
                "order_ratio_min": MOONSHOT_ORDER_RATIO,
                "import_rows_per_second_min": MOONSHOT_IMPORT_ROWS_PER_SECOND,
            },
            "rounds": [{view: result.summary() for view, result in r.items()} for r in rounds],
            "settings": vars(args),
            "machine": {
                "platform": platform.platform(),
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "load_average_before": load_average,
                "busy": busy,
            },
            "revision": common.git_revision(),
            "seconds": time.monotonic() - started,
        }
    )
    path = common.write_results("parts" if args.only == tuple(ONLY) else "parts-" + "-".join(args.only), results)
    if "basket" in args.only:
        print(
            f"basket p50 {load['basket']['p50_ms']:.2f} ms = {load['basket_p50_ratio']:.2f} x single "
            f"(single p50 {load['single']['p50_ms']:.2f} ms; goal <= {GOAL_BASKET_P50_RATIO:g})"
        )
    if "order" in args.only:
        print(
            f"place order {load['order']['requests_per_second']:.1f} req/s = "
            f"{load['order_ratio']:.2f} x bare (goal >= {GOAL_ORDER_RATIO:g})"
        )
    print(f"results: {path}")
    missed = [name for name, met in goals.items() if not met]
    if missed:
        print(f"goals missed: {', '.join(missed)}", file=sys.stderr)
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
