"""Issue 14 (and 13) with real processes: the embedded default's cache shared by every process, and
``make serve``'s proxy keeping slow clients from starving the workers.

Every server here is started by the test on 127.0.0.1, bounded in time, and stopped by its process group.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.db import connection

from tenancy.tests.factories import DepartmentFactory, partner_on
from tests.clients import basic_auth
from tests.processes import ROOT, WebServer, child_env, database_url
from tests.serve_stack import ServeStack

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def embedded_env() -> Iterator[dict[str, str]]:
    """A child's environment as the embedded default has it: no CACHE_URL (the file cache), its own folder."""
    with tempfile.TemporaryDirectory(prefix="orma-cache-") as cache_dir, tempfile.TemporaryDirectory() as celery:
        yield child_env(
            database_url=database_url(connection.settings_dict),
            broker_url="filesystem://localhost/",
            CACHE_URL="",
            ORMA_CACHE_DIR=cache_dir,
            ORMA_CELERY_DIR=celery,
            ORMA_CREDENTIAL_CACHE_SECONDS=600,  # a cached credential would outlive the test if nothing evicted it
        )


def manage(env: dict[str, str], *args: str) -> str:
    """A support command in a process of its own, as an operator runs it from another shell."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def redis_env(embedded_env) -> dict[str, str]:
    """The same processes on the shared Redis the test itself uses (as production runs them)."""
    from django.conf import settings

    return {**embedded_env, "CACHE_URL": settings.CACHES["default"]["LOCATION"]}


class TestTheEmbeddedDefaultSharesOneCache:
    """A rotated secret, a scope taken away, a revoked grant, a deactivated partner: the very next request in
    every process, on the file cache and on Redis (the grant is cached with the credentials)."""

    def test_changes_take_effect_on_the_next_request_in_every_process(self, embedded_env):
        self._check_every_change(embedded_env)

    @pytest.mark.redis
    def test_changes_take_effect_on_the_next_request_in_every_process_on_redis(self, redis_env):
        self._check_every_change(redis_env)

    def _check_every_change(self, env: dict[str, str]) -> None:
        department = DepartmentFactory()
        partner = partner_on(department)
        url = f"/order/v2/department/{department.uuid}/order?limit=1"
        old = basic_auth(partner.username, partner.secret)
        with WebServer(env, workers=1) as first, WebServer(env, workers=1) as second:
            servers = (first, second)

            def statuses(header: str) -> list[int]:
                return [
                    requests.get(s.base_url + url, headers={"Authorization": header}, timeout=10).status_code
                    for s in servers
                ]

            for _ in range(3):  # both now hold the credentials and the grant in the cache, and on Redis in
                assert statuses(old) == [200, 200]  # the process itself (orma.nearcache): no round trip
            if env.get("CACHE_URL"):  # both servers listen for the announcements of changes
                from orma.cache import redis_client
                from orma.nearcache import channel

                assert redis_client().pubsub_numsub(channel())[0][1] >= 2

            rotated = json.loads(manage(env, "orma_rotate_partner_secret", "--username", partner.username, "--json"))
            new = basic_auth(partner.username, rotated["secret"])
            assert statuses(old) == [401, 401]  # before (memory per process): [200, 200] for the cached minute
            assert statuses(new) == [200, 200]

            manage(
                env,
                "shell",
                "-c",
                f"from tenancy.models import Grant; g = Grant.objects.get(partner__username={partner.username!r}); "
                "g.scopes = ['order.create']; g.save()",
            )
            assert statuses(new) == [403, 403]

            manage(
                env,
                "shell",
                "-c",
                f"from tenancy.models import Grant; Grant.objects.filter(partner__username={partner.username!r})"
                ".delete()",
            )
            assert statuses(new) == [404, 404]

            manage(
                env,
                "shell",
                "-c",
                f"from tenancy.models import Partner; p = Partner.objects.get(username={partner.username!r}); "
                "p.is_active = False; p.save()",
            )
            assert statuses(new) == [401, 401]


def _slow_loris(port: int, *, body: bool) -> socket.socket:
    """A client that opened a request and sends it a little at a time, never finishing."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    if body:
        sock.sendall(b"POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n{")
    else:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    return sock


class TestSlowClients:
    """Defect 2: two connections trickling a header line (or a body byte) every second held gunicorn's two
    sync workers; /healthz went unanswered for ~25 s. Behind make serve's buffering proxy it answers."""

    @pytest.mark.parametrize("body", [False, True], ids=["headers", "body"])
    def test_two_slow_clients_do_not_stop_the_service(self, embedded_env, body):
        with ServeStack(embedded_env, workers=2) as stack:
            loris = [_slow_loris(stack.port, body=body), _slow_loris(stack.port, body=body)]
            try:
                answered = []
                for tick in range(6):  # six seconds of trickling, and a health check each second
                    for sock in loris:
                        sock.sendall(f"X-Slow-{tick}: 1\r\n".encode() if not body else b"1")
                    started = time.monotonic()
                    answer = requests.get(f"{stack.base_url}/healthz", timeout=5)
                    answered.append((answer.status_code, time.monotonic() - started < 5))
                    time.sleep(1)
            finally:
                for sock in loris:
                    sock.close()

        assert answered == [(200, True)] * 6

    def test_the_proxy_cuts_a_client_that_stalls_past_its_header_timeout(self, embedded_env):
        with ServeStack(embedded_env, workers=1, client_timeout_seconds=2) as stack:
            sock = _slow_loris(stack.port, body=False)
            sock.settimeout(10)
            try:
                started = time.monotonic()
                try:
                    data = sock.recv(1024)  # nothing more is sent: the proxy closes (or resets) the connection
                except ConnectionResetError:
                    data = b""
                waited = time.monotonic() - started
            finally:
                sock.close()

        assert data == b"" or data.startswith(b"HTTP/1.1 408")
        assert waited < 10


def test_the_generated_proxy_config_is_valid(tmp_path: Path):
    from scripts.proxy import nginx_config

    config = nginx_config(port=18080, upstream=f"unix:{tmp_path}/gunicorn.sock", run_dir=tmp_path, static_root=tmp_path)
    (tmp_path / "nginx.conf").write_text(config)
    checked = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True
    )

    assert checked.returncode == 0, checked.stderr
    assert "client_header_timeout" in config and "proxy_request_buffering on" in config
