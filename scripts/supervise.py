"""Run a Procfile's processes side by side and stop them as one: `make run` (Procfile.dev) and `make serve`
(Procfile), through scripts/run.sh.

    python scripts/supervise.py PROCFILE

Each ``name: command`` line runs as ``sh -c 'exec command'`` in a session of its own, so the pid this
supervisor knows is the program itself and a terminal's Ctrl-C reaches only the supervisor. Its output is
relayed line by line behind its name.

A ``# restart: name, name`` line names the processes that are started again when they end on their own
(a Celery worker exits when its broker stays away too long; the outbox keeps every delivery, so a new
worker simply carries on): after ``ORMA_RESTART_SECONDS`` (1 s), doubling up to 30 s while it keeps ending
within a minute of its start. One that ends ``RESTART_LIMIT`` times in a row that quickly is given up, and
that stops everything.

Ctrl-C, SIGTERM, or any other process ending stops all of them:

1. SIGTERM to each process itself, never to its process group. A Celery worker stops its pool children
   on its own (a warm shutdown: running tasks finish). Signalled directly, a pool child can die holding
   the pool's queue lock, and the worker then hangs on exit forever; a group signal (as honcho sends)
   did that to one stop in five in trials on the filesystem broker.
2. After ``ORMA_STOP_SECONDS`` (10 s; a second Ctrl-C cuts it short), SIGKILL to each process group, which
   also takes whatever a process left behind (the worker's embedded beat, its pool).

The exit code is the first ending process's, or 128 + the signal's number (130 for Ctrl-C).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

PROCFILE_LINE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+)$")
RESTART_LINE = re.compile(r"^#\s*restart:\s*(.*)$")
SUPERVISOR = "system"
# A restarted process that ends within this long of its start counts towards the limit; one that ran
# longer starts the count afresh.
QUICK_END_SECONDS = 60.0
RESTART_LIMIT = 5
RESTART_DELAY_CAP = 30.0


def procfile_restarts(path: Path) -> set[str]:
    """The names a ``# restart: a, b`` line of the Procfile lists."""
    names: set[str] = set()
    for line in path.read_text().splitlines():
        match = RESTART_LINE.match(line.strip())
        if match:
            names.update(name.strip() for name in match.group(1).split(",") if name.strip())
    return names


def procfile_entries(path: Path) -> dict[str, str]:
    """The ``name: command`` lines of a Procfile, in order (comments and blank lines skipped)."""
    entries: dict[str, str] = {}
    for line in path.read_text().splitlines():
        match = PROCFILE_LINE.match(line.strip())
        if match:
            entries[match.group(1)] = match.group(2)
    if not entries:
        raise SystemExit(f"{path}: no 'name: command' line")
    return entries


