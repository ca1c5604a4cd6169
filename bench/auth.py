"""Benchmark: what OrMa's partner authentication costs, in requests per second.

What is measured
    Two trivial DRF views answering ``{"ok": true}`` (``bench/urls.py``), served by gunicorn with two
    sync workers, ``DEBUG=0``, PostgreSQL, and the Redis cache that holds lockout counters, rate limits
    and cached credentials, as in production. Both go through OrMa's whole middleware stack:

    - ``/bench/bare``: no authentication, permission or throttle;
    - ``/bench/auth``: a ``PartnerAPIView``, i.e. HTTP Basic against the HMAC of the partner's secret,
      the lockout check, the per-partner rate limit (set to 100000000/minute: it counts, never refuses)
      and ``DepartmentScopePermission``.

    wrk drives each view in turn (after a warm-up of each): the yardstick, bare, auth, the yardstick, bare,
    auth... for ``--rounds`` rounds. The yardstick (``GET /bare`` of ``bench/yardstick``, a
    startproject-default Django with one DRF APIView, its own gunicorn) is a reference here: it shows
    what OrMa's middleware stack costs before any authentication. The report is the median
    requests/second of each view, their p50/p99 latencies, and the ratio auth/bare (OrMa's own bare view:
    the same stack, only the authentication differs). Goal: auth >= 0.9 x bare (moonshot 0.95). Before
    measuring, the script checks that ``/bench/auth`` answers 200 with the partner's credentials and 401
    without, and any non-2xx answer during a run is an error: the figures can never silently be those of
    401s.

How to run
    make bench                                   # or:
    .venv/bin/python bench/auth.py [--duration 10] [--connections 8] [--threads 2] [--rounds 3]
                                   [--warmup 2] [--workers 2] [--keep-db] [--profile 2000]

    Needs PostgreSQL, Redis and ``wrk`` (``apt-get install -y wrk``). The database, ``orma_bench`` on
    127.0.0.1:5432 unless ``DATABASE_URL`` names another (whose name must contain "bench"), is dropped
    and recreated, then dropped at the end unless ``--keep-db``. The cache is ``--cache-url``
    (default ``redis://127.0.0.1:6379/3``). Results: ``bench/results/auth.json``; gunicorn's log:
    ``bench/results/gunicorn-auth.log``.

    ``--profile N`` also runs N requests of each view in-process (Django's test client, same settings):
    the time per request, database queries and Redis round trips of each, and a cProfile of the
    authenticated path.

Exit status: 0 measured (the goal reported met or missed; ``--strict``: 1 when it is missed), 2 the
benchmark could not run (the message says why).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import secrets
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402
from bench.common import BenchError, GunicornServer, WrkResult  # noqa: E402

GOAL_RATIO = 0.9  # issue 12's milestone
MOONSHOT_RATIO = 0.95
BARE_PATH = "/bench/bare"
AUTH_PATH = "/bench/auth"
EXPECTED_BODY = {"ok": True}
RATE_LIMIT = "100000000/minute"  # the limiter counts every request but never refuses one
PROFILE_BATCH = 100  # requests per interleaved batch of the in-process profile
NOISY_SPREAD = 0.15  # bare runs further apart than this (relative to their median): warn of a noisy machine


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Requests/second of a trivial authenticated DRF view against the same view without auth."
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of each measured wrk run (10)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (8, as issue 12)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--rounds", type=int, default=3, help="bare/auth pairs of runs; medians are reported (3)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per view (2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (2)")
    parser.add_argument("--cache-url", default=common.DEFAULT_CACHE_URL, help="Redis for the cache (%(default)s)")
    parser.add_argument("--keep-db", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the goal is missed")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="also profile N in-process requests of each view (test client): time, queries, Redis round trips",
    )
    args = parser.parse_args(argv)
    if args.duration < 1 or args.connections < 1 or args.threads < 1 or args.rounds < 1 or args.workers < 1:
        parser.error("--duration, --connections, --threads, --rounds and --workers must be at least 1")
    return args


def create_partner() -> tuple[str, str]:
    """A dealer, a department and a partner with a grant on it, through the services: (username, secret)."""
    from tenancy.services import GrantSpec, dealer_create, department_create, partner_create

    dealer = dealer_create(name="Autohaus Bench")
    department = department_create(dealer=dealer, name="Service Bench")
    # A fresh username per run: credentials cached by an earlier run (same Redis) can never match it.
    username = f"bench-{secrets.token_hex(4)}"
    partner, secret = partner_create(
        name="Bench Partner", username=username, grants=[GrantSpec(department.uuid, ("order.read",))]
    )
    return partner.username, secret


def forget_partner(username: str) -> None:
    """Remove the run's rate-limit counter and cached credentials from the shared cache."""
    from django.core.cache import cache

    from tenancy.models import Partner
    from tenancy.selectors import partner_credentials_cache_key

    try:
        partner_id = Partner.objects.filter(username=username).values_list("id", flat=True).first()
        cache.delete_many([partner_credentials_cache_key(username), *([f"rate:{partner_id}"] if partner_id else [])])
    except Exception as exc:  # cleanup is best effort: never hide the error that got us here
        print(f"warning: could not clear the run's cache keys: {exc}", file=sys.stderr)


