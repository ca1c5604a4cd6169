"""Keyset pagination shared by every list: ``limit`` (1-200), an opaque ``cursor``, the ``next`` URL, and a
byte budget per page.

A cursor is the last row's sort key, sealed: JSON encrypted and authenticated with Fernet under a key derived
from ``SECRET_KEY``, so a client can neither read it (the sort key holds global row ids: they told a tenant
how many rows exist across tenants) nor forge one. Whatever a client sends back is still checked before it
reaches the database: a cursor that does not open, or opens to values the database cannot take, answers 400,
never a 500.

A page ends early when its rows' JSON passes ``ORMA_PAGE_BYTE_BUDGET`` (4 MiB): 200 full orders could be many
MB; ``next`` continues after the last row sent. A page always holds at least one row.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
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


@functools.cache
def _sealer(secret_key: str) -> Fernet:
    # a key of its own, derived: a cursor opens nothing else, and nothing else opens as a cursor
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(f"orma.cursor:{secret_key}".encode()).digest()))


def encode_cursor(*values: Any) -> str:
    """The sealed, URL-safe form of a sort key."""
    token = _sealer(settings.SECRET_KEY).encrypt(json.dumps(values, default=str).encode())
    return token.decode().rstrip("=")


def _invalid_cursor() -> ApiError:
    return ApiError.of(400, ErrorCode.FIELD_INVALID, "cursor is not one this API issued", field="cursor")


def decode_cursor(raw: str, length: int) -> list[Any]:
    """The values of a cursor this API issued (``length`` of them), or a 400."""
    try:
        values = json.loads(_sealer(settings.SECRET_KEY).decrypt((raw + "=" * (-len(raw) % 4)).encode()))
    except (InvalidToken, ValueError, UnicodeError, TypeError):
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


def json_size(document: Any) -> int:
    """The bytes ``document`` takes as compact JSON (an estimate within a few bytes of the rendered answer)."""
    return len(json.dumps(document, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8", "replace"))


def keyset_page(
    request: Request,
    *,
    fetch: Callable[[Any, int], list[Any]],
    key: Callable[[Any], Sequence[Any]],
    decode: Callable[[str], Any],
    represent: Callable[[Any], Any] | None = None,
) -> tuple[list[Any], str | None]:
    """One page of a keyset-paginated list and the URL of the next page (None on the last one).

    ``fetch(after, limit)`` answers up to ``limit + 1`` rows after the decoded cursor (None on the first
    page): the extra row only tells that there is a next page. ``key(row)`` is a row's sort key, which
    the cursor of the next page carries; ``decode(raw)`` checks and decodes a cursor (400 when forged).
    With ``represent`` the page answers the rows represented, and ends at the byte budget: the rows up to
    the one that passes it (at least one), ``next`` continuing after the last one sent.
    """
    limit = page_limit(request)
    raw = request.query_params.get("cursor")
    rows = fetch(decode(raw) if raw is not None else None, limit)
    more = len(rows) > limit
    rows = rows[:limit]
    if represent is None:
        cursor = encode_cursor(*key(rows[-1])) if more else None
        return rows, next_url(request, cursor)
    budget = settings.ORMA_PAGE_BYTE_BUDGET
    page: list[Any] = []
    spent = 0
    for index, row in enumerate(rows):
        represented = represent(row)
        spent += json_size(represented) + 1
        if page and spent > budget:
            more = True
            rows = rows[:index]
            break
        page.append(represented)
    cursor = encode_cursor(*key(rows[len(page) - 1])) if more and page else None
    return page, next_url(request, cursor)
