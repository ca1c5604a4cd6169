"""Both run modes run a real worker (DESIGN §2): `make run` as `make run` starts it, after the install.

``scripts/run.sh dev`` (migrate, demo data, then scripts/supervise.py running Procfile.dev: the dev
server and ``celery -A orma worker --beat``) runs on a SQLite file and the filesystem broker in a
temporary folder, with nothing else from the caller's environment. The ``curl`` it prints creates an
order, the worker pushes it to the sandbox DMS, and Ctrl-C (SIGINT to the supervisor's process group, as a
terminal sends it) stops every process: SIGTERM to each, then SIGKILL to its process group.

Every process this test starts is in a process group whose id it knows; it stops those groups, never
anything by name. Needs no service, so it runs everywhere, CI included.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")

STARTUP_SECONDS = 90  # migrate and seed a fresh SQLite file, start both processes (slow CI machines)
SYNCED_SECONDS = 30  # create → SYNCED: the doorbell at once, or the sweep every 5 s at worst
STOP_SECONDS = 30  # the supervisor SIGKILLs what still runs 10 s after passing SIGTERM on

# What a shell or CI may carry that would change what `make run` runs on (CI's PostgreSQL and Redis).
_SETTINGS_VARIABLES = {"DEBUG", "DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "DJANGO_SETTINGS_MODULE", "PORT"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(probe: Callable[[], T], *, timeout: float, what: str, log: Callable[[], str]) -> T:
    """Poll ``probe`` until it answers something true; fail with the processes' output after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:g} s\n--- output ---\n{log()[-6000:]}")
        time.sleep(0.1)


def live_in_group(pgid: int) -> list[int]:
    """The processes of a process group that are alive (zombies waiting for a parent to reap them are not)."""
    live = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # it ended meanwhile
        state, _ppid, group = stat.rsplit(")", 1)[1].split()[:3]
        if int(group) == pgid and state != "Z":
            live.append(int(entry.name))
    return live