def verify(server: GunicornServer, auth: dict[str, str]) -> None:
    """The two views answer what the benchmark believes it measures."""
    common.expect_answer(server.url(BARE_PATH), 200, body=EXPECTED_BODY, label="bare view without credentials")
    common.expect_answer(server.url(AUTH_PATH), 200, auth, body=EXPECTED_BODY, label="auth view with credentials")
    common.expect_answer(server.url(AUTH_PATH), 401, label="auth view without credentials")


def measure(
    server: GunicornServer, yardstick: GunicornServer, auth: dict[str, str], args: argparse.Namespace
) -> list[dict[str, WrkResult]]:
    """Warm the views up, then alternate yardstick/bare/auth runs; one {view: result} per round."""
    views = {
        "yardstick": (yardstick.url(common.YARDSTICK_PATH), {}),
        "bare": (server.url(BARE_PATH), {}),
        "auth": (server.url(AUTH_PATH), auth),
    }

    def run(view: str, duration: float) -> WrkResult:
        url, headers = views[view]
        return common.run_wrk(
            url, duration=duration, connections=args.connections, threads=args.threads, headers=headers
        )

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
                f"round {number}/{args.rounds}  {view:<9}  {result.requests_per_second:>9.1f} req/s  "
                f"p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms"
                + (f"  socket errors {result.socket_errors}" if any(result.socket_errors.values()) else "")
            )
        rounds.append(results)
    return rounds


medians = common.medians


# --- in-process profile ---------------------------------------------------------------------------


@contextmanager
def counting_redis_round_trips() -> Iterator[Callable[[], int]]:
    """Count the commands/pipelines this process sends to Redis (one send is one round trip)."""
    from redis.connection import AbstractConnection

    original = AbstractConnection.send_packed_command
    sent = 0

    def counting(self: AbstractConnection, command: Any, check_health: bool = True) -> None:
        nonlocal sent
        sent += 1
        original(self, command, check_health)

    AbstractConnection.send_packed_command = counting  # type: ignore[method-assign]
    try:
        yield lambda: sent
    finally:
        AbstractConnection.send_packed_command = original  # type: ignore[method-assign]


