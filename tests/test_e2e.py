"""`make e2e`: the production shape on one machine, through the real HTTP stack (issue 14).

``scripts/run.sh serve`` (what ``make serve`` runs: nginx in front of gunicorn, a Celery worker, beat) with
``DEBUG=0`` on the test's PostgreSQL database and a private ``redis-server`` (broker and cache, its own port),
a strict loopback DMS peer (``dms_adapters/tests/peer.py``: myKaarma for the service department, Keyloop for
the parts store). A partner creates seed 001's sample repair order and places seed 002's sample parts order
over HTTP; both must reach the DMS (the repair order ``SYNCED`` with the DMS's number, the parts order held
by the DMS exactly once). The partner subscribes to its departments' events through the API first; a loopback
webhook receiver must then get the signed notifications of both (``order.created``, ``order.dms_synced``,
``parts_order.created``), each verified with the ``standardwebhooks`` package. Everything is stopped by its
process group's id.

Collected only with ``ORMA_E2E=1`` (``make e2e``, a step of its own in .ci/run); ``make test`` leaves it out.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection
from standardwebhooks.webhooks import Webhook

from dms_adapters.tests.peer import DmsPeer
from notifications.tests.receiver import Receiver
from orders.tests.factories import CustomerFactory, orders_url, sample_body
from parts.tests.factories import base_url, seed_002_world
from tenancy.choices import DepartmentType, DmsKind
from tenancy.tests.factories import DealerFactory, DepartmentFactory, GrantFactory, partner_on
from tests.clients import basic_auth
from tests.processes import RedisServer, _Process, child_env, database_url, free_port, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


class MakeServe(_Process):
    """``bash scripts/run.sh serve``: migrate, collectstatic, then supervise.py running the Procfile."""

    name = "make-serve"
    startup_timeout = 90.0

    def __init__(self, env: dict[str, str], port: int) -> None:
        super().__init__(env)
        self.port = port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return ["bash", "scripts/run.sh", "serve"]

    def ready(self) -> bool:
        try:
            return requests.get(f"{self.base_url}/readyz", timeout=2).status_code == 200
        except requests.RequestException:
            return False


def _verified(receiver: Receiver, secret: str, wanted: set[str]) -> dict[str, dict] | None:
    """The notifications received so far by type, each verified with ``standardwebhooks``; None until all
    ``wanted`` types arrived."""
    seen = {}
    for request in list(receiver.requests):
        payload = Webhook(secret).verify(request.body, request.headers)  # raises on a bad signature
        seen.setdefault(payload["type"], payload)
    return seen if wanted <= set(seen) else None


def test_seed_samples_reach_the_dms_through_the_production_shape():
    peer = DmsPeer().start()
    receiver = Receiver().start()
    try:
        service = DepartmentFactory(dealer=peer.connect(DealerFactory(), DmsKind.MYKAARMA))
        store = DepartmentFactory(dealer=peer.connect(DealerFactory(), DmsKind.KEYLOOP), type=DepartmentType.PARTS)
        partner = partner_on(service)
        GrantFactory(partner=partner, department=store)
        customer = CustomerFactory(dealer=service.dealer)
        world = seed_002_world(store)
        auth = {"Authorization": basic_auth(partner.username, partner.secret)}

        with RedisServer() as redis_server, tempfile.TemporaryDirectory(prefix="orma-e2e-") as run_dir:
            port = free_port()
            env = child_env(
                database_url=database_url(connection.settings_dict),
                broker_url=redis_server.url(0),
                CACHE_URL=redis_server.url(1),
                DEBUG="0",
                # the keys the rows were written under (partner secrets' HMAC, the DMS password's encryption)
                SECRET_KEY=settings.SECRET_KEY,
                ALLOWED_HOSTS="127.0.0.1",
                SECURE_SSL_REDIRECT="0",
                PORT=port,
                ORMA_UPSTREAM_PORT=free_port(),
                ORMA_NGINX_DIR=f"{run_dir}/nginx",
                STATIC_ROOT=f"{run_dir}/static",
                ORMA_WEBHOOK_ALLOW_PRIVATE="1",
                ORMA_DMS_SWEEP_SECONDS=2,
                ORMA_PARTNER_RATE_LIMIT="600/minute",
            )
            env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '/usr/bin:/bin')}:/usr/sbin"
            serve = MakeServe(env, port)
            try:
                serve.start()
                base = serve.base_url
                assert requests.get(f"{base}/healthz", timeout=5).headers["Server"].startswith("nginx")

                # the partner's webhook subscription, through the API
                subscribed = requests.post(
                    f"{base}/notification/v1/subscription",
                    json={
                        "url": receiver.url,
                        "eventTypes": ["order.created", "order.dms_synced", "parts_order.created"],
                        "departments": [str(service.uuid), str(store.uuid)],
                        "payload": "full",
                    },
                    headers=auth,
                    timeout=10,
                )
                assert subscribed.status_code == 201, subscribed.text
                secret = subscribed.json()["secret"]

                # seed 001's sample repair order
                created = requests.put(base + orders_url(service), json=sample_body(customer), headers=auth, timeout=10)
                assert created.status_code == 201, created.text
                order_uuid = created.json()["orderUUID"]

                def synced() -> dict | None:
                    order = requests.get(f"{base}{orders_url(service)}/{order_uuid}", headers=auth, timeout=10)
                    dms = order.json()["order"]["dms"]
                    return dms if dms["status"] == "SYNCED" else None

                dms = wait_until(synced, timeout=60, interval=0.5, what="the repair order SYNCED")
                assert dms["orderNumber"]
                assert len(peer.orders_of(order_uuid)) == 1

                # seed 002's sample parts order
                placed = requests.post(
                    f"{base}{base_url(store)}/parts-orders", json=world["body"], headers=auth, timeout=15
                )
                assert placed.status_code in (201, 202), placed.text
                wait_until(
                    lambda: len(peer.parts_orders) == 1, timeout=60, interval=0.5, what="the parts order at the DMS"
                )
                held = next(iter(peer.parts_orders.values()))
                assert held.store == str(store.dms_id) or held.store == str(store.uuid)
                assert [line["part"]["partId"] for line in held.request["parts"]] == ["S7654321"]

                # the signed notifications of both, verified as a partner would
                wanted = {"order.created", "order.dms_synced", "parts_order.created"}
                seen = wait_until(
                    lambda: _verified(receiver, secret, wanted), timeout=60, interval=0.5, what="the notifications"
                )
                assert seen["order.created"]["data"]["orderUUID"] == order_uuid
                assert seen["order.dms_synced"]["data"]["dms"]["orderNumber"] == dms["orderNumber"]
                assert seen["parts_order.created"]["data"]["partsOrderId"] == placed.json()["partsOrderId"]
            finally:
                serve.close()
    finally:
        receiver.stop()
        peer.stop()
    with pytest.raises(ProcessLookupError):  # the whole group is gone: nginx, gunicorn, worker, beat
        os.killpg(serve.pid, 0)
