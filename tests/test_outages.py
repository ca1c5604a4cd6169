"""Outages against a real server process: the database unreachable answers 503 in the family's shape."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server_without_database():
    """gunicorn on loopback whose DATABASE_URL points at a port where nothing listens."""
    port = free_port()
    env = {
        **os.environ,
        "DEBUG": "1",
        "DJANGO_SETTINGS_MODULE": "tests.live_settings",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/nowhere",
        "CELERY_BROKER_URL": "",
        "CACHE_URL": "",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "orma.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                requests.get(f"{base}/healthz", timeout=2)
                break
            except requests.RequestException:
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_it_answers_503_in_each_familys_shape_when_the_database_is_down(server_without_database):
    base = server_without_database
    auth = ("someone", "some-secret")
    department = "00000000-0000-4000-8000-000000000001"

    orders = requests.get(f"{base}/order/v2/department/{department}/probe", auth=auth, timeout=10)
    parts = requests.get(f"{base}/parts-api/{department}/{department}/v1/probe", auth=auth, timeout=10)
    ready = requests.get(f"{base}/readyz", timeout=10)
    alive = requests.get(f"{base}/healthz", timeout=10)

    assert orders.status_code == 503
    assert orders.json()["statusCode"] == 503
    assert orders.json()["errors"][0]["errorCode"] == "SERVICE_UNAVAILABLE"
    assert parts.status_code == 503
    assert set(parts.json()) == {"correlationId", "message", "details", "links"}
    assert ready.status_code == 503
    assert ready.json()["database"].startswith("down")
    assert alive.status_code == 200