def profile_in_process(auth: dict[str, str], requests: int) -> dict[str, Any]:
    """Per request of each view through Django's test client: time, queries, Redis round trips; cProfile."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    headers: dict[str, dict[str, str]] = {"bare": {}, "auth": auth}
    path = {"bare": BARE_PATH, "auth": AUTH_PATH}

    def get(view: str) -> None:
        response = client.get(path[view], headers=headers[view])
        if response.status_code != 200:
            raise BenchError(f"in-process {path[view]} answered {response.status_code}: {response.content[:200]!r}")

    views = ("bare", "auth")
    for view in views:
        for _ in range(min(requests, 200)):
            get(view)
    # Interleaved batches, so that a burst of outside load hits both views alike; the fastest batch is
    # the least disturbed estimate of a view's own cost.
    batch = min(requests, PROFILE_BATCH)
    batch_means: dict[str, list[float]] = {view: [] for view in views}
    with CaptureQueriesContext(connection) as queries, counting_redis_round_trips() as round_trips:
        counts = dict.fromkeys(views, (0, 0))
        for _ in range(max(1, requests // batch)):
            for view in views:
                queries_before, trips_before = len(queries), round_trips()
                start = time.perf_counter()
                for _ in range(batch):
                    get(view)
                batch_means[view].append((time.perf_counter() - start) / batch * 1e6)
                done_queries, done_trips = counts[view]
                counts[view] = (
                    done_queries + len(queries) - queries_before,
                    done_trips + round_trips() - trips_before,
                )
    report: dict[str, Any] = {"requests": requests}
    for view in views:
        done = len(batch_means[view]) * batch
        report[view] = {
            "microseconds_per_request": min(batch_means[view]),
            "microseconds_per_request_median": statistics.median(batch_means[view]),
            "queries_per_request": counts[view][0] / done,
            "redis_round_trips_per_request": counts[view][1] / done,
        }
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        get("auth")
    profiler.disable()
    stats = pstats.Stats(profiler)
    report["auth_profile"] = _profile_breakdown(stats, requests)
    report["_stats"] = stats
    return report


# The pieces of the authenticated path, as cProfile names them: (file suffix, function) -> label.
_AUTH_PIECES = {
    ("rest_framework/views.py", "perform_authentication"): "authentication (whole)",
    ("orma/api/counters.py", "peek"): "  lockout check: counters.peek (Redis)",
    ("tenancy/selectors.py", "partner_credentials_load"): "  credentials: cache.get (Redis)",
    ("orma/api/auth.py", "_secret_is_valid"): "  secret check: HMAC-SHA256",
    ("rest_framework/views.py", "check_throttles"): "rate limit (whole)",
    ("orma/api/counters.py", "hit"): "  counters.hit (Redis)",
    ("rest_framework/views.py", "check_permissions"): "permission",
    ("redis/connection.py", "send_packed_command"): "Redis: send (all)",
    ("redis/connection.py", "read_response"): "Redis: wait and read replies (all)",
    ("django/core/cache/backends/redis.py", "get_client"): "Django get_client (a new redis.Redis per call)",
}


def _profile_breakdown(stats: pstats.Stats, requests: int) -> dict[str, dict[str, float]]:
    breakdown: dict[str, dict[str, float]] = {}
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, function), (_cc, calls, _tottime, cumtime, _callers) in raw.items():
        for (suffix, name), label in _AUTH_PIECES.items():
            if function == name and filename.endswith(suffix):
                entry = breakdown.setdefault(label, {"calls_per_request": 0.0, "microseconds_per_request": 0.0})
                entry["calls_per_request"] += calls / requests
                entry["microseconds_per_request"] += cumtime / requests * 1e6
    return {label: breakdown[label] for label in _AUTH_PIECES.values() if label in breakdown}


def print_profile(report: dict[str, Any]) -> None:
    bare, auth = report["bare"], report["auth"]
    print(f"\nin-process profile ({report['requests']} requests per view, Django test client, no gunicorn):")
    for view, data in (("bare", bare), ("auth", auth)):
        print(
            f"  {view:<4}  {data['microseconds_per_request']:7.1f} us/request (fastest batch; median "
            f"{data['microseconds_per_request_median']:.1f})  "
            f"{data['queries_per_request']:.2f} queries  {data['redis_round_trips_per_request']:.2f} Redis round trips"
        )
    delta = auth["microseconds_per_request"] - bare["microseconds_per_request"]
    print(
        f"  authentication adds {delta:.1f} us per request in-process "
        f"(in-process ratio {bare['microseconds_per_request'] / auth['microseconds_per_request']:.3f})"
    )
    print("  authenticated path under cProfile (inflated by the profiler; compare the shares):")
    for label, entry in report["auth_profile"].items():
        print(f"    {label:<45} {entry['microseconds_per_request']:7.1f} us  {entry['calls_per_request']:.2f} calls")
    print("  top functions by own time (auth):")
    report["_stats"].sort_stats("tottime").print_stats(12)


# --- main -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    database_url, env, load = common.prepare_run(
        common.DEFAULT_DATABASE_NAME, args.cache_url, {"ORMA_PARTNER_RATE_LIMIT": RATE_LIMIT}
    )
    username = ""
    profile: dict[str, Any] | None = None
    try:
        common.setup_django(env)
        common.migrate()
        username, secret = create_partner()
        auth = {"Authorization": common.basic_auth(username, secret)}
        server = GunicornServer(env, workers=args.workers, log_path=common.RESULTS_DIR / "gunicorn-auth.log")
        yardstick = common.yardstick_server(args.workers, "gunicorn-yardstick-auth.log")
        print(f"gunicorn: {args.workers} sync workers on {server.base_url} (log {server.log_path})")
        print(f"yardstick: {args.workers} sync workers on {yardstick.base_url} (log {yardstick.log_path})")
        with server, yardstick:
            common.verify_yardstick(yardstick)
            verify(server, auth)
            rounds = measure(server, yardstick, auth, args)
        if args.profile:
            profile = profile_in_process(auth, args.profile)
    finally:
        if username:
            forget_partner(username)
        common.close_database_connections()
        if args.keep_db:
            print(f"database kept: {database_url}")
        else:
            common.drop_database(database_url)

    bare, auth_medians, yardstick_medians = (
        medians(rounds, "bare"),
        medians(rounds, "auth"),
        medians(rounds, "yardstick"),
    )
    ratio = auth_medians["requests_per_second"] / bare["requests_per_second"]
    met = ratio >= GOAL_RATIO
    print(
        f"\nOrMa auth benchmark: gunicorn {args.workers} sync workers, PostgreSQL, Redis; "
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s, median of {args.rounds} rounds"
    )
    for view, data in (("yardstick", yardstick_medians), ("bare", bare), ("auth", auth_medians)):
        print(
            f"  {view:<9}  {data['requests_per_second']:9.1f} req/s   "
            f"p50 {data['p50_ms']:6.2f} ms   p99 {data['p99_ms']:6.2f} ms"
        )
    per_round = [r["auth"].requests_per_second / r["bare"].requests_per_second for r in rounds]
    print(f"  ratio auth/bare: {ratio:.3f}  (per round: {', '.join(f'{r:.3f}' for r in per_round)})")
    print(f"  goal auth >= {GOAL_RATIO:g} x bare: {'MET' if met else 'MISSED'}")
    bare_spread = common.spread([r["bare"].requests_per_second for r in rounds])
    if bare_spread > NOISY_SPREAD:
        print(
            f"  warning: the bare runs differ by {bare_spread:.0%} of their median: the machine is noisy; "
            "re-run on a quiet machine or with more --rounds",
            file=sys.stderr,
        )
    if profile is not None:
        print_profile(profile)

    results = {
        "benchmark": "auth",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "revision": common.git_revision(),
        "machine": {
            "cpus": os.cpu_count(),
            "load_before": load,
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
        },
        "bare": bare,
        "auth": auth_medians,
        "yardstick": yardstick_medians,
        "bare_to_yardstick": bare["requests_per_second"] / yardstick_medians["requests_per_second"],
        "ratio": ratio,
        "ratio_per_round": per_round,
        "bare_spread": bare_spread,
        "goal_ratio": GOAL_RATIO,
        "moonshot_ratio": MOONSHOT_RATIO,
        "goal_met": met,
        "rounds": [{view: result.summary() for view, result in r.items()} for r in rounds],
        "profile": {k: v for k, v in profile.items() if not k.startswith("_")} if profile else None,
    }
    print(f"results: {common.write_results('auth', results).relative_to(common.REPO_ROOT)}")
    return 1 if args.strict and not met else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench/auth.py: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
