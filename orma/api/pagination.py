"""Keyset pagination shared by every list: ``limit`` (1-200), an opaque ``cursor``, the ``next`` URL.

A cursor is the last row's sort key, base64-encoded JSON. Whatever a client sends back is checked
before it reaches the database: a forged cursor answers 400, never a 500 (ids beyond bigint, instants
PostgreSQL cannot take).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Callable, Sequence
from typing import Any

from rest_framework.request import Request

from .errors import ApiError, ErrorCode

MAX_LIMIT = 200
DEFAULT_LIMIT = 50
_MAX_ID = 2**63 - 1


def page_limit(request: Request) -> int:
    """The ``limit`` query parameter: 1 to 200, default 50; anything else is a 400."""
    raw = request.query_params.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise ApiError.of(
            400, ErrorCode.FIELD_INVALID, f"limit must be a whole number from 1 to {MAX_LIMIT}", field="limit"
        )
    return int(raw)


def next_url(request: Request, cursor: str | None) -> str | None:
    """The URL of the next page: the same query with ``cursor`` replaced; None on the last page."""
    if cursor is None:
        return None
    query = request.query_params.copy()
    query["cursor"] = cursor
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


def encode_cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def _invalid_cursor() -> ApiError:
    return ApiError.of(400, ErrorCode.FIELD_INVALID, "cursor is not one this API issued", field="cursor")


def decode_cursor(raw: str, length: int) -> list[Any]:
    """The values of a cursor this API issued (``length`` of them), or a 400."""
    try:
        values = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        values = None
    if not isinstance(values, list) or len(values) != length:
        raise _invalid_cursor()
    return values


def cursor_id(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= _MAX_ID:
        raise _invalid_cursor()
    return value


def cursor_instant(value: Any) -> dt.datetime:
    """An aware UTC instant from a cursor; offsets and years the database cannot take are a 400."""
    try:
        instant = dt.datetime.fromisoformat(value)
        return instant.replace(tzinfo=instant.tzinfo or dt.UTC).astimezone(dt.UTC)
    except (TypeError, ValueError, OverflowError):
        raise _invalid_cursor() from None


def decode_instant_cursor(raw: str) -> tuple[dt.datetime, int]:
    """A (created instant, id) cursor, the keyset of the newest-first lists."""
    instant, row_id = decode_cursor(raw, 2)
    return cursor_instant(instant), cursor_id(row_id)


def keyset_page(
    request: Request,
    *,
    fetch: Callable[[Any, int], list[Any]],
    key: Callable[[Any], Sequence[Any]],
    decode: Callable[[str], Any],
) -> tuple[list[Any], str | None]:
    """One page of a keyset-paginated list and the URL of the next page (None on the last one).

    ``fetch(after, limit)`` answers up to ``limit + 1`` rows after the decoded cursor (None on the first
    page): the extra row only tells that there is a next page. ``key(row)`` is a row's sort key, which
    the cursor of the next page carries; ``decode(raw)`` checks and decodes a cursor (400 when forged).
    """
    limit = page_limit(request)
    raw = request.query_params.get("cursor")
    rows = fetch(decode(raw) if raw is not None else None, limit)
    cursor = encode_cursor(*key(rows[limit - 1])) if len(rows) > limit else None
    return rows[:limit], next_url(request, cursor)
