"""The adapter seam: the registry by dealer kind, the sandbox's rules, and the HTTP base against a real
HTTP server on loopback (reachability, timeouts and status handling)."""

from __future__ import annotations

import http.server
import threading
import uuid
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from dms_adapters.base import DmsError
from dms_adapters.http import HttpDmsAdapter
from dms_adapters.registry import ADAPTERS, adapter_for
from dms_adapters.sandbox import SandboxAdapter
from tenancy.choices import DmsKind, DmsMode
from tenancy.models import Dealer


class _Handler(http.server.BaseHTTPRequestHandler):
    """Answers ``/status/<code>`` with that status; records the Authorization header it saw."""

    seen_auth: list[str | None] = []

    def _answer(self) -> None:
        _Handler.seen_auth.append(self.headers.get("Authorization"))
        code = int(self.path.rsplit("/", 1)[-1]) if self.path.startswith("/status/") else 200
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_HEAD = do_PUT = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:  # keep the test output clean
        pass


@pytest.fixture
def dms_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def dealer(**fields: object) -> Dealer:
    return Dealer(name="Autohaus Test", **fields)  # type: ignore[arg-type]


def test_it_has_an_adapter_for_every_dms_kind():
    assert set(ADAPTERS) == set(DmsKind.values)
    assert isinstance(adapter_for(dealer(dms_kind=DmsKind.SANDBOX)), SandboxAdapter)
    assert isinstance(adapter_for(dealer(dms_kind=DmsKind.KEYLOOP, dms_base_url="http://x")), HttpDmsAdapter)


def test_each_adapter_says_what_it_takes_and_refuses_the_rest_for_good():
    takes = {
        kind: (adapter.takes_repair_orders, adapter.takes_parts_orders)
        for kind in DmsKind.values
        for adapter in [adapter_for(dealer(dms_kind=kind, dms_base_url="http://x"))]
    }
    assert takes == {DmsKind.SANDBOX: (True, True), DmsKind.MYKAARMA: (True, False), DmsKind.KEYLOOP: (False, True)}

    with pytest.raises(DmsError) as raised:
        adapter_for(dealer(dms_kind=DmsKind.KEYLOOP, dms_base_url="http://x")).push_repair_order(
            None, dms_order_uuid=None
        )
    assert raised.value.permanent and raised.value.errors[0]["errorCode"] == "NOT_SUPPORTED"
    assert raised.value.message == "the dealer's DMS (keyloop) takes no repair orders"
    with pytest.raises(DmsError) as raised:
        adapter_for(dealer(dms_kind=DmsKind.MYKAARMA, dms_base_url="http://x")).poll_parts_order(None)
    assert raised.value.permanent and raised.value.message == "the dealer's DMS (mykaarma) takes no parts orders"


class TestSandbox:
    def test_it_is_always_reachable_and_in_process(self):
        adapter = adapter_for(dealer(dms_kind=DmsKind.SANDBOX))
        assert adapter.reachability() == "ok"
        assert adapter.in_process

    @pytest.mark.parametrize(("mode", "accepted"), [(DmsMode.SYNC, True), (DmsMode.ASYNC, False)])
    def test_it_takes_a_parts_order_at_once_only_for_a_synchronous_dealer(self, mode, accepted):
        adapter = adapter_for(dealer(dms_kind=DmsKind.SANDBOX, dms_mode=mode))
        parts_order = SimpleNamespace(uuid=uuid.UUID(int=1))  # the sandbox reads only its UUID (its DMS number)
        assert adapter.submit_parts_order(parts_order=parts_order).accepted is accepted


class TestHttpBase:
    def test_it_is_never_asked_within_a_request(self):
        assert not HttpDmsAdapter(dealer(dms_base_url="http://x")).in_process

    def test_any_http_answer_means_reachable(self, dms_server):
        assert HttpDmsAdapter(dealer(dms_base_url=f"{dms_server}/status/404")).reachability() == "ok"

    def test_a_5xx_or_no_answer_is_down(self, dms_server):
        assert HttpDmsAdapter(dealer(dms_base_url=f"{dms_server}/status/503")).reachability() == "down: HTTP 503"
        assert HttpDmsAdapter(dealer(dms_base_url="http://127.0.0.1:1")).reachability().startswith("down: ")
        assert HttpDmsAdapter(dealer(dms_base_url="")).reachability() == "down: no base URL configured"

    def test_a_request_sends_the_dealers_credentials_and_passes_a_4xx_back(self, dms_server):
        _Handler.seen_auth.clear()
        adapter = HttpDmsAdapter(dealer(dms_base_url=dms_server, dms_username="dms-user", dms_password="pw"))

        response = adapter.request("PUT", "/status/409", json={})

        assert response.status_code == 409  # a business answer: the protocol adapter reads it
        assert _Handler.seen_auth == ["Basic ZG1zLXVzZXI6cHc="]

    def test_a_5xx_is_a_transient_error(self, dms_server):
        with pytest.raises(DmsError) as raised:
            HttpDmsAdapter(dealer(dms_base_url=dms_server)).request("PUT", "/status/502")
        assert not raised.value.permanent
        assert "502" in raised.value.message

    def test_a_refused_connection_is_a_transient_error(self):
        with pytest.raises(DmsError) as raised:
            HttpDmsAdapter(dealer(dms_base_url="http://127.0.0.1:1")).request("GET", "/")
        assert not raised.value.permanent
