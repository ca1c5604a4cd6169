"""``make bench``: every benchmark script of bench/, one table of issue 12's rows, ``bench/results.json``.

What it does
    1. Checks its tools: ``wrk`` (installed with ``apt-get install -y wrk`` when missing and running as
       root), PostgreSQL on the benchmarks' server, the Redis cache (``redis://127.0.0.1:6379/3``),
       ``redis-server`` on PATH (bench/dms.py and bench/webhooks.py start private ones).
    2. Runs, one after the other, each as a subprocess in its own process group: ``bench/auth.py``,
       ``bench/orders.py``, ``bench/parts.py``, ``bench/memory.py``, ``bench/dms.py``, ``bench/webhooks.py``.
       Each starts its own gunicorn (2 sync workers) on PostgreSQL and Redis and, where a row is a ratio
       "x bare", the yardstick (``bench/yardstick``: a startproject-default Django with one DRF APIView) with
       its own gunicorn in the same run, and writes ``bench/results/<script>.json``; its output is shown and
       kept in ``bench/results/<script>.log``. A script that exceeds its time limit gets SIGINT (it stops its
       servers and drops its database), then SIGTERM and SIGKILL to its process group.
    3. Builds one row per row of issue 12's table (and issue 10's, and the window lookup's) from those
       results with ``bench/report.py``, which judges every goal itself, prints the table, and writes
       ``bench/results.json`` (a full run of every script; ``--quick`` and ``--only`` runs write
       ``bench/results/quick.json`` / ``bench/results/partial.json`` instead, so a smoke run never replaces
       the committed figures).

How to run
    make bench                          # the full run: about 20-25 minutes
    make bench BENCH_ARGS=--quick       # a smoke run of the harness: a few minutes, figures meaningless
    .venv/bin/python bench/run.py [--quick] [--strict] [--only orders,parts]

Exit status: 0 every script measured (goals met or not; ``--strict``: 1 when a goal is not met), 2 it
could not run (a tool missing, or a script failed: its rows say "not measured").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common, report  # noqa: E402
from bench.common import BenchError  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_PATH = BENCH_DIR / "results.json"
CONNECTIONS = "8"  # issue 12: wrk with 8 connections


@dataclass(frozen=True)
class Script:
    """A benchmark script: its arguments in a full and in a quick run, and the time it may take."""

    name: str
    full: tuple[str, ...]
    quick: tuple[str, ...]
    # A guard against a hang, not a budget: about three times a full run's time on a quiet 2-core machine
    # (a loaded one is slower still); a quick run gets a third of it, at least 4 minutes.
    limit_seconds: float

    @property
    def path(self) -> Path:
        return BENCH_DIR / f"{self.name}.py"

    @property
    def results_path(self) -> Path:
        return common.RESULTS_DIR / f"{self.name}.json"


SCRIPTS: tuple[Script, ...] = (
    Script(
        "auth",
        ("--connections", CONNECTIONS, "--duration", "10", "--rounds", "3", "--warmup", "3", "--profile", "300"),
        ("--connections", CONNECTIONS, "--duration", "2", "--rounds", "1", "--warmup", "2", "--profile", "30"),
        600,
    ),
    Script(
        "orders",
        ("--connections", CONNECTIONS, "--duration", "10", "--rounds", "3", "--warmup", "3"),
        (
            "--connections",
            CONNECTIONS,
            "--duration",
            "2",
            "--rounds",
            "1",
            "--warmup",
            "3",
            "--orders",
            "20000",
            "--window-requests",
            "30",
            "--profile",
            "20",
        ),
        1500,
    ),
    Script(
        "parts",
        ("--connections", CONNECTIONS, "--duration", "6", "--rounds", "3", "--warmup", "3"),
        (
            "--connections",
            CONNECTIONS,
            "--duration",
            "2",
            "--rounds",
            "1",
            "--warmup",
            "3",
            "--catalogue",
            "1000",
            "--import-rows",
            "20000",
            "--update-rows",
            "0",
        ),
        1800,
    ),
    Script(
        "memory",
        ("--connections", CONNECTIONS, "--duration", "300", "--warmup", "30"),
        ("--connections", CONNECTIONS, "--duration", "10", "--warmup", "3"),
        900,
    ),
    Script(
        "dms",
        # its goals are on the outbox's time and create -> SYNCED; the throughput and the drain (no goal) are
        # cut from 2,000 and 10,000 orders to keep the whole run near 20-25 minutes (bench/dms.py alone: all)
        ("--pushes", "1000", "--drain", "2000"),
        ("--creates", "30", "--rounds", "1", "--pushes", "100", "--latency-seconds", "2", "--drain", "200"),
        900,
    ),
    Script(
        "webhooks",
        (),
        ("--creates", "30", "--deliveries", "200", "--seconds", "3", "--hang-timeout", "3"),
        900,
    ),
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Every benchmark of bench/, one table of issue 12's rows.")
    parser.add_argument("--quick", action="store_true", help="a smoke run of the harness (minutes; no real figures)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal is not met")
    parser.add_argument("--only", default="", help="comma-separated scripts to run (default: all)")
    args = parser.parse_args(argv)
    names = [name for name in args.only.split(",") if name]
    unknown = sorted(set(names) - {script.name for script in SCRIPTS})
    if unknown:
        parser.error(f"unknown script(s) {', '.join(unknown)}; known: {', '.join(s.name for s in SCRIPTS)}")
    args.scripts = [script for script in SCRIPTS if not names or script.name in names]
    return args


# --- tools ----------------------------------------------------------------------------------------


def ensure_wrk() -> str:
    """The path of wrk; installs it with apt-get when missing and this process is root."""
    path = shutil.which("wrk")
    if path:
        return path
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise BenchError("wrk is not installed and cannot be installed here: run `apt-get install -y wrk` as root")
    print("wrk is missing: apt-get install -y wrk ...", flush=True)
    finished = subprocess.run(
        ["apt-get", "install", "-y", "wrk"],
        capture_output=True,
        text=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        check=False,
    )
    path = shutil.which("wrk")
    if finished.returncode != 0 or not path:
        raise BenchError(f"`apt-get install -y wrk` failed ({finished.returncode}): {finished.stderr[-800:]}")
    return path


def check_postgres(url: str) -> None:
    import psycopg

    _, admin_url = common._database_name_and_admin_url(url)
    try:
        with psycopg.connect(admin_url, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        raise BenchError(f"PostgreSQL ({admin_url}) is not reachable: {exc}") from exc


def preflight(scripts: list[Script]) -> None:
    """Raise :class:`BenchError` unless every tool and service the scripts need is there."""
    ensure_wrk()
    check_postgres(common.bench_database_url())
    common.check_redis(common.DEFAULT_CACHE_URL)
    if any(s.name in ("dms", "webhooks") for s in scripts) and not shutil.which("redis-server"):
        raise BenchError("redis-server is not on PATH (bench/dms.py and bench/webhooks.py start their own)")


def machine() -> dict[str, Any]:
    """The CPU model, the cores, the load before the run."""
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = list(os.getloadavg())
    except OSError:
        load = []
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "load_before": load,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


# --- running a script -----------------------------------------------------------------------------


@dataclass
class ScriptRun:
    name: str
    returncode: int | None
    seconds: float
    timed_out: bool
    log: Path
    tail: str

    @property
    def measured(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def as_json(self, results: Path | None) -> dict[str, Any]:
        return {
            "returncode": self.returncode,
            "seconds": round(self.seconds, 1),
            "timed_out": self.timed_out,
            "measured": self.measured,
            "log": str(self.log.relative_to(common.REPO_ROOT)),
            "results": str(results.relative_to(common.REPO_ROOT)) if results else None,
            **({} if self.measured else {"error": self.tail}),
        }


def _stop(process: subprocess.Popen[str]) -> None:
    """SIGINT to the script (its ``finally`` stops its servers, drops its database), then its process group."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    for sig, grace in ((None, 60.0), (signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
        if sig is not None:
            try:
                os.killpg(process.pid, sig)  # the group the script leads (start_new_session)
            except ProcessLookupError:
                return
        try:
            process.wait(grace)
            return
        except subprocess.TimeoutExpired:
            continue


