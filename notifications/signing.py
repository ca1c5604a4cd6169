"""Standard Webhooks signing (DESIGN §7): secrets in their ``whsec_`` form, and the ``webhook-signature`` header.

The signed content is ``"{webhook-id}.{webhook-timestamp}.{body}"``; the HMAC-SHA256 key is the secret's
base64-decoded bytes. During a rotation's overlap a delivery carries one signature per secret, separated
by spaces, so a receiver that knows either secret verifies it. Written with ``hmac`` (a few lines, on every
delivery); the tests verify it with the ``standardwebhooks`` package itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # Standard Webhooks asks for 24 to 64 random bytes


def new_secret() -> str:
    """A fresh signing secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret: its decoded bytes."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64 HMAC-SHA256>`` signature of a message."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_header(secrets_in_use: Iterable[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header: one signature per secret in use, space-separated."""
    return " ".join(signature(secret, msg_id, timestamp, body) for secret in secrets_in_use)
