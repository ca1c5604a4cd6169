"""Shared plumbing of the benchmarks: a fresh PostgreSQL database, a gunicorn server, wrk runs.

A benchmark script (``bench/auth.py``, ``bench/orders.py``...) typically:

1. checks its tools (:func:`require_wrk`, :func:`check_redis`);
2. recreates its database (:func:`bench_database_url`, :func:`recreate_database`);
3. builds a production-like server environment (:func:`server_env`), adopts it in its own process
   (:func:`setup_django`) to migrate (:func:`migrate`) and create its data through the services;
4. starts gunicorn on a free port with that environment (:class:`GunicornServer`), checks the answers it
   is about to measure (:func:`http_get`), and drives load with :func:`run_wrk`;
5. writes its results (:func:`write_results`) and drops the database (:func:`drop_database`).

Nothing here kills a process other than the gunicorn master it started itself, by its PID.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO_ROOT / "bench" / "results"
VENV_BIN = Path(sys.prefix) / "bin"  # the venv running the benchmark (``.venv/bin/python bench/...``)

DEFAULT_DATABASE_NAME = "orma_bench"
DEFAULT_DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DEFAULT_DATABASE_NAME}"
DEFAULT_CACHE_URL = "redis://127.0.0.1:6379/3"
BENCH_SECRET_KEY = "orma-bench-only-secret-key-never-use-in-production-6b1f0c2e9a7d4853"

# Settings variables of orma/settings.py (and gunicorn's own) that a developer's shell may carry; the
# servers a benchmark starts get exactly the benchmark's values, never one of these by accident.
_INHERITED_SETTINGS = frozenset(
    {
        "DEBUG",
        "SECRET_KEY",
        "DATABASE_URL",
        "DB_CONN_MAX_AGE",
        "DB_CONNECT_TIMEOUT",
        "CELERY_BROKER_URL",
        "CACHE_URL",
        "ALLOWED_HOSTS",
        "CSRF_TRUSTED_ORIGINS",
        "LOG_LEVEL",
        "STATIC_ROOT",
        "DJANGO_SETTINGS_MODULE",
        "GUNICORN_CMD_ARGS",
        "WEB_CONCURRENCY",
    }
)
_INHERITED_PREFIXES = ("ORMA_", "SECURE_")


class BenchError(Exception):
    """The benchmark cannot run, or would measure the wrong thing; the message says why."""


# --- tools and services ---------------------------------------------------------------------------


def require_wrk() -> str:
    """The path of ``wrk``, or a :class:`BenchError` saying how to install it."""
    path = shutil.which("wrk")
    if path is None:
        raise BenchError(
            "wrk is not installed (https://github.com/wg/wrk): `apt-get install -y wrk` on Debian/Ubuntu, "
            "`brew install wrk` on macOS"
        )
    return path


def check_redis(url: str) -> None:
    """Raise :class:`BenchError` unless the Redis at ``url`` answers PING."""
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping()
    except redis.RedisError as exc:
        raise BenchError(f"Redis at {url} is not reachable: {exc}") from exc


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


# --- database -------------------------------------------------------------------------------------


def bench_database_url(default_name: str = DEFAULT_DATABASE_NAME) -> str:
    """``DATABASE_URL`` when set, else the local default; PostgreSQL only, and a name that says "bench".

    The benchmark drops and recreates this database, so a ``DATABASE_URL`` left in the shell for the
    development database must not be taken at its word.
    """
    url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL.replace(DEFAULT_DATABASE_NAME, default_name)
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise BenchError(f"the benchmarks run on PostgreSQL; DATABASE_URL is {parts.scheme or url!r}")
    name = parts.path.lstrip("/")
    if "bench" not in name:
        raise BenchError(
            f"refusing to drop and recreate database {name!r}: a benchmark database's name must contain "
            f"'bench' (unset DATABASE_URL to use {default_name!r})"
        )
    return url


def _database_name_and_admin_url(url: str) -> tuple[str, str]:
    """The database's name, and the URL of the ``postgres`` maintenance database on the same server."""
    parts = urlsplit(url)
    return parts.path.lstrip("/"), urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))