def run_script(script: Script, arguments: tuple[str, ...], limit: float) -> ScriptRun:
    """Run one script, its output shown and kept in ``bench/results/<name>.log``, within ``limit`` seconds."""
    common.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    script.results_path.unlink(missing_ok=True)  # a figure from an earlier run can never pass for this one's
    log_path = common.RESULTS_DIR / f"{script.name}.log"
    command = [sys.executable, str(script.path), *arguments]
    print(f"\n=== bench/{script.name}.py {' '.join(arguments)}  (limit {limit:.0f} s)", flush=True)
    started = time.monotonic()
    lines: list[str] = []
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command,
            cwd=common.REPO_ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group: stopped as a whole, untouched by our terminal
        )

        def copy() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                sys.stdout.write(line)
                sys.stdout.flush()
                log.write(line)
                lines.append(line)

        reader = threading.Thread(target=copy, daemon=True)
        reader.start()
        timed_out = False
        try:
            process.wait(limit)
        except subprocess.TimeoutExpired:
            timed_out = True
            print(f"bench/{script.name}.py exceeded {limit:.0f} s: stopping it", flush=True)
            _stop(process)
        except KeyboardInterrupt:
            _stop(process)
            raise
        reader.join(10)
    return ScriptRun(
        name=script.name,
        returncode=process.returncode,
        seconds=time.monotonic() - started,
        timed_out=timed_out,
        log=log_path,
        tail="".join(lines[-15:]),
    )


