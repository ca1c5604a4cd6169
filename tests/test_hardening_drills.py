"""Fault drills (issue 14), each breaking only what it started itself: a gunicorn server whose database
is reached through a loopback port the drill closes and opens again, and a private ``redis-server``.

- PostgreSQL unreachable: every family answers 503 in its own shape, each answer within 2 s (the client's
  timeout is the bound: no clock is compared), ``/readyz`` says so, and service comes back by itself.
- A burst at the rate limit: the requests of five minutes at 600/minute (3,000) compressed into seconds, and
  as many again over the limit: 429 with ``Retry-After`` and ``RateLimit-*``, never a 5xx, and the
  worker's resident memory grows by less than 10 %.
"""

from __future__ import annotations

import socket
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from django.db import connection

from parts.tests.factories import base_url
from tenancy.tests.factories import DepartmentFactory, partner_on
from tests.clients import basic_auth
from tests.processes import RedisServer, WebServer, child_env, database_url, free_port, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


class ClosablePort:
    """A loopback TCP forwarder to PostgreSQL that the drill closes (refusing and cutting every connection)
    and opens again on the same port: the database "unreachable", without touching the machine's server."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()

    def open(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def close(self) -> None:
        with self._lock:
            if self._listener is not None:
                try:
                    self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread: close alone does not
                except OSError:
                    pass
                self._listener.close()
                self._listener = None
            for sock in self._connections:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            self._connections.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if self._listener is not listener:  # closed meanwhile
                client.close()
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._connections += [client, server]
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                try:
                    sock.close()
                except OSError:
                    pass


@pytest.fixture
def through_closable_port() -> Iterator[tuple[ClosablePort, str]]:
    settings_dict = connection.settings_dict
    port = ClosablePort((settings_dict.get("HOST") or "127.0.0.1", int(settings_dict.get("PORT") or 5432)))
    port.open()
    url = database_url({**settings_dict, "HOST": "127.0.0.1", "PORT": port.port})
    try:
        yield port, url
    finally:
        port.close()


def test_postgresql_unreachable_answers_503_in_each_familys_shape_and_recovers(through_closable_port, tmp_path):
    port, url = through_closable_port
    department = DepartmentFactory()
    partner = partner_on(department)
    auth = {"Authorization": basic_auth(partner.username, partner.secret)}
    env = child_env(
        database_url=url,
        broker_url="filesystem://localhost/",
        CACHE_URL="",
        ORMA_CACHE_DIR=str(tmp_path / "cache"),
        ORMA_CELERY_DIR=str(tmp_path / "celery"),
        DB_CONNECT_TIMEOUT=1,
    )
    families = {
        "orders": f"/order/v2/department/{department.uuid}/order?limit=1",
        "parts": f"{base_url(department)}/parts?search=x",
    }
    with WebServer(env, workers=2) as web:

        def get(path: str) -> requests.Response:
            return requests.get(web.base_url + path, headers=auth, timeout=2)  # the 2 s bound

        assert {name: get(path).status_code for name, path in families.items()} == {"orders": 200, "parts": 200}
        port.close()

        down = {name: get(path) for name, path in families.items()}
        ready = requests.get(f"{web.base_url}/readyz", timeout=5)

        assert {name: answer.status_code for name, answer in down.items()} == {"orders": 503, "parts": 503}
        assert down["orders"].json()["errors"][0]["errorCode"] == "SERVICE_UNAVAILABLE"
        assert down["orders"].json()["statusCode"] == 503
        assert set(down["parts"].json()) == {"correlationId", "message", "details", "links"}
        assert all(answer.headers["Retry-After"] for answer in down.values())
        assert ready.status_code == 503 and ready.json()["database"].startswith("down")

        port.open()
        wait_until(lambda: get(families["orders"]).status_code == 200, timeout=15, what="orders back")
        # One worker answers again; the other may still hold a connection that answered under
        # DB_CONN_ALIVE_BYPASS_SECONDS ago, used without a health check: its next request fails once, the price
        # orma/postgresql documents (which worker takes a request is gunicorn's choice: CI met it on the parts
        # request). So of the requests that follow, at most one fails, with a 503; every other one answers 200.
        answers = [
            get(families["parts"]).status_code
            if n % 2 == 0
            else requests.get(f"{web.base_url}/readyz", timeout=5).status_code
            for n in range(6)
        ]
        assert set(answers) <= {200, 503} and answers.count(503) <= 1, answers


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def _worker_pid(master: int) -> int:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    assert len(children) == 1, children
    return int(children[0])


def test_a_burst_at_the_rate_limit_answers_429_without_5xx_or_memory_growth(tmp_path):
    department = DepartmentFactory()
    partner = partner_on(department)
    auth = {"Authorization": basic_auth(partner.username, partner.secret)}
    with RedisServer() as redis_server:
        env = child_env(
            database_url=database_url(connection.settings_dict),
            broker_url=redis_server.url(0),
            CACHE_URL=redis_server.url(1),
            ORMA_PARTNER_RATE_LIMIT="600/minute",
        )
        with WebServer(env, workers=1) as web:
            url = f"{web.base_url}/order/v2/department/{department.uuid}/order?limit=1"
            session_local = threading.local()

            def one(_: int) -> tuple[int, dict[str, str]]:
                session = getattr(session_local, "session", None) or requests.Session()
                session_local.session = session
                answer = session.get(url, headers=auth, timeout=10)
                kept = ("Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")
                return answer.status_code, {name: answer.headers.get(name, "") for name in kept}

            with ThreadPoolExecutor(4) as pool:
                warm = list(pool.map(one, range(300)))  # the worker's caches filled, its memory settled
                before = _rss_kib(_worker_pid(web.pid))
                burst = list(pool.map(one, range(5700)))  # 3,000 = 5 minutes at the limit, then as many over
                after = _rss_kib(_worker_pid(web.pid))

    statuses = Counter(status for status, _ in warm + burst)
    assert set(statuses) == {200, 429}, statuses  # no 5xx, nothing else
    assert statuses[200] == 600  # the window's 600, however the burst came
    limited = [headers for status, headers in burst if status == 429]
    assert all(int(h["Retry-After"]) >= 1 and h["RateLimit-Remaining"] == "0" for h in limited)
    assert all(h["RateLimit-Limit"] == "600" and h["RateLimit-Reset"] for h in limited)
    assert after < before * 1.10, (before, after)