class Output:
    """One writer for every process's lines, each behind the time and its process's name."""

    def __init__(self, names: list[str]) -> None:
        self.width = max(len(name) for name in [SUPERVISOR, *names])
        self.lock = threading.Lock()

    def line(self, name: str, text: str) -> None:
        with self.lock:
            sys.stdout.write(f"{time.strftime('%H:%M:%S')} {name:<{self.width}} | {text.rstrip()}\n")
            sys.stdout.flush()

    def relay(self, name: str, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            self.line(name, raw.decode(errors="replace"))
        stream.close()


@dataclass
class Supervisor:
    """The processes of one Procfile, and the signal that asked them to stop."""

    entries: dict[str, str]
    grace_seconds: float
    output: Output
    restartable: set[str] = field(default_factory=set)
    restart_seconds: float = 1.0  # the first restart's delay, doubling while it keeps ending quickly
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    relays: list[threading.Thread] = field(default_factory=list)
    signals: list[int] = field(default_factory=list)
    started_at: dict[str, float] = field(default_factory=dict)
    quick_ends: dict[str, int] = field(default_factory=dict)  # restartable: quick ends in a row
    restart_at: dict[str, float] = field(default_factory=dict)  # restartable: ended, due to start again

    def on_signal(self, signum: int, _frame: object) -> None:
        self.signals.append(signum)

    def start_one(self, name: str) -> None:
        process = subprocess.Popen(
            ["sh", "-c", f"exec {self.entries[name]}"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, whose id is its pid
        )
        self.processes[name] = process
        self.started_at[name] = time.monotonic()
        relay = threading.Thread(target=self.output.relay, args=(name, process.stdout), daemon=True)
        relay.start()
        self.relays.append(relay)
        self.output.line(SUPERVISOR, f"{name} started (pid={process.pid})")

    def start(self) -> None:
        for name in self.entries:
            self.start_one(name)

    def schedule_restart(self, name: str, code: int) -> bool:
        """A restartable process ended: plan its next start (True), or give it up after too many quick ends."""
        quick = time.monotonic() - self.started_at[name] < QUICK_END_SECONDS
        self.quick_ends[name] = self.quick_ends.get(name, 0) + 1 if quick else 0
        if self.quick_ends[name] >= RESTART_LIMIT:
            self.output.line(SUPERVISOR, f"{name} ended {RESTART_LIMIT} times in a row within a minute: giving up")
            return False
        pid = self.processes[name].pid
        if _group_alive(pid):
            os.killpg(pid, signal.SIGKILL)  # what it left behind: a worker's pool children, its beat
        delay = min(RESTART_DELAY_CAP, self.restart_seconds * 2.0 ** max(0, self.quick_ends[name] - 1))
        self.restart_at[name] = time.monotonic() + delay
        self.output.line(SUPERVISOR, f"{name} ended (exit code {code}): starting it again in {delay:.1f} s")
        return True

    def first_to_end(self) -> tuple[str, int] | None:
        """The first process that ended and is not started again (restartable ones are, when due)."""
        for name, process in self.processes.items():
            if name in self.restart_at:
                if time.monotonic() >= self.restart_at[name]:
                    del self.restart_at[name]
                    self.start_one(name)
                continue
            if process.poll() is not None:
                if name in self.restartable and self.schedule_restart(name, process.returncode):
                    continue
                return name, process.returncode
        return None

    def run(self) -> int:
        """Start everything, wait for a signal or for one process to end, stop everything; the exit code."""
        self.start()
        while not self.signals and (ended := self.first_to_end()) is None:
            time.sleep(0.1)
        if self.signals:
            code = 128 + self.signals[0]
            self.output.line(SUPERVISOR, f"{signal.Signals(self.signals[0]).name} received: stopping everything")
        else:
            name, code = ended
            self.output.line(SUPERVISOR, f"{name} ended (exit code {code}): stopping everything")
        self.stop()
        return code

    def stop(self) -> None:
        signals_before = len(self.signals)
        for name, process in self.processes.items():
            if process.poll() is None:
                self.output.line(SUPERVISOR, f"SIGTERM to {name} (pid {process.pid})")
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.grace_seconds
        while any(p.poll() is None for p in self.processes.values()) and time.monotonic() < deadline:
            if len(self.signals) > signals_before:
                break  # a second Ctrl-C: no more waiting
            time.sleep(0.1)
        for name, process in self.processes.items():
            if process.poll() is None:
                self.output.line(SUPERVISOR, f"{name} still runs: SIGKILL to its process group")
            try:
                os.killpg(process.pid, signal.SIGKILL)  # what it left behind, or all of it when late
            except (ProcessLookupError, PermissionError):
                pass  # the group is gone already
            process.wait()
            self.output.line(SUPERVISOR, f"{name} stopped (exit code {process.returncode})")
        for relay in self.relays:
            relay.join(timeout=2)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write(f"usage: {argv[0]} PROCFILE\n")
        return 2
    entries = procfile_entries(Path(argv[1]))
    supervisor = Supervisor(
        entries=entries,
        restartable=procfile_restarts(Path(argv[1])) & set(entries),
        restart_seconds=float(os.environ.get("ORMA_RESTART_SECONDS") or 1),
        grace_seconds=float(os.environ.get("ORMA_STOP_SECONDS") or 10),
        output=Output(list(entries)),
    )
    signal.signal(signal.SIGINT, supervisor.on_signal)
    signal.signal(signal.SIGTERM, supervisor.on_signal)
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
