"""The transport's connect-time SSRF check (issue 10, point 6): the address the socket actually reached is
judged, so a name that resolved to a public address when the subscription was saved and resolves to an
internal one now (DNS rebinding) never gets a byte. DNS is the one thing patched: it cannot run here."""

from __future__ import annotations

import socket

import pytest

from notifications import transport
from notifications.ssrf import url_refusal
from notifications.tests.receiver import Receiver

PUBLIC = "93.184.215.14"


@pytest.fixture
def endpoint():
    with Receiver() as receiver:
        yield receiver


def resolving(monkeypatch, answers):
    """``socket.getaddrinfo`` answering each next call for ``rebind.example.com`` with the next address."""
    real = socket.getaddrinfo
    calls = []

    def fake(host, port, *args, **kwargs):
        if host != "rebind.example.com":
            return real(host, port, *args, **kwargs)
        address = answers[min(len(calls), len(answers) - 1)]
        calls.append(address)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port or 443)))]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return calls


def send(url, timeout=2.0):
    return transport.send(url=url, body=b"{}", webhook_id="msg_1", secrets=["whsec_" + "A" * 44], timeout=timeout)


class TestConnectTimeSsrf:
    def test_a_name_public_at_save_and_private_at_connect_is_refused_at_connect(self, endpoint, monkeypatch, settings):
        settings.ORMA_WEBHOOK_ALLOW_PRIVATE = False
        url = f"https://rebind.example.com:{endpoint.port}/hook"
        calls = resolving(monkeypatch, [PUBLIC, "127.0.0.1"])

        assert url_refusal(url) is None  # saved: the name resolved to a public address
        result = send(url)

        assert calls == [PUBLIC, "127.0.0.1"]  # resolved again at connect, to loopback this time
        assert result.status_code is None and not result.succeeded
        assert result.error.startswith("refused address 127.0.0.1")
        assert endpoint.requests == []  # not a byte of the request reached the internal host

    def test_loopback_reached_through_any_name_is_refused(self, endpoint, monkeypatch, settings):
        settings.ORMA_WEBHOOK_ALLOW_PRIVATE = False
        resolving(monkeypatch, ["127.0.0.1"])
        result = send(f"https://rebind.example.com:{endpoint.port}/hook")
        assert "refused address" in result.error and endpoint.requests == []

    def test_a_literal_loopback_url_is_refused_at_connect_too(self, endpoint, settings):
        settings.ORMA_WEBHOOK_ALLOW_PRIVATE = False
        result = send(f"https://127.0.0.1:{endpoint.port}/hook")
        assert result.error.startswith("refused address 127.0.0.1") and endpoint.requests == []

    def test_plain_http_is_refused_before_connecting_unless_private_is_allowed(self, endpoint, settings):
        settings.ORMA_WEBHOOK_ALLOW_PRIVATE = False
        assert send(endpoint.url).error.startswith("refused: http scheme")
        assert endpoint.requests == []
        settings.ORMA_WEBHOOK_ALLOW_PRIVATE = True
        assert send(endpoint.url).succeeded and len(endpoint.requests) == 1

    def test_with_private_allowed_the_same_rebinding_name_connects(self, endpoint, monkeypatch, settings):
        settings.ORMA_WEBHOOK_ALLOW_PRIVATE = True
        resolving(monkeypatch, ["127.0.0.1"])
        assert send(f"http://rebind.example.com:{endpoint.port}/hook").succeeded
        assert endpoint.requests[0].headers["host"] == f"rebind.example.com:{endpoint.port}"  # Host keeps the name

    def test_a_pooled_connection_is_checked_when_it_is_made_and_reused_after(self, endpoint, settings):
        settings.ORMA_WEBHOOK_ALLOW_PRIVATE = True
        session = transport.new_session()
        transport._session, saved = session, transport._session
        try:
            assert all(send(endpoint.url).succeeded for _ in range(3))
        finally:
            transport._session = saved
        [pool] = session.get_adapter("http://").poolmanager.pools._container.values()
        assert isinstance(pool, transport.CheckedHTTPConnectionPool) and pool.num_connections == 1


class TestEnvironment:
    def test_proxies_of_the_environment_are_ignored(self, endpoint, monkeypatch, settings):
        settings.ORMA_WEBHOOK_ALLOW_PRIVATE = True
        monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing there: a proxied request would fail
        monkeypatch.setenv("NO_PROXY", "")
        session = transport.new_session()
        transport._session, saved = session, transport._session
        try:
            assert send(endpoint.url).succeeded
        finally:
            transport._session = saved
