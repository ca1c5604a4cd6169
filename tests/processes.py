"""Real processes for the delivery tests (tests/test_dms_delivery.py) and the DMS benchmark (bench/dms.py): a
private ``redis-server``, Celery workers and beat, a gunicorn server, all on 127.0.0.1.

Every process is started here, in a session (process group) of its own, and stopped by that group's id,
never by name: a test never touches the machine's own Redis on 6379 or anyone else's processes. Each is
bounded in time: a start that does not come up in its ``startup_timeout`` raises (with its log's tail), and a
stop that is not obeyed in a few seconds becomes a SIGKILL.

    with RedisServer() as redis, CeleryBeat(env) as beat, CeleryWorker(env) as worker:
        ...
        worker.kill()        # SIGKILL to the worker and its pool, as a machine that dies would
        redis.stop(); redis.start()   # a broker outage, then the broker back on the same port

:func:`child_env` builds the environment they share: the test's database, the private broker, the
``ORMA_DMS_*`` knobs; nothing left over from the caller's shell (not CI's Redis URLs).
:func:`insert_pending_orders` makes a backlog of thousands of pending pushes in a moment.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any, TypeVar
from urllib.parse import quote

import requests

ROOT = Path(__file__).resolve().parent.parent

# What a child keeps of the caller's environment: nothing else, so no OrMa setting of a shell or of CI (its
# DATABASE_URL, its Redis URLs) ever reaches a process a test starts.
_KEPT_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV", "PYTHONPATH")

T = TypeVar("T")


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url(settings_dict: Mapping[str, Any]) -> str:
    """A ``DATABASE_URL`` for the database a Django connection uses (``connection.settings_dict``): the
    test's own database, so a worker sees the rows the test committed."""
    user = quote(settings_dict.get("USER") or "", safe="")
    password = settings_dict.get("PASSWORD") or ""
    credentials = f"{user}:{quote(password, safe='')}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or "5432"
    return f"postgres://{credentials}{host}:{port}/{settings_dict['NAME']}"


def _cache_dir() -> str:
    folder = tempfile.mkdtemp(prefix="orma-test-cache-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def child_env(*, database_url: str, broker_url: str, **settings: Any) -> dict[str, str]:
    """The environment of a child process: the caller's ``PATH`` and locale, and OrMa's settings as stated
    here: the database, the broker, ``DEBUG=1``, and the embedded default's file cache in a folder of this
    environment's own (removed at exit), which the processes started with it share as one deployment does.
    Under var/cache it outlived the run: a later run's partner of the same username met the credentials
    and rate counts cached for an earlier one (401s and 429s on a test's first request).

    ``settings`` are more variables (``ORMA_DMS_LEASE_SECONDS=4``...); None drops one.
    """
    env = {key: os.environ[key] for key in _KEPT_VARIABLES if key in os.environ}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "orma.settings",
            "DEBUG": "1",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "ORMA_CELERY_EAGER": "0",  # a worker or a server never runs a task in-process
            "CACHE_URL": "",  # files (below): nothing of this run in any shared Redis
            "ORMA_CACHE_DIR": _cache_dir(),
            "ORMA_PARTNER_RATE_LIMIT": "100000000/minute",  # the tests create hundreds of orders a minute
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }
    )
    for name, value in settings.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = str(value)
    return env


def wait_until(probe: Callable[[], T], *, timeout: float, interval: float = 0.05, what: str = "the condition") -> T:
    """Poll ``probe`` until it answers something true and answer that; AssertionError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s (last: {value!r})")
        time.sleep(interval)


class ProcessStartError(RuntimeError):
    """A process did not come up; the message carries its log's tail."""