def recreate_database(url: str) -> None:
    """Drop the database at ``url`` if it exists (disconnecting its sessions) and create it empty."""
    _admin(url, "DROP DATABASE IF EXISTS {name} WITH (FORCE)", "CREATE DATABASE {name}")


def drop_database(url: str) -> None:
    """Drop the database at ``url`` (disconnecting its sessions); nothing when it does not exist."""
    _admin(url, "DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _admin(url: str, *statements: str) -> None:
    import psycopg
    from psycopg import sql

    name, admin_url = _database_name_and_admin_url(url)
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
            for statement in statements:
                conn.execute(sql.SQL(statement).format(name=sql.Identifier(name)))
    except psycopg.Error as exc:
        raise BenchError(f"PostgreSQL ({admin_url}): {exc}") from exc


# --- environment and Django -----------------------------------------------------------------------


def server_env(
    *,
    settings_module: str,
    database_url: str,
    cache_url: str = DEFAULT_CACHE_URL,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """A production-like environment: ``DEBUG=0``, PostgreSQL, Redis cache, no SSL redirect, WARNING logs.

    The caller's own settings variables are dropped, so the benchmark measures the configuration it
    states and nothing left over in the shell. The doorbell publishes to the default broker (the filesystem
    transport) unless ``extra`` names another; no worker consumes it: a benchmark measures the API, and the
    outbox rows stay in the database. Its folder is the run's own (:func:`broker_dir`), removed at exit: under
    ``var/celery`` the doorbells of every run piled up (134,031 files, 536 MiB, seen here) for the next
    ``make run``'s worker to churn through, each for a row of a dropped database.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in _INHERITED_SETTINGS and not key.startswith(_INHERITED_PREFIXES)
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": settings_module,
            "DEBUG": "0",
            "SECRET_KEY": BENCH_SECRET_KEY,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "DATABASE_URL": database_url,
            "CACHE_URL": cache_url,
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            "ORMA_CELERY_DIR": str(broker_dir()),
        }
    )
    env.update(extra or {})
    return env


_broker_dir: Path | None = None


def broker_dir() -> Path:
    """This process's folder for the filesystem broker's messages (made once, removed when the process exits)."""
    global _broker_dir
    if _broker_dir is None:
        _broker_dir = Path(tempfile.mkdtemp(prefix="orma-bench-broker-"))
        atexit.register(shutil.rmtree, _broker_dir, ignore_errors=True)
    return _broker_dir


def setup_django(env: Mapping[str, str]) -> None:
    """Adopt ``env`` in this process and set Django up with it (once per process).

    The benchmark's own process then shares the server's settings exactly: same database, same cache,
    same partner-secret key, so what it creates through the services is what the server sees.
    """
    os.environ.clear()
    os.environ.update(env)
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    import django

    django.setup()


def migrate() -> None:
    """Apply every migration to the (fresh) database, quietly."""
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def close_database_connections() -> None:
    """Close this process's connections, so that the database can be dropped."""
    from django.db import connections

    connections.close_all()


# --- gunicorn -------------------------------------------------------------------------------------


@dataclass
class GunicornServer:
    """gunicorn (``orma.wsgi:application``) with sync workers on 127.0.0.1, started and stopped by its PID.

    ``env`` must carry ``DJANGO_SETTINGS_MODULE`` (see :func:`server_env`). The server's output goes to
    ``log_path`` (under ``bench/results/``), whose tail is shown when the server fails to come up.
    Use it as a context manager; :meth:`stop` is idempotent.
    """

    env: Mapping[str, str]
    workers: int = 2
    app: str = "orma.wsgi:application"
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    log_path: Path = RESULTS_DIR / "gunicorn.log"
    startup_timeout: float = 30.0
    extra_args: Sequence[str] = ()
    chdir: Path = REPO_ROOT
    health_path: str = "/healthz"
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    _log: IO[bytes] | None = field(default=None, init=False)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def command(self) -> list[str]:
        return [
            str(VENV_BIN / "gunicorn"),
            self.app,
            "--chdir",
            str(self.chdir),
            "--bind",
            f"{self.host}:{self.port}",
            "--workers",
            str(self.workers),
            "--worker-class",
            "sync",
            "--log-level",
            "warning",
            "--graceful-timeout",
            "5",
            *self.extra_args,
        ]

    def start(self) -> None:
        if "DJANGO_SETTINGS_MODULE" not in self.env:
            raise BenchError("the server environment names no DJANGO_SETTINGS_MODULE")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.command, cwd=self.chdir, env=dict(self.env), stdout=self._log, stderr=subprocess.STDOUT
        )
        self._wait_until_healthy()

    def _wait_until_healthy(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.startup_timeout
        last_error = ""
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"gunicorn exited with status {self.process.returncode}\n{self.log_tail()}")
            try:
                status, _ = http_get(self.url(self.health_path), timeout=1.0)
            except OSError as exc:
                last_error = str(exc)
            else:
                if status == 200:
                    return
                last_error = f"{self.health_path} answered {status}"
            time.sleep(0.1)
        raise BenchError(
            f"gunicorn did not become healthy in {self.startup_timeout:.0f}s ({last_error})\n{self.log_tail()}"
        )

    def worker_pids(self) -> list[int]:
        """The PIDs of the master's worker processes (its children, read from ``/proc``), sorted."""
        if self.process is None:
            return []
        return children_of(self.process.pid)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM to the master (it stops its workers), SIGKILL to it if it does not exit in time."""
        process, self.process = self.process, None
        try:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout)
        finally:
            if self._log is not None:
                self._log.close()
                self._log = None

    def __enter__(self) -> GunicornServer:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


# --- the yardstick: a bare DRF APIView in a startproject-default Django ----------------------------

YARDSTICK_DIR = REPO_ROOT / "bench" / "yardstick"
YARDSTICK_PATH = "/bare"
YARDSTICK_BODY = {"ok": True}


def yardstick_env() -> dict[str, str]:
    """The yardstick's environment: this one without OrMa's settings variables, and its own settings module."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in _INHERITED_SETTINGS and not key.startswith(_INHERITED_PREFIXES)
    }
    env.update({"DJANGO_SETTINGS_MODULE": "yardstick.settings", "PYTHONUNBUFFERED": "1"})
    return env


