"""The request's correlation id, visible to every log line and every task queued while it runs."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

correlation_id_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)

# <= 64 printable ASCII characters, no leading/trailing blanks: safe in a header, a log line and a JSON body.
_VALID_CORRELATION_ID = re.compile(r"^[!-~](?:[ -~]{0,62}[!-~])?$")


def new_correlation_id() -> str:
    return str(uuid.uuid4())


def accept_correlation_id(candidate: str | None) -> str:
    """The caller's correlation id when it is valid, else a fresh one."""
    if candidate and _VALID_CORRELATION_ID.match(candidate):
        return candidate
    return new_correlation_id()


def current_correlation_id() -> str | None:
    return correlation_id_var.get()