class _Process:
    """A child in a process group of its own, its output in a log file; stopped by the group's id."""

    name = "process"
    startup_timeout = 30.0

    def __init__(self, env: Mapping[str, str] | None = None, *, log_dir: Path | None = None) -> None:
        self.env = dict(env or os.environ)
        self._own_dir = log_dir is None
        self.log_dir = log_dir or Path(tempfile.mkdtemp(prefix=f"orma-{self.name}-"))
        self.log_path = self.log_dir / f"{self.name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.starts = 0

    def command(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        """Whether the started process serves (polled until true)."""
        raise NotImplementedError

    def start(self) -> None:
        """Start it and wait until it serves."""
        self.spawn()
        self.wait_ready()

    def spawn(self) -> None:
        """Start it without waiting (several processes come up side by side; then :meth:`wait_ready`)."""
        assert self.process is None or self.process.poll() is not None, f"{self.name} runs already"
        self.starts += 1
        self._log = self.log_path.open("ab")
        self._log.write(f"\n===== start {self.starts} =====\n".encode())
        self._log.flush()
        self.process = subprocess.Popen(
            self.command(),
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a kill reaches its children and nothing else
        )

    def wait_ready(self) -> None:
        """Wait until the spawned process serves; ProcessStartError if it exits or takes too long."""
        assert self.process is not None
        deadline = time.monotonic() + self.startup_timeout
        while not self.ready():
            if self.process.poll() is not None:
                raise ProcessStartError(f"{self.name} exited with {self.process.returncode}\n{self.log_tail()}")
            if time.monotonic() >= deadline:
                self.stop()
                raise ProcessStartError(f"{self.name} not up in {self.startup_timeout:g} s\n{self.log_tail()}")
            time.sleep(0.05)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def _signal_group(self, signum: int) -> None:
        assert self.process is not None
        try:
            os.killpg(self.process.pid, signum)  # the group this process leads (start_new_session)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """SIGKILL to the process and all its children: no shutdown, no acknowledgement, as a crash."""
        if self.process is None:
            return
        self._signal_group(signal.SIGKILL)
        self.process.wait(10)
        self._close_log()

    def terminate(self) -> None:
        """SIGTERM to the group, without waiting (:meth:`stop` waits)."""
        if self.process is not None and self.process.poll() is None:
            self._signal_group(signal.SIGTERM)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM to the group (a warm shutdown), SIGKILL if it is not over within ``timeout``."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.process.wait(10)
        self._signal_group(signal.SIGKILL)  # children the leader left behind
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def close(self) -> None:
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.log_dir, ignore_errors=True)

    def __enter__(self: T) -> T:
        try:
            self.start()  # type: ignore[attr-defined]
        except BaseException:
            self.close()  # type: ignore[attr-defined]
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def stop_all(processes: list[Any]) -> None:
    """Stop several processes side by side: SIGTERM to all, then wait for each (SIGKILL when late)."""
    for process in processes:
        process.terminate()
    for process in processes:
        process.stop()


class RedisServer(_Process):
    """A private ``redis-server`` on a free loopback port, keeping nothing on disk; it restarts on the same
    port (the broker coming back after an outage)."""

    name = "redis"
    startup_timeout = 10.0

    def __init__(self, port: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.port = port or free_port()
        if shutil.which("redis-server") is None:
            raise ProcessStartError("redis-server is not on PATH")

    def command(self) -> list[str]:
        return [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.log_dir),
            "--protected-mode",
            "yes",
        ]

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self) -> Any:
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1, socket_timeout=2)

    def ready(self) -> bool:
        try:
            return bool(self.client().ping())
        except Exception:
            return False

    def flushall(self) -> None:
        """Wipe every key: queued tasks, unacknowledged ones, everything."""
        self.client().flushall()

    def queued(self, queue: str = "celery") -> int:
        """How many messages wait in ``queue``."""
        return int(self.client().llen(queue))


_CELERY = (sys.executable, "-m", "celery", "-A", "orma")


class CeleryWorker(_Process):
    """``celery -A orma worker`` (prefork, ``concurrency`` processes; or ``pool="threads"``, and ``queues``) on
    the environment's broker.

    ``supervised``: restarted when it exits without being told to, as production's process manager does
    (systemd, Kubernetes): Celery 5.x can exit on a lost Redis connection ("Unrecoverable error:
    AttributeError ... 'hostname'" while restoring its unacknowledged messages). Such exits are counted in
    ``exits``; :meth:`kill` and :meth:`stop` are never undone by the supervision.
    """

    name = "worker"

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        concurrency: int = 2,
        supervised: bool = True,
        pool: str = "prefork",
        queues: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(env, **kwargs)
        self.concurrency = concurrency
        self.pool = pool  # "threads" for the webhooks worker (notifications.tasks)
        self.queues = queues  # e.g. "webhooks"; None: the default queue
        self.supervised = supervised
        self.exits: list[int] = []  # exit statuses of the exits nobody asked for
        self._ready_mark = 0
        self._lock = threading.RLock()
        self._watching = False
        self._watcher: threading.Thread | None = None

    def command(self) -> list[str]:
        return [
            *_CELERY,
            "worker",
            "--pool",
            self.pool,
            "--concurrency",
            str(self.concurrency),
            *(["--queues", self.queues] if self.queues else []),
            "--hostname",
            f"orma-test-{os.getpid()}-{id(self)}@%h",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]

    def spawn(self) -> None:
        with self._lock:
            self._ready_mark = self.log_text().count(" ready.")
            super().spawn()
            self._watching = self.supervised
            if self._watching and self._watcher is None:
                self._watcher = threading.Thread(target=self._watch, name="worker-supervisor", daemon=True)
                self._watcher.start()

    def _watch(self) -> None:
        while self._watcher is not None:
            time.sleep(0.2)
            with self._lock:
                if not self._watching or self.process is None or self.process.poll() is None:
                    continue
                self.exits.append(self.process.returncode)
                self._signal_group(signal.SIGKILL)  # what is left of its pool
                self._close_log()
                super().spawn()

    def ready(self) -> bool:
        # Celery logs "celery@host ready." once its pool runs and it consumes.
        return self.log_text().count(" ready.") > self._ready_mark

    def kill(self) -> None:
        with self._lock:
            self._watching = False
            super().kill()

    def terminate(self) -> None:
        with self._lock:
            self._watching = False
            super().terminate()

    def stop(self, timeout: float = 10.0) -> None:
        with self._lock:
            self._watching = False
        super().stop(timeout)

    def close(self) -> None:
        self.stop()
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.join(timeout=2)
        super().close()