def yardstick_server(workers: int = 2, log_name: str = "gunicorn-yardstick.log") -> GunicornServer:
    """gunicorn (``workers`` sync workers) serving ``bench/yardstick``, the denominator of every "x bare" ratio.

    Issue 12's yardstick is "a bare DRF APIView in a startproject-default Django": that project, served by
    its own gunicorn in the same run as OrMa's, so both see the same machine at the same time.
    """
    return GunicornServer(
        yardstick_env(),
        workers=workers,
        app="yardstick.wsgi:application",
        chdir=YARDSTICK_DIR,
        health_path=YARDSTICK_PATH,
        log_path=RESULTS_DIR / log_name,
    )


def verify_yardstick(server: GunicornServer) -> None:
    """The yardstick answers 200 ``{"ok": true}``: the benchmark divides by the view it believes it measures."""
    expect_answer(server.url(YARDSTICK_PATH), 200, body=YARDSTICK_BODY, label="yardstick (startproject DRF view)")


# --- processes ------------------------------------------------------------------------------------


def children_of(pid: int) -> list[int]:
    """PIDs whose parent is ``pid`` (``/proc/*/stat``), sorted; empty where ``/proc`` is not there."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended while we looked
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return sorted(children)


def rss_kib(pid: int) -> int:
    """The resident set size of ``pid`` in KiB (``VmRSS`` of ``/proc/<pid>/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise BenchError(f"/proc/{pid}/status has no VmRSS")


# --- HTTP -----------------------------------------------------------------------------------------


def basic_auth(username: str, secret: str) -> str:
    """The value of an ``Authorization`` header for HTTP Basic."""
    return "Basic " + base64.b64encode(f"{username}:{secret}".encode()).decode("ascii")


def http_get(url: str, headers: Mapping[str, str] | None = None, timeout: float = 5.0) -> tuple[int, bytes]:
    """(status, body) of a GET; error statuses are answers too, only connection failures raise."""
    request = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()


def http_request(
    method: str,
    url: str,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> tuple[int, bytes]:
    """(status, body) of any request; error statuses are answers too, only connection failures raise."""
    request = urllib.request.Request(url, data=body, headers=dict(headers or {}), method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct``-th percentile (0-100) of ``values``, interpolated between the nearest ranks."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    rank = (len(ordered) - 1) * pct / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def expect_answer(
    url: str, status: int, headers: Mapping[str, str] | None = None, body: Any = None, label: str = ""
) -> None:
    """Raise :class:`BenchError` unless a GET of ``url`` answers ``status`` (and ``body``, parsed JSON)."""
    got_status, got_body = http_get(url, headers)
    what = label or url
    if got_status != status:
        raise BenchError(f"{what}: expected {status}, got {got_status}: {got_body[:300]!r}")
    if body is not None:
        try:
            parsed = json.loads(got_body)
        except ValueError:
            parsed = got_body
        if parsed != body:
            raise BenchError(f"{what}: expected body {body!r}, got {got_body[:300]!r}")


# --- wrk ------------------------------------------------------------------------------------------

_TIME_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_TIME = r"([\d.]+)\s*(us|ms|s|m|h)"
_RE_RPS = re.compile(r"^\s*Requests/sec:\s*([\d.]+)\s*$", re.MULTILINE)
_RE_TOTAL = re.compile(rf"^\s*(\d+)\s+requests in\s+{_TIME}\s*,", re.MULTILINE)
_RE_PERCENTILE = re.compile(rf"^\s*(\d+(?:\.\d+)?)%\s+{_TIME}\s*$", re.MULTILINE)
_RE_NON_2XX = re.compile(r"^\s*Non-2xx or 3xx responses:\s*(\d+)\s*$", re.MULTILINE)
_RE_SOCKET_ERRORS = re.compile(
    r"^\s*Socket errors:\s*connect\s+(\d+),\s*read\s+(\d+),\s*write\s+(\d+),\s*timeout\s+(\d+)\s*$", re.MULTILINE
)


@dataclass(frozen=True)
class WrkResult:
    """What one wrk run reports; latencies in milliseconds, percentiles keyed "50", "75", "90", "99"."""

    requests_per_second: float
    requests: int
    duration_seconds: float
    latency_ms: dict[str, float]
    non_2xx_3xx: int
    socket_errors: dict[str, int]
    output: str

    @property
    def p50_ms(self) -> float:
        return self.latency_ms["50"]

    @property
    def p99_ms(self) -> float:
        return self.latency_ms["99"]

    def summary(self) -> dict[str, Any]:
        """The figures, without wrk's raw output."""
        data = asdict(self)
        del data["output"]
        return data


def _milliseconds(value: str, unit: str) -> float:
    return float(value) * _TIME_UNITS_MS[unit]


def parse_wrk_output(output: str) -> WrkResult:
    """Parse wrk's report (run with ``--latency``); :class:`BenchError` when a figure is missing."""
    rps = _RE_RPS.search(output)
    total = _RE_TOTAL.search(output)
    if rps is None or total is None:
        raise BenchError(f"cannot parse wrk's output:\n{output}")
    distribution = output.partition("Latency Distribution")[2]
    latency = {
        f"{float(pct):g}": _milliseconds(value, unit) for pct, value, unit in _RE_PERCENTILE.findall(distribution)
    }
    if "50" not in latency or "99" not in latency:
        raise BenchError(f"wrk reported no latency distribution (was it run with --latency?):\n{output}")
    non_2xx = _RE_NON_2XX.search(output)
    socket_errors = _RE_SOCKET_ERRORS.search(output)
    return WrkResult(
        requests_per_second=float(rps.group(1)),
        requests=int(total.group(1)),
        duration_seconds=_milliseconds(total.group(2), total.group(3)) / 1000.0,
        latency_ms=latency,
        non_2xx_3xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=dict(
            zip(
                ("connect", "read", "write", "timeout"),
                (int(n) for n in socket_errors.groups()) if socket_errors else (0, 0, 0, 0),
                strict=True,
            )
        ),
        output=output,
    )


def run_wrk(
    url: str,
    *,
    duration: float,
    connections: int,
    threads: int = 2,
    headers: Mapping[str, str] | None = None,
    timeout: float = 5.0,
    script: str | Path | None = None,
    script_args: Sequence[str] = (),
) -> WrkResult:
    """Load ``url`` with wrk for ``duration`` seconds; the parsed report.

    ``script`` is a wrk Lua script (``-s``), given ``script_args`` (after ``--``) in its ``init(args)``;
    whatever its ``done()`` prints stays in the result's ``output``.

    Raises :class:`BenchError` when wrk fails, completes no request, or sees a non-2xx/3xx answer: a
    benchmark must never silently measure errors (a 401 is much cheaper than a 200).
    """
    wrk = require_wrk()
    threads = max(1, min(threads, connections))  # wrk refuses more threads than connections
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        f"--timeout={max(1, round(timeout))}s",
        "--latency",
    ]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if script is not None:
        command += ["-s", str(script)]
    command.append(url)
    if script_args:
        command += ["--", *script_args]
    try:
        finished = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60, check=False)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"wrk did not finish: {' '.join(command)}") from exc
    if finished.returncode != 0:
        raise BenchError(f"wrk failed ({finished.returncode}): {finished.stderr or finished.stdout}")
    result = parse_wrk_output(finished.stdout)
    if result.requests == 0:
        raise BenchError(f"wrk completed no request against {url}:\n{finished.stdout}")
    if result.non_2xx_3xx:
        raise BenchError(
            f"{result.non_2xx_3xx} of {result.requests} answers from {url} were not 2xx/3xx; "
            f"the figures would measure errors:\n{finished.stdout}"
        )
    return result


