"""A partner's webhook endpoint for the tests: a threaded ``http.server`` on 127.0.0.1, scripted per request.

    with Receiver() as receiver:
        receiver.script = lambda request: Reply(500) if request.number <= 2 else Reply(200)
        ...
        receiver.requests            # what arrived: headers, body, the payload, when
        receiver.max_concurrent      # the most requests it held at once

A :class:`Reply` says what to answer: a status, headers (``Retry-After``, ``Location``), a body, a delay
first, ``hang`` (hold the request until :meth:`Receiver.release` or the bound), ``drip`` (send the body a byte
at a time, a pause between bytes). Every wait is bounded; the server listens on loopback only and is stopped
by :meth:`Receiver.stop` (its own thread, no process).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

HANG_BOUND_SECONDS = 60.0  # a hanging request is answered after this at the latest, released or not


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    delay: float = 0.0
    hang: bool = False
    drip: float = 0.0  # seconds between the body's bytes


@dataclass
class Received:
    """One request as the endpoint saw it."""

    number: int  # 1 for the first request the endpoint received
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    arrived: float  # time.monotonic()
    status: int | None = None  # what it answered (None while held, or when the client went away)
    answered: float | None = None

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def webhook_id(self) -> str:
        return self.headers.get("webhook-id", "")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # bursts of connections from a worker's threads
    allow_reuse_address = True  # back on the same port after a stop (the endpoint "down, then up")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.open_connections.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.connections_lock:
                self.open_connections.discard(request)

    def close_connections(self) -> None:
        """End the kept-alive connections too: a stopped endpoint must not go on answering on them."""
        with self.connections_lock:
            connections = list(self.open_connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client cut at its deadline resets the connection: expected, not worth a traceback


class Receiver:
    """The endpoint; ``script(request) -> Reply`` decides each answer (200 "ok" by default)."""

    def __init__(self, port: int = 0) -> None:
        self.script: Callable[[Received], Reply] = lambda request: Reply()
        self.requests: list[Received] = []
        self.concurrent = 0
        self.max_concurrent = 0
        self._lock = threading.Lock()
        self._released = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                receiver._handle(self, body)

            do_PUT = do_POST
            do_GET = do_POST

        self._server = _Server(("127.0.0.1", port), Handler)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release()
        if self._thread is not None:  # shutdown() waits for serve_forever(): only when it runs
            self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()
        if self._thread is not None:
            self._thread.join(5)

    def release(self) -> None:
        """Answer every held request now (and any that would hang from now on)."""
        self._released.set()

    def hold(self) -> None:
        """Hanging replies hang again (after a release)."""
        self._released.clear()

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- what arrived -----------------------------------------------------------------------------

    def payloads(self) -> list[dict[str, Any]]:
        with self._lock:
            return [request.payload for request in self.requests]

    def answered(self, status: int | None = None) -> list[Received]:
        with self._lock:
            done = [r for r in self.requests if r.status is not None]
        return done if status is None else [r for r in done if r.status == status]

    # --- serving ----------------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        with self._lock:
            request = Received(
                number=len(self.requests) + 1,
                path=handler.path,
                headers={key.lower(): value for key, value in handler.headers.items()},
                body=body,
                arrived=time.monotonic(),
            )
            self.requests.append(request)
            self.concurrent += 1
            self.max_concurrent = max(self.max_concurrent, self.concurrent)
        try:
            reply = self.script(request)
            if reply.delay:
                time.sleep(reply.delay)
            if reply.hang:
                self._released.wait(HANG_BOUND_SECONDS)
            handler.send_response(reply.status)
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(reply.body)))
            handler.end_headers()
            if reply.drip:
                for index in range(len(reply.body)):
                    handler.wfile.write(reply.body[index : index + 1])
                    handler.wfile.flush()
                    time.sleep(reply.drip)
            else:
                handler.wfile.write(reply.body)
            request.status = reply.status
            request.answered = time.monotonic()
        except OSError:
            pass  # the client went away (cut at its deadline): nothing to answer
        finally:
            with self._lock:
                self.concurrent -= 1