def load_results(script: Script, run: ScriptRun) -> dict[str, Any] | None:
    """The script's results, only when it exited 0 and wrote them in this run."""
    if not run.measured or not script.results_path.exists():
        return None
    return json.loads(script.results_path.read_text())


# --- main -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    try:
        preflight(args.scripts)
    except BenchError as exc:
        print(f"bench/run.py: {exc}", file=sys.stderr)
        return 2
    where = machine()
    revision = common.git_revision()
    date = datetime.now(UTC).isoformat(timespec="seconds")
    load = ", ".join(f"{x:.2f}" for x in where["load_before"])
    print(f"OrMa benchmarks at {revision}, {date}; {where['cpu_model']}, {where['cores']} cores, load {load}")
    if warning := common.busy_machine_warning(where["load_before"][0] if where["load_before"] else 0.0):
        print(f"warning: {warning}", file=sys.stderr)

    results: dict[str, dict[str, Any] | None] = {}
    problems: dict[str, str] = {}
    scripts: dict[str, Any] = {}
    for script in args.scripts:
        arguments = script.quick if args.quick else script.full
        limit = max(240.0, script.limit_seconds / 3) if args.quick else script.limit_seconds
        run = run_script(script, arguments, limit)
        data = load_results(script, run)
        if data is None:
            last_words = next((line.strip() for line in reversed(run.tail.splitlines()) if line.strip()), "")
            problems[script.name] = (
                f"timed out after {limit:.0f} s"
                if run.timed_out
                else f"bench/{script.name}.py exited {run.returncode}"
                + ("" if run.returncode else " without writing its results")
                + (f" ({last_words[:200]})" if last_words else "")
            )
            print(f"bench/{script.name}.py could not measure: {problems[script.name]}", file=sys.stderr)
        results[script.name] = data
        scripts[script.name] = {"arguments": list(arguments), **run.as_json(script.results_path if data else None)}

    rows = report.build_rows(results, problems)
    elapsed = time.monotonic() - started
    mode = "quick" if args.quick else ("partial" if len(args.scripts) < len(SCRIPTS) else "full")
    doc = report.document(
        rows,
        machine=where,
        revision=revision,
        date=date,
        mode=mode,
        elapsed_seconds=elapsed,
        scripts=scripts,
        bare=report.bare_figures(results),
    )
    path = RESULTS_PATH if mode == "full" else common.RESULTS_DIR / f"{mode}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")

    print(
        f"\nOrMa benchmarks ({mode} run) at {revision}, {date}; {where['cpu_model']}, {where['cores']} cores, "
        f"load {load}"
    )
    print("gunicorn 2 sync workers, PostgreSQL, Redis, wrk 8 connections; 'x bare' = x the startproject DRF view\n")
    print(report.table(rows))
    for source, pair in doc["bare"].items():
        if pair.get("yardstick") and pair.get("orma"):
            print(
                f"bare views in bench/{source}.py: yardstick {pair['yardstick']['requests_per_second']:.1f} req/s, "
                f"OrMa /bench/bare {pair['orma']['requests_per_second']:.1f} req/s"
            )
    counts = doc["summary"]
    print(
        f"\n{counts['met']} met ({counts['moonshot_met']} at the moonshot), {counts['not_met']} not met, "
        f"{counts['not_measured']} not measured; {elapsed / 60:.1f} min in all; results: "
        f"{path.relative_to(common.REPO_ROOT)}"
    )
    if mode == "quick":
        print("(a --quick run checks the harness: its figures are not the issue's)")
    if problems:
        return 2
    return 1 if args.strict and counts["not_met"] else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
