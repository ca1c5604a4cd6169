"""Process-local copies of the shared cache's hot entries, kept coherent through Redis pub/sub.

Why: every authenticated request read the partner's credentials, its grant, its generation and the lockout
counts from Redis. That round trip cost ~100 µs of a ~250 µs bare request here, so an authenticated no-op
ran at 0.6x the same view without authentication (issue 12). The values change rarely (an admin edit, a
failed login), so each process keeps the ones it read, and every writer of them *announces* the change:
it publishes the entries' tags on one channel, and every process drops what it holds under those tags.

Coherence, in the order things happen:

- A writer changes Redis first, then publishes (:func:`announce`), and in its own process waits (a few
  ms at most) until its subscription has received the message, so the writer's own
  next request already sees the change.
- Each process holds one subscriber connection of its own (not a pool connection) and reads what arrived,
  without blocking, at the start of every authenticated request (:meth:`NearCache.poll`): a change
  announced before a request starts is seen by it in every process whose connection has received the
  message, which Redis sends to every subscriber in the same pass as its answer to the publisher.
- A value is stored only if no announcement arrived between the poll before it was read from Redis and
  the store (:meth:`NearCache.sequence`), so a request that read an entry just before a change can never
  keep it after the change's announcement.
- Nothing is served while the subscription is not known to be alive: before its confirmation, after any
  error on it (everything held is dropped, a new connection is tried a second later), and when a PING on it
  (every ``PING_SECONDS``) has no answer within ``PING_SECONDS``: a silently dead connection cannot keep
  serving stale entries for more than that.
- Every entry also expires after ``ORMA_CREDENTIAL_CACHE_SECONDS``, as the shared entries do.

Only on Redis (``CACHE_URL``); ``ORMA_NEAR_CACHE=0`` turns it off. The embedded default's file cache is
already local to the machine, and its processes read it directly.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Iterable
from typing import Any

from django.conf import settings

from orma.cache import raw_key, redis_client

logger = logging.getLogger("orma.nearcache")

MISSING = object()
PING_SECONDS = 5.0
RETRY_SECONDS = 1.0
OWN_MESSAGE_WAIT_SECONDS = 0.05  # a writer waits this long at most for its announcement to come back
MAX_ENTRIES = 10_000  # unknown usernames are entries too: a guesser cannot grow a process without bound


def channel() -> str:
    """The announcements' channel: one per cache (its key prefix and database), as channels are server-wide."""
    db = redis_client().connection_pool.connection_kwargs.get("db", 0)  # type: ignore[union-attr]
    return f"{raw_key('near-cache')}:db{db}"