# --- open-loop load at a fixed rate ----------------------------------------------------------------


@dataclass(frozen=True)
class OpenLoopResult:
    """A fixed-rate run: latencies in milliseconds from each request's *scheduled* start, so a server that
    falls behind shows in them (no coordinated omission); ``lag_ms`` is how late the client itself sent."""

    target_rate: float
    achieved_rate: float
    requests: int
    duration_seconds: float
    latency_ms: dict[str, float]
    lag_ms: dict[str, float]
    statuses: dict[int, int]
    failures: int

    @property
    def p50_ms(self) -> float:
        return self.latency_ms["50"]

    @property
    def p99_ms(self) -> float:
        return self.latency_ms["99"]

    def summary(self) -> dict[str, Any]:
        return asdict(self)


def run_open_loop(
    url: str,
    build_request: Callable[[int], tuple[str, Mapping[str, str], bytes]],
    *,
    rate: float,
    duration: float,
    timeout: float = 10.0,
    seed: int = 0,
) -> OpenLoopResult:
    """Send requests at ``rate`` per second (Poisson arrivals) for ``duration`` seconds, each on its own connection.

    wrk cannot hold a fixed rate against gunicorn's sync workers: its think time (Lua ``delay()``) runs on
    a connection it has already opened, and a sync worker that accepted that connection sits blocked
    reading it for the whole pause. Here nothing is connected before a request is due.
    ``build_request(n)`` answers the n-th request's (method, headers, body); ``url`` gives host, port, path.
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    async def one(number: int, due: float) -> tuple[float, float, int]:
        loop = asyncio.get_running_loop()
        sent = loop.time()
        method, headers, body = build_request(number)
        lines = [f"{method} {target} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"Content-Length: {len(body)}")
        payload = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
            try:
                writer.write(payload)
                await writer.drain()
                answer = await asyncio.wait_for(reader.read(), timeout)  # until the server closes
            finally:
                writer.close()
            status = int(answer.split(b" ", 2)[1])
        except (OSError, TimeoutError, IndexError, ValueError):
            status = 0
        return (loop.time() - due) * 1000.0, (sent - due) * 1000.0, status

    async def main() -> tuple[list[tuple[float, float, int]], float]:
        loop = asyncio.get_running_loop()
        arrivals = random.Random(seed)
        start = loop.time() + 0.05
        due, number, tasks = start, 0, []
        while due < start + duration:
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            number += 1
            tasks.append(asyncio.create_task(one(number, due)))
            due += arrivals.expovariate(rate)
        results = await asyncio.gather(*tasks)
        return results, loop.time() - start

    results, elapsed = asyncio.run(main())
    if not results:
        raise BenchError(f"the open-loop run sent no request to {url}")
    statuses: dict[int, int] = {}
    for _, _, status in results:
        statuses[status] = statuses.get(status, 0) + 1
    latencies = [latency for latency, _, _ in results]
    lags = [lag for _, lag, _ in results]
    points = (50, 75, 90, 99)
    return OpenLoopResult(
        target_rate=rate,
        achieved_rate=len(results) / duration,  # arrivals sent per second of the schedule
        requests=len(results),
        duration_seconds=elapsed,  # until the last answer
        latency_ms={f"{p:g}": percentile(latencies, p) for p in points} | {"max": max(latencies)},
        lag_ms={f"{p:g}": percentile(lags, p) for p in points} | {"max": max(lags)},
        statuses=statuses,
        failures=statuses.get(0, 0),
    )


# --- results --------------------------------------------------------------------------------------


def git_revision() -> str:
    """The checked-out commit, with ``-dirty`` when the work tree has changes; "unknown" outside git."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit}-dirty" if dirty else commit


