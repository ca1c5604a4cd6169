"""The request's correlation id, visible to every log line and every task queued while it runs."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

correlation_id_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)

# 1 to 64 of letters, digits and ``-._:``: safe in a header, a JSON body and a log line, where blanks, brackets
# or an equals sign would let a caller forge a line's fields (``x] ERROR forged [cid=y``).
_VALID_CORRELATION_ID = re.compile(r"^[A-Za-z0-9\-._:]{1,64}$")


def new_correlation_id() -> str:
    return str(uuid.uuid4())


def accept_correlation_id(candidate: str | None) -> str:
    """The caller's correlation id when it is of the safe alphabet, else a fresh one."""
    if candidate and _VALID_CORRELATION_ID.fullmatch(candidate):
        return candidate
    return new_correlation_id()


def current_correlation_id() -> str | None:
    return correlation_id_var.get()
