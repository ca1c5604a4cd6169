"""``Idempotency-Key`` for creating requests (DESIGN §9), shared by repair orders and parts orders.

Scope is (partner, key); the fingerprint is method + path + body. The first request claims the key with
a committed row; a repeat with the same fingerprint gets the stored status, headers and body byte for byte
(the first answer's very bytes, its ``correlationId`` included: it is the first answer), one with another
body gets 422, and one arriving while the first is still in flight gets 409. Any 5xx releases the key so
the client can retry, and a claim still "in flight" after ``ORMA_IDEMPOTENCY_IN_FLIGHT_SECONDS`` (longer
than any request may run: gunicorn's timeout is 30 s) belongs to a request that died with its worker and
is taken over by the next repeat. Keys are kept 72 hours.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone
from rest_framework.request import Request

from orma.api.errors import ApiError, ErrorCode

from .models import IdempotencyRecord

logger = logging.getLogger("orma.idempotency")

HEADER = "Idempotency-Key"
RETENTION = timedelta(hours=72)
_VALID_KEY = re.compile(r"^[!-~]{1,255}$")
_REPLAYED_HEADERS = ("Content-Type", "ETag", "Location")


def fingerprint(request: Request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b"\n")
    digest.update(request.get_full_path().encode())
    digest.update(b"\n")
    digest.update(request._request.body)
    return digest.hexdigest()


def _claim(partner_id: int, key: str, print_: str) -> tuple[IdempotencyRecord, bool]:
    """Insert the key's row (committed at once, so concurrent repeats see it), or find the existing one."""
    for _ in range(2):
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(partner_id=partner_id, key=key, fingerprint=print_), True
        except IntegrityError:
            record = IdempotencyRecord.objects.filter(partner_id=partner_id, key=key).first()
            if record is None:
                continue  # released in between: claim again
            now = timezone.now()
            in_flight_for = timedelta(seconds=settings.ORMA_IDEMPOTENCY_IN_FLIGHT_SECONDS)
            stale_claim = record.status_code is None and record.created_at < now - in_flight_for
            if record.created_at < now - RETENTION or stale_claim:
                # conditioned on the row as read: of two repeats taking over a dead claim, one wins
                IdempotencyRecord.objects.filter(
                    pk=record.pk, created_at=record.created_at, status_code=record.status_code
                ).delete()
                continue
            return record, False
    raise ApiError.of(409, ErrorCode.CONFLICT, "The Idempotency-Key is being processed; retry shortly.")


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(bytes(record.response_content or b""), status=record.status_code)
    for name, value in record.response_headers.items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent(handler: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Decorate a creating DRF handler (``put``/``post``) to honour ``Idempotency-Key``."""

    @functools.wraps(handler)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        key = request.headers.get(HEADER)
        if key is None:
            return handler(view, request, *args, **kwargs)
        if not _VALID_KEY.match(key):
            raise ApiError.of(
                400, ErrorCode.FIELD_INVALID, f"{HEADER} must be 1 to 255 printable ASCII characters", field=HEADER
            )
        print_ = fingerprint(request)
        record, claimed = _claim(request.user.id, key, print_)
        if not claimed:
            if record.fingerprint != print_:
                raise ApiError.of(
                    422, ErrorCode.UNPROCESSABLE, f"This {HEADER} was used with another request body or path."
                )
            if record.status_code is None:
                raise ApiError.of(409, ErrorCode.CONFLICT, f"A request with this {HEADER} is still being processed.")
            return _replay(record)
        try:
            response = handler(view, request, *args, **kwargs)
        except Exception as exc:
            response = view.handle_exception(exc)  # answered (and stored) like any other outcome
        if response.status_code >= 500:
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            return response
        if hasattr(response, "render"):
            # rendered now, as it will be sent (DRF renders on the way out otherwise; a rendered response is
            # not rendered again), so the stored bytes are the bytes the client gets
            response = view.finalize_response(request, response, *args, **kwargs)
            response.render()
        record.status_code = response.status_code
        record.response_content = response.content
        record.response_headers = {name: response[name] for name in _REPLAYED_HEADERS if response.has_header(name)}
        try:
            record.save(update_fields=["status_code", "response_content", "response_headers"])
        except DatabaseError:
            # The answer stands; without a stored copy the key is released rather than left "in flight".
            logger.exception("could not store the answer for Idempotency-Key %r; releasing it", key)
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
        return response

    return wrapper


def purge_expired() -> int:
    """Delete keys older than the retention period; answers how many."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - RETENTION).delete()
    return deleted
