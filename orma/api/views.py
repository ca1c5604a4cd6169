"""The base of every partner-facing view, and the health endpoints."""

from __future__ import annotations

import threading
from typing import Any, ClassVar

from django.conf import settings as django_settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import translation
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from orma import health

from .errors import ApiError, ErrorCode
from .throttling import AnonymousRateThrottle


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
    metadata_class = None  # OPTIONS lists the methods (Allow) and says nothing more

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self.format_kwarg = self.get_format_suffix(**kwargs)
        neg = self.perform_content_negotiation(request)
        request.accepted_renderer, request.accepted_media_type = neg
        self.determine_version(request, *args, **kwargs)
        if request.method == "OPTIONS":
            return  # the methods of a path are no secret (a preflight carries no credentials)
        self.perform_authentication(request)
        if hasattr(self, (request.method or "").lower()):  # an unsupported method answers 405 first
            check_query_parameters(request, self.query_parameters)
        if request.method in ("POST", "PUT", "PATCH"):
            # Read the body through Django, which enforces DATA_UPLOAD_MAX_MEMORY_SIZE (413), before DRF
            # parses it; the idempotency fingerprint needs the raw bytes too.
            request._request.body  # noqa: B018
        self.check_throttles(request)
        self.check_permissions(request)

    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """204 with ``Allow`` (DRF adds it): it answered 405 although ``Allow`` listed OPTIONS."""
        return Response(status=204)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        for name, value in getattr(request._request, "orma_rate_headers", {}).items():
            response[name] = value
        return response


def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up (no dependency is consulted)."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Database and broker reachable; 503 naming what is down otherwise."""
    checks = {"database": health.database_status(), "broker": health.broker_status()}
    ready = all(not status.startswith("down") for status in checks.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", **checks}, status=200 if ready else 503)


class SchemaView(SpectacularAPIView):
    """``/api/schema/``: built once per process and format (it cost 100-130 ms a request and needs no
    credentials: 8 clients at 15 requests/s pushed partners' latency from 8 to 413 ms), and throttled per
    client address like every anonymous page."""

    throttle_classes = [AnonymousRateThrottle]
    _rendered: ClassVar[dict[tuple[str, str], tuple[bytes, str, str]]] = {}
    _lock = threading.Lock()

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        renderer = request.accepted_renderer
        lang = request.query_params.get("lang", "")
        lang = lang if lang in {code for code, _ in django_settings.LANGUAGES} else ""
        key = (f"{renderer.media_type};{renderer.format}", lang)
        with self._lock:  # one build per process, however many requests arrive meanwhile
            if key not in self._rendered:
                if lang:
                    with translation.override(lang):
                        answer = self._get_schema_response(request)
                else:
                    answer = self._get_schema_response(request)
                content = renderer.render(answer.data, request.accepted_media_type, self.get_renderer_context())
                self._rendered[key] = (content, answer["Content-Disposition"], request.accepted_media_type)
        content, disposition, media_type = self._rendered[key]
        response = HttpResponse(content, content_type=media_type)
        response["Content-Disposition"] = disposition
        return response


class SchemaDocsView(SpectacularSwaggerSplitView):
    """``/api/docs/``: Swagger UI whose configuration is a script of its own (no inline script, so the page's
    Content-Security-Policy forbids every inline one), throttled like the schema."""

    throttle_classes = [AnonymousRateThrottle]