class NearCache:
    """One process's copies of shared-cache entries, each under a tag that an announcement drops."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._entries: dict[str, tuple[Any, float, str]] = {}  # key -> (value, expires at, tag)
        self._tags: dict[str, set[str]] = {}
        self._sequence = 0  # announcements (and resets) seen: a value read before one is not stored after it
        self._connection: Any = None
        self._channel = ""
        self._alive = False
        self._retry_at = 0.0
        self._last_ping = 0.0
        self._ping_outstanding = False
        self._own: set[str] = set()  # ids of this process's announcements not yet back from Redis
        self._forked = False  # set in a forked child (gunicorn's workers): its parent's connection is not its own
        self.client_id: int | None = None  # the subscription's connection, as Redis's CLIENT LIST names it

    # --- reading --------------------------------------------------------------------------------------

    def poll(self) -> bool:
        """Apply every announcement that has arrived (without waiting); answers whether entries may be used."""
        with self._lock:
            if self._forked:  # (told by os.register_at_fork: asking os.getpid() here was a system call a request)
                self._forked = False
                self._forget_connection()
            now = time.monotonic()
            if not self._alive:
                if now < self._retry_at:
                    return False
                self._subscribe(now)
                return self._alive
            try:
                while self._connection.can_read(timeout=0):
                    self._receive(self._connection.read_response(push_request=True))
                if self._ping_outstanding and now - self._last_ping > PING_SECONDS:
                    raise ConnectionError(f"no answer to a PING within {PING_SECONDS:g} s")
                if not self._ping_outstanding and now - self._last_ping > PING_SECONDS:
                    self._connection.send_command("PING")
                    self._last_ping, self._ping_outstanding = now, True
            except Exception as exc:  # any failure of the subscription: serve nothing until it is back
                self._fail(now, exc)
            return self._alive

    @property
    def sequence(self) -> int:
        """Read before fetching a value from Redis, passed to :meth:`store` with it."""
        return self._sequence

    def get(self, key: str) -> Any:
        """The value held under ``key``, or :data:`MISSING`."""
        entry = self._entries.get(key)
        if entry is None:
            return MISSING
        if entry[1] < time.monotonic():
            with self._lock:
                self._drop(key)
            return MISSING
        return entry[0]

    def store(self, values: dict[str, Any], *, tag: str, sequence: int) -> None:
        """Hold ``values`` under ``tag``, unless an announcement arrived since ``sequence`` was read."""
        with self._lock:
            if not self._alive or sequence != self._sequence:
                return
            while len(self._entries) + len(values) > MAX_ENTRIES and self._entries:
                self._drop(next(iter(self._entries)))
            expires = time.monotonic() + settings.ORMA_CREDENTIAL_CACHE_SECONDS
            for key, value in values.items():
                self._drop(key)
                self._entries[key] = (value, expires, tag)
                self._tags.setdefault(tag, set()).add(key)

    def reset(self) -> None:
        """Drop every entry (the tests, between two of them)."""
        with self._lock:
            self._clear()

    # --- announcing -----------------------------------------------------------------------------------

    def note_own(self, message_id: str) -> None:
        with self._lock:
            if self._alive:
                self._own.add(message_id)

    def await_own(self, message_id: str) -> None:
        """Wait (briefly) until this process has received its own announcement, so it has applied it."""
        deadline = time.monotonic() + OWN_MESSAGE_WAIT_SECONDS
        while True:
            with self._lock:
                if message_id not in self._own or not self._alive:
                    return
                try:
                    if self._connection.can_read(timeout=0.002):
                        self._receive(self._connection.read_response(push_request=True))
                        continue
                except Exception as exc:
                    self._fail(time.monotonic(), exc)
                    return
            if time.monotonic() > deadline:
                with self._lock:  # not back in time: drop everything rather than serve what it changed
                    self._own.discard(message_id)
                    self._clear()
                return

    # --- the subscription -----------------------------------------------------------------------------

    def _subscribe(self, now: float) -> None:
        client = redis_client()
        if client is None:
            self._retry_at = now + RETRY_SECONDS
            return
        try:
            self._channel = channel()
            connection = client.connection_pool.make_connection()  # its own, never handed to a command
            connection.connect()
            connection.send_command("CLIENT", "SETNAME", "orma-near-cache")  # what CLIENT LIST shows of it
            connection.read_response()
            connection.send_command("CLIENT", "ID")
            client_id = int(connection.read_response())
            connection.send_command("SUBSCRIBE", self._channel)
            reply = connection.read_response(push_request=True)
            if not (isinstance(reply, list) and reply and _text(reply[0]) == "subscribe"):
                raise ConnectionError(f"unexpected answer to SUBSCRIBE: {reply!r}")
        except Exception as exc:
            self._retry_at = now + RETRY_SECONDS
            logger.warning("near cache: cannot subscribe (%s); every request reads Redis meanwhile", exc)
            return
        self._clear()  # nothing read before the subscription is trusted
        self._connection, self._alive, self.client_id = connection, True, client_id
        self._last_ping, self._ping_outstanding = now, False

    def _receive(self, message: Any) -> None:
        if isinstance(message, bytes | str):  # RESP3 answers a PING with PONG, RESP2 with ["pong", ""]
            message = [message]
        if not isinstance(message, list) or not message:
            return
        kind = _text(message[0]).lower()
        if kind == "pong":
            self._ping_outstanding = False
        elif kind == "message" and len(message) >= 3:
            message_id, *tags = _text(message[2]).split(" ")
            self._own.discard(message_id)
            self._sequence += 1
            for tag in tags:
                for key in self._tags.pop(tag, set()):
                    self._entries.pop(key, None)

    def _fail(self, now: float, exc: Exception) -> None:
        logger.warning("near cache: subscription lost (%s); every request reads Redis until it is back", exc)
        self._forget_connection()
        self._retry_at = now + RETRY_SECONDS

    def _forget_connection(self) -> None:
        connection, self._connection, self._alive = self._connection, None, False
        self._clear()
        self._own.clear()
        if connection is not None:
            try:
                connection.disconnect()
            except Exception:  # already broken: nothing more to release
                pass

    def _clear(self) -> None:
        self._entries.clear()
        self._tags.clear()
        self._sequence += 1

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            keys = self._tags.get(entry[2])
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._tags[entry[2]]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


_near = NearCache()


def _forked_child() -> None:
    _near._forked = True


os.register_at_fork(after_in_child=_forked_child)


def near_cache() -> NearCache | None:
    """This process's near cache when the shared cache is Redis and it is on, else None."""
    if not settings.ORMA_NEAR_CACHE or redis_client() is None:
        return None
    return _near


def announce(tags: Iterable[str]) -> None:
    """Tell every process to drop what it holds under ``tags``; called after the writes they reflect, and
    back once this process has applied it itself (its own next request sees the change)."""
    tags = sorted(set(tags))
    client = redis_client()
    if not tags or client is None:
        return
    message_id = secrets.token_hex(6)
    near = near_cache()
    if near is not None:
        near.note_own(message_id)
    client.publish(channel(), " ".join([message_id, *tags]))
    if near is not None:
        near.await_own(message_id)


def reset() -> None:
    """Forget every entry of this process (between two tests)."""
    _near.reset()