@dataclass
class MakeRun:
    """``scripts/run.sh dev`` in a session of its own, its output in a file."""

    workdir: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    groups: set[int] = field(default_factory=set)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "make-run.log"

    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if key not in _SETTINGS_VARIABLES}
        env = {key: value for key, value in env.items() if not key.startswith(("ORMA_", "CELERY_"))}
        env.update(
            {
                "PORT": str(self.port),
                "DATABASE_URL": f"sqlite:///{self.workdir / 'orma.sqlite3'}",
                "ORMA_CELERY_DIR": str(self.workdir / "celery"),  # the filesystem broker, under the test's folder
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            }
        )
        return env

    def start(self) -> None:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                ["bash", "scripts/run.sh", "dev"],
                cwd=ROOT,
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group (bash execs the supervisor: the same pid)
            )
        self.groups.add(self.process.pid)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def children(self) -> dict[str, int]:
        """The supervisor's processes by name ("web", "worker"): each leads a process group of its own."""
        started = dict(re.findall(r"\| (\w+) started \(pid=(\d+)\)", self.log()))
        pids = {name: int(pid) for name, pid in started.items()}
        self.groups.update(pids.values())
        return pids

    def wait_ready(self) -> None:
        def serving() -> bool:
            assert self.process is not None and self.process.poll() is None, f"make run exited:\n{self.log()}"
            if len(self.children()) < 2 or " ready." not in self.log():  # the worker's "celery@host ready."
                return False
            try:
                return requests.get(f"{self.base}/healthz", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_for(serving, timeout=STARTUP_SECONDS, what="the dev server and the worker", log=self.log)

    def printed_curl(self) -> str:
        """The ``curl`` that creates an order, as `make run` prints it."""
        lines = [line.strip() for line in self.log().splitlines() if line.strip().startswith("curl -s -X PUT")]
        assert len(lines) == 1, self.log()
        return lines[0]

    def interrupt(self) -> int:
        """Ctrl-C: SIGINT to the supervisor's process group; its exit code once everything stopped."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGINT)
        return self.process.wait(timeout=STOP_SECONDS)

    def stop(self) -> None:
        """Whatever is still running of what this test started: SIGKILL to each known process group."""
        for pgid in self.groups:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.process is not None and self.process.poll() is None:
            self.process.wait(timeout=10)


@pytest.fixture
def make_run(tmp_path: Path) -> Iterator[MakeRun]:
    run = MakeRun(workdir=tmp_path, port=free_port())
    try:
        run.start()
        run.wait_ready()
        yield run
    finally:
        run.stop()


def test_make_run_pushes_the_printed_curls_order_with_a_real_worker_and_ctrl_c_stops_both(make_run):
    readiness = requests.get(f"{make_run.base}/readyz", timeout=5).json()
    assert readiness == {"status": "ok", "database": "ok", "broker": "ok"}  # the filesystem broker's folders

    created = subprocess.run(
        make_run.printed_curl(), shell=True, capture_output=True, text=True, timeout=30, check=True
    ).stdout
    answer = json.loads(created)
    assert answer["statusCode"] == 201, answer
    again = subprocess.run(
        make_run.printed_curl(), shell=True, capture_output=True, text=True, timeout=30, check=True
    ).stdout
    assert json.loads(again)["statusCode"] == 201, again  # a new order number on every run: never 409
    assert json.loads(again)["orderUUID"] != answer["orderUUID"]
    log = make_run.log()
    assert re.search(r"Dealer d0000000-\S+: service department d0000000-\S+, parts department d0000000-", log)
    assert f"127.0.0.1:{make_run.port}/" in log  # PORT decides the printed URLs and the server's port
    (parts_curl,) = [line.strip() for line in log.splitlines() if "/price-availability?" in line]
    priced = subprocess.run(parts_curl, shell=True, capture_output=True, text=True, timeout=30, check=True).stdout
    assert json.loads(priced)["availability"] == "IN_STOCK", priced
    user, secret = re.search(r"-u '([^:']+):([^']+)'", make_run.printed_curl()).groups()
    order_url = shlex.split(make_run.printed_curl())[-3] + f"/{answer['orderUUID']}"

    def synced() -> dict | None:
        dms = requests.get(order_url, auth=(user, secret), timeout=5).json()["order"]["dms"]
        return dms if dms["status"] == "SYNCED" else None

    dms = wait_for(synced, timeout=SYNCED_SECONDS, what="the order SYNCED by the worker", log=make_run.log)
    assert dms["orderNumber"].startswith("SBX-") and dms["syncedAt"]
    assert "dms.push[" in make_run.log()  # pushed by the worker, not in the request

    children = make_run.children()
    assert make_run.interrupt() == 130  # 128 + SIGINT, as a shell reports an interrupted command
    for name, pgid in children.items():
        wait_for(lambda pgid=pgid: not live_in_group(pgid), timeout=5, what=f"{name} stopped", log=make_run.log)


def supervise(procfile: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """scripts/supervise.py on ``procfile``, bounded in time."""
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "supervise.py"), str(procfile)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


class TestSupervisor:
    def test_one_process_ending_stops_the_others_with_its_exit_code(self, tmp_path):
        procfile = tmp_path / "Procfile"
        procfile.write_text("# a comment\nlong: sleep 60\nshort: sh -c 'echo hello; exit 3'\n")

        started = time.monotonic()
        result = supervise(procfile)

        assert result.returncode == 3
        assert time.monotonic() - started < 10
        assert re.search(r" short +\| hello$", result.stdout, re.MULTILINE)
        assert "short ended (exit code 3): stopping everything" in result.stdout
        assert "SIGTERM to long" in result.stdout and "long stopped (exit code -15)" in result.stdout

    def test_a_process_deaf_to_sigterm_is_killed_with_its_group_after_the_grace(self, tmp_path):
        procfile = tmp_path / "Procfile"
        # A shell that ignores SIGTERM and has a child (which inherits that) in its process group.
        procfile.write_text("deaf: sh -c 'trap \"\" TERM; sleep 60 & wait; wait'\nshort: sleep 1\n")

        result = supervise(procfile, ORMA_STOP_SECONDS="1")

        assert result.returncode == 0
        assert "deaf still runs: SIGKILL to its process group" in result.stdout
        deaf = int(re.search(r"deaf started \(pid=(\d+)\)", result.stdout).group(1))
        wait_for(lambda: not live_in_group(deaf), timeout=5, what="the shell and its sleep", log=lambda: result.stdout)

    def test_a_restartable_process_that_ends_is_started_again(self, tmp_path):
        procfile = tmp_path / "Procfile"
        runs = tmp_path / "runs"
        # "flaky" ends twice, then stays up; "short" ends everything once flaky has come back twice.
        procfile.write_text(
            "# restart: flaky\n"
            f"flaky: sh -c 'echo run >> {runs}; [ $(wc -l < {runs}) -ge 3 ] && sleep 60; exit 7'\n"
            f"short: sh -c 'while [ $(cat {runs} 2>/dev/null | wc -l) -lt 3 ]; do sleep 0.2; done; exit 4'\n"
        )

        result = supervise(procfile, ORMA_RESTART_SECONDS="0.1")

        assert result.returncode == 4, result.stdout
        assert result.stdout.count("flaky ended (exit code 7): starting it again") == 2
        assert runs.read_text().count("run") == 3
        assert "short ended (exit code 4): stopping everything" in result.stdout

    def test_a_restartable_process_that_keeps_ending_at_once_is_given_up(self, tmp_path):
        procfile = tmp_path / "Procfile"
        procfile.write_text("# restart: broken\nbroken: sh -c 'exit 9'\nlong: sleep 60\n")

        result = supervise(procfile, ORMA_STOP_SECONDS="1", ORMA_RESTART_SECONDS="0.1")

        assert result.returncode == 9, result.stdout
        assert "broken ended 5 times in a row within a minute: giving up" in result.stdout
        assert "SIGTERM to long" in result.stdout


class TestEmbeddedBroker:
    def test_the_filesystem_broker_is_ok_while_its_folders_are_writable(self, settings, tmp_path):
        from orma.health import broker_status

        settings.CELERY_BROKER_URL = "filesystem://localhost/"  # what no CELERY_BROKER_URL means (CI sets Redis)
        folders = {"data_folder_in": tmp_path, "data_folder_out": tmp_path, "control_folder": tmp_path}
        settings.CELERY_BROKER_TRANSPORT_OPTIONS = {name: str(folder) for name, folder in folders.items()}
        assert broker_status() == "ok"

        settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_out"] = str(tmp_path / "missing")
        assert broker_status().startswith(f"down: data_folder_out '{tmp_path / 'missing'}' is not writable")

    def test_eager_tasks_are_the_test_processs_alone(self, settings):
        from orma.celery import _never_eager_in_a_worker, app

        assert settings.CELERY_TASK_ALWAYS_EAGER  # pyproject's pytest env: ORMA_CELERY_EAGER=1 ...
        assert "ORMA_CELERY_EAGER" not in os.environ  # ... removed once read: no child process inherits it
        eager = app.conf.task_always_eager
        try:
            _never_eager_in_a_worker()  # what a worker does at startup
            assert app.conf.task_always_eager is False
        finally:
            app.conf.task_always_eager = eager
