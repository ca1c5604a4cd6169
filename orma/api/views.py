"""The base of every partner-facing view, and the health endpoints."""

from __future__ import annotations

from typing import Any, ClassVar

from django.http import HttpRequest, JsonResponse
from rest_framework.request import Request
from rest_framework.views import APIView

from orma import health

from .errors import ApiError, ErrorCode


def check_query_parameters(request: Request, allowed: dict[str, tuple[str, ...]] | None) -> None:
    """Refuse (400) query parameters the operation does not know, so a typo such as ``?stauts=`` is
    not silently ignored, and NUL characters anywhere in the query, which no database can compare.
    ``allowed`` maps a method to its parameters; None leaves the names unchecked."""
    known = None if allowed is None else allowed.get(request.method or "", ())
    for name, values in request.query_params.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            raise ApiError.of(
                400, ErrorCode.FIELD_INVALID, f"query parameter {name!r} must not contain NUL characters", field=name
            )
        if known is not None and name not in known:
            expected = ", ".join(known) or "none"
            raise ApiError.of(
                400, ErrorCode.FIELD_INVALID, f"unknown query parameter {name!r}; expected: {expected}", field=name
            )


class PartnerAPIView(APIView):
    """Authenticated partner view: authentication, then the rate limit, then the department's grant.

    DRF checks permissions before throttles; the rate limit comes first here so that a partner over its
    limit is refused before any database work. Subclasses set ``required_scopes`` per HTTP method.
    """

    required_scopes: ClassVar[dict[str, str]] = {}
    # The query parameters each method accepts; None: not checked (only NUL characters are refused).
    query_parameters: ClassVar[dict[str, tuple[str, ...]] | None] = None
    metadata_class = None  # OPTIONS answers 405 like any other unsupported method

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self.format_kwarg = self.get_format_suffix(**kwargs)
        neg = self.perform_content_negotiation(request)
        request.accepted_renderer, request.accepted_media_type = neg
        self.determine_version(request, *args, **kwargs)
        self.perform_authentication(request)
        if hasattr(self, (request.method or "").lower()):  # an unsupported method answers 405 first
            check_query_parameters(request, self.query_parameters)
        if request.method in ("POST", "PUT", "PATCH"):
            # Read the body through Django, which enforces DATA_UPLOAD_MAX_MEMORY_SIZE (413), before DRF
            # parses it; the idempotency fingerprint needs the raw bytes too.
            request._request.body  # noqa: B018
        self.check_throttles(request)
        self.check_permissions(request)


def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up (no dependency is consulted)."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Database and broker reachable; 503 naming what is down otherwise."""
    checks = {"database": health.database_status(), "broker": health.broker_status()}
    ready = all(not status.startswith("down") for status in checks.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", **checks}, status=200 if ready else 503)