class CeleryBeat(_Process):
    """``celery -A orma beat``: the periodic sweep, as production runs it beside the workers."""

    name = "beat"

    def command(self) -> list[str]:
        return [
            *_CELERY,
            "beat",
            "--schedule",
            str(self.log_dir / "beat-schedule"),
            "--pidfile",
            str(self.log_dir / "beat.pid"),
            "--loglevel",
            "INFO",
        ]

    def ready(self) -> bool:
        return "beat: Starting..." in self.log_text()


class WebServer(_Process):
    """gunicorn (``orma.wsgi``) with sync workers on a free loopback port."""

    name = "gunicorn"

    def __init__(self, env: Mapping[str, str], *, workers: int = 2, **kwargs: Any) -> None:
        super().__init__(env, **kwargs)
        self.workers = workers
        self.port = free_port()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "orma.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--worker-class",
            "sync",
            "--graceful-timeout",
            "5",
            "--log-level",
            "warning",
        ]

    def ready(self) -> bool:
        try:
            return requests.get(f"{self.base_url}/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False


# --- data at scale ---------------------------------------------------------------------------------


def insert_pending_orders(*, template_uuid: str, dealer_id: int, count: int, prefix: str) -> list[str]:
    """``count`` copies of a stored order (PostgreSQL), each with its own UUID and number (``prefix`` + n) and a
    PENDING push row to ``dealer_id``'s DMS, in two ``INSERT ... SELECT``: a backlog in a moment, with no
    doorbell at all. Answers their UUIDs. (A push reads the order's document only: no lines are copied.)"""
    from django.db import connection, transaction

    from dms_adapters.models import DmsPush
    from orders.models import RepairOrder

    order_values = {
        "uuid": "gen_random_uuid()",
        "order_number": "%(prefix)s || i",
        "document": "jsonb_set(t.document, '{header,orderNumber}', to_jsonb(%(prefix)s || i))",
        "created_at": "now()",
        "updated_at": "now()",
        "dms_status": "'PENDING'",
        "dms_synced_at": "NULL",
    }
    columns = [f.column for f in RepairOrder._meta.concrete_fields if f.column != "id"]
    select = [order_values.get(column, f"t.{column}") for column in columns]
    push_values = {
        "status": "'PENDING'",
        "attempts": "0",
        "next_attempt_at": "now()",
        "lease_until": "NULL",
        "attempt_token": "NULL",
        "pending_since": "now()",
        "last_error": "''",
        "created_at": "now()",
        "updated_at": "now()",
        "dealer_id": "%(dealer)s",
        "repair_order_id": "o.id",
        "version": "o.version",
        "pushed_version": "NULL",
        "dms_order_uuid": "''",
    }
    push_columns = [f.column for f in DmsPush._meta.concrete_fields if f.column != "id"]
    if set(push_columns) != set(push_values):
        raise AssertionError(f"the push table's columns changed ({sorted(push_columns)}): update the benchmark")
    params = {"template": template_uuid, "count": count, "prefix": prefix, "dealer": dealer_id}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {RepairOrder._meta.db_table} ({', '.join(columns)}) SELECT {', '.join(select)} "
            f"FROM {RepairOrder._meta.db_table} t, generate_series(1, %(count)s) AS i WHERE t.uuid = %(template)s",
            params,
        )
        cursor.execute(
            f"INSERT INTO {DmsPush._meta.db_table} ({', '.join(push_columns)}) "
            f"SELECT {', '.join(push_values[c] for c in push_columns)} FROM {RepairOrder._meta.db_table} o "
            "WHERE o.order_number LIKE %(pattern)s",
            {**params, "pattern": prefix + "%"},
        )
        if cursor.rowcount != count:
            raise AssertionError(f"{cursor.rowcount} push rows for {count} orders")
    return [str(u) for u in RepairOrder.objects.filter(order_number__startswith=prefix).values_list("uuid", flat=True)]