def machine_load() -> float:
    """The 1-minute load average; 0.0 where the OS does not tell."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return 0.0


def busy_machine_warning(load: float) -> str | None:
    """A warning when other work already loads the CPUs: the figures would measure contention too."""
    cpus = os.cpu_count() or 1
    if load > 0.5 * cpus:
        return (
            f"the machine is busy before the benchmark starts (load {load:.2f} on {cpus} CPUs): "
            "other processes compete for the CPUs and the figures will be noisy"
        )
    return None


def spread(values: Sequence[float]) -> float:
    """(max - min) / median of a series: 0 for a perfectly stable one."""
    middle = statistics.median(values)
    return (max(values) - min(values)) / middle if middle else 0.0


def write_results(name: str, data: Mapping[str, Any]) -> Path:
    """Write ``bench/results/<name>.json`` (gitignored) and answer its path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    return path


def prepare_run(database_name: str, cache_url: str, extra: Mapping[str, str]) -> tuple[str, dict[str, str], float]:
    """What every HTTP benchmark does first: wrk and Redis there, the servers' environment, a warning on a busy
    machine, the benchmark database recreated. Answers (database URL, environment, load average before)."""
    require_wrk()
    check_redis(cache_url)
    database_url = bench_database_url(database_name)
    env = server_env(settings_module="bench.settings", database_url=database_url, cache_url=cache_url, extra=extra)
    load = machine_load()
    busy = busy_machine_warning(load)
    if busy:
        print(f"warning: {busy}", file=sys.stderr)
    print(f"database: {database_url} (recreated)")
    recreate_database(database_url)
    return database_url, env, load


def medians(rounds: Sequence[Mapping[str, WrkResult]], view: str) -> dict[str, float]:
    """The median req/s, p50 and p99 of one view over the rounds."""
    runs = [r[view] for r in rounds]
    return {
        "requests_per_second": statistics.median(r.requests_per_second for r in runs),
        "p50_ms": statistics.median(r.p50_ms for r in runs),
        "p99_ms": statistics.median(r.p99_ms for r in runs),
    }
