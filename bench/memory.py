"""Benchmark: does a gunicorn worker's memory grow under a long run of repair-order creates and reads?

What is measured
    gunicorn with sync workers (2), ``DEBUG=0``, PostgreSQL, the Redis cache, the partner rate limit set to
    100000000/minute (it counts, never refuses), no ``--max-requests`` (a worker is never recycled, so a leak
    shows). The dealer, departments, customer, vehicle and partner of ``bench/orders.py``. wrk drives a mix
    (``bench/lua/mixed_orders.lua``): each connection alternates ``PUT order`` with seed 001's sample (1 job)
    under a new ``orderNumber`` and ``GET order/{orderUUID}`` of one created order, ``--connections`` (8)
    connections. First ``--warmup`` (30) seconds of that mix (imports, caches, connection pools settle),
    then each worker's RSS (``VmRSS`` of ``/proc/<pid>/status``), then ``--duration`` (300) seconds of the
    same mix, then each worker's RSS again. The workers' PIDs must be the same at both readings (a worker
    that died and was replaced would hide its growth). Goal: each worker's RSS grows < 10 % between the two.
    Every answer is checked: any non-201/200 answer, or a create count that is not half the requests, is an
    error, never a figure.

How to run
    .venv/bin/python bench/memory.py [--duration 300] [--warmup 30] [--connections 8] [--workers 2]
                                     [--keep-db] [--strict]

    Needs PostgreSQL, Redis and ``wrk``. The database, ``orma_memory_bench`` on 127.0.0.1:5432 unless
    ``DATABASE_URL`` names another (whose name must contain "bench"), is dropped and recreated, then dropped
    at the end unless ``--keep-db``. Results: ``bench/results/memory.json``; gunicorn's log:
    ``bench/results/gunicorn-memory.log``.

Exit status: 0 measured (the goal reported met or missed; ``--strict``: 1 when it is missed), 2 the
benchmark could not run (the message says why).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402
from bench.auth import forget_partner  # noqa: E402
from bench.common import BenchError, GunicornServer, WrkResult  # noqa: E402
from bench.orders import RATE_LIMIT, Fixture, create_fixture, verify, write_body_template  # noqa: E402

GOAL_GROWTH = 0.10  # issue 12: each worker's RSS grows less than 10 % over the run
DATABASE_NAME = "orma_memory_bench"
MIXED_SCRIPT = Path(__file__).resolve().parent / "lua" / "mixed_orders.lua"
_RE_MIXED_COUNTS = re.compile(r"^orma-mixed: sent=(\d+) created=(\d+) read=(\d+) other=(\d+)$", re.MULTILINE)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Worker RSS growth over a long run of mixed creates and reads.")
    parser.add_argument("--duration", type=float, default=300.0, help="seconds of the measured run (300)")
    parser.add_argument("--warmup", type=float, default=30.0, help="seconds of the same mix before the first RSS (30)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (8)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (2)")
    parser.add_argument("--cache-url", default=common.DEFAULT_CACHE_URL, help="Redis for the cache (%(default)s)")
    parser.add_argument("--keep-db", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the goal is missed")
    args = parser.parse_args(argv)
    if min(args.duration, args.warmup, args.connections, args.threads, args.workers) < 1:
        parser.error("--duration, --warmup, --connections, --threads and --workers must be at least 1")
    return args


def mixed_run(
    server: GunicornServer, fixture: Fixture, template: Path, order_uuid: str, prefix: str, args: Any, seconds: float
) -> tuple[WrkResult, dict[str, int]]:
    """One wrk run of the mix; raises unless every answer was a 201 (create) or a 200 (read), half and half."""
    read_path = f"{fixture.load.orders_path}/{order_uuid}"
    result = common.run_wrk(
        server.url(fixture.load.orders_path),
        duration=seconds,
        connections=args.connections,
        threads=args.threads,
        headers=fixture.json_headers,
        script=MIXED_SCRIPT,
        script_args=[str(template), prefix, read_path],
    )
    counts = _RE_MIXED_COUNTS.search(result.output)
    if counts is None:
        raise BenchError(f"the mixed script reported no counts:\n{result.output}")
    sent, created, read, other = (int(n) for n in counts.groups())
    # each connection alternates, so creates and reads differ by at most one per connection
    if other or created + read < result.requests or abs(created - read) > args.connections:
        raise BenchError(
            f"mixed run: {created} creates, {read} reads, {other} other answers of {result.requests} requests:\n"
            f"{result.output}"
        )
    return result, {"sent": sent, "created": created, "read": read}


def worker_rss(server: GunicornServer) -> dict[int, int]:
    """{worker PID: RSS in KiB} of the server's workers right now."""
    pids = server.worker_pids()
    if not pids:
        raise BenchError("gunicorn has no worker processes to measure (is /proc there?)")
    return {pid: common.rss_kib(pid) for pid in pids}


def growth_verdict(before: dict[int, int], after: dict[int, int], goal: float = GOAL_GROWTH) -> dict[str, Any]:
    """Each worker's RSS before and after, its growth, and whether every one stayed below ``goal``."""
    if set(before) != set(after):
        raise BenchError(
            f"the workers changed during the run ({sorted(before)} -> {sorted(after)}): a worker died or was "
            "recycled, so its growth cannot be measured"
        )
    workers = [
        {
            "pid": pid,
            "rss_after_warmup_kib": before[pid],
            "rss_end_kib": after[pid],
            "growth": (after[pid] - before[pid]) / before[pid],
        }
        for pid in sorted(before)
    ]
    worst = max(worker["growth"] for worker in workers)
    return {"workers": workers, "max_growth": worst, "goal_growth": goal, "goal_met": worst < goal}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    database_url, env, load_average = common.prepare_run(
        DATABASE_NAME, args.cache_url, {"ORMA_PARTNER_RATE_LIMIT": RATE_LIMIT}
    )
    run_id = secrets.token_hex(3)
    fixture: Fixture | None = None
    try:
        common.setup_django(env)
        common.migrate()
        fixture = create_fixture(argparse.Namespace(orders=0, small_orders=0))
        server = GunicornServer(env, workers=args.workers, log_path=common.RESULTS_DIR / "gunicorn-memory.log")
        print(f"gunicorn: {args.workers} sync workers on {server.base_url}, no --max-requests (log {server.log_path})")
        with server, tempfile.TemporaryDirectory(prefix="orma-memory-bench-") as scratch:
            order_uuid = verify(server, fixture, run_id)
            template = write_body_template(fixture, Path(scratch))
            print(f"warm-up: {args.warmup:g} s of mixed creates and reads")
            mixed_run(server, fixture, template, order_uuid, f"W{run_id}", args, args.warmup)
            before = worker_rss(server)
            print(f"RSS after the warm-up: {', '.join(f'{pid}: {kib / 1024:.1f} MiB' for pid, kib in before.items())}")
            print(f"run: {args.duration:g} s of mixed creates and reads ...")
            result, counts = mixed_run(server, fixture, template, order_uuid, f"M{run_id}", args, args.duration)
            after = worker_rss(server)
    finally:
        if fixture is not None:
            forget_partner(fixture.username)
        common.close_database_connections()
        if args.keep_db:
            print(f"database kept: {database_url}")
        else:
            common.drop_database(database_url)

    verdict = growth_verdict(before, after)
    for worker in verdict["workers"]:
        print(
            f"  worker {worker['pid']}: {worker['rss_after_warmup_kib'] / 1024:.1f} MiB -> "
            f"{worker['rss_end_kib'] / 1024:.1f} MiB ({worker['growth']:+.1%})"
        )
    print(
        f"  {result.requests:,} requests ({counts['created']:,} creates, {counts['read']:,} reads) at "
        f"{result.requests_per_second:.1f} req/s, p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms; "
        f"max growth {verdict['max_growth']:+.1%} "
        f"(goal < {GOAL_GROWTH:.0%}: {'MET' if verdict['goal_met'] else 'MISSED'})"
    )
    document = {
        "benchmark": "memory",
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
            "max_requests": 0,
            "wrk": {"threads": args.threads, "connections": args.connections},
            "warmup_s": args.warmup,
            "duration_s": args.duration,
            "elapsed_s": time.monotonic() - started,
        },
        "load": {
            "requests": result.requests,
            **counts,
            "requests_per_second": result.requests_per_second,
            "p50_ms": result.p50_ms,
            "p99_ms": result.p99_ms,
        },
        **verdict,
    }
    print(f"results: {common.write_results('memory', document).relative_to(common.REPO_ROOT)}")
    return 1 if args.strict and not verdict["goal_met"] else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench/memory.py: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
