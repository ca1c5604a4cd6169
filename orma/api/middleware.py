"""Request-wide plumbing: the correlation id, the guard at the API's door, and the JSON fallback for every
API family."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

from orma.context import accept_correlation_id, correlation_id_var

from .errors import ApiError, ErrorCode, error_response_for_exception, family_for_path, render_error

CORRELATION_HEADER = "X-Correlation-ID"
logger = logging.getLogger("orma.api")

# Pages that run scripts: no inline script, nothing from elsewhere, never framed. The admin's and the Swagger
# UI's own scripts are served from /static/ (Swagger UI through drf-spectacular's split view, whose
# configuration is a script file of its own); both set styles inline, hence 'unsafe-inline' for styles only.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
_CSP_PREFIXES = ("/admin/", "/api/docs/")


class CorrelationIdMiddleware:
    """Adopt the caller's ``X-Correlation-ID`` (when of the safe alphabet) or make one; echo it on every
    answer. API answers are never stored by a cache (they hold personal data); the admin and the docs get a
    Content-Security-Policy."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        correlation_id = accept_correlation_id(request.headers.get(CORRELATION_HEADER))
        request.correlation_id = correlation_id  # type: ignore[attr-defined]
        token = correlation_id_var.set(correlation_id)
        try:
            response = self.get_response(request)
        finally:
            correlation_id_var.reset(token)
        response[CORRELATION_HEADER] = correlation_id
        if family_for_path(request.path) is not None:
            response["Cache-Control"] = "no-store"
        elif request.path.startswith(_CSP_PREFIXES):
            response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


def _hostile(text: str) -> bool:
    """NUL (no database compares it) or a lone surrogate (no encoder writes it)."""
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class RequestGuardMiddleware:
    """What is wrong with a request before any view reads it, answered in the family's shape (or a plain
    400 outside the families) and logged as one line, never a traceback:

    - a ``Host`` outside ``ALLOWED_HOSTS``: 400 (Django answered it through ``MALFORMED_JSON`` with an ERROR
      traceback per request);
    - plain http where https is required: a JSON 403 under the API paths (a client does not follow the
      HTML 301 with its body), the redirect elsewhere;
    - a ``Transfer-Encoding`` body (chunked): 411, since a WSGI server hands Django no length and the body
      read as empty; the proxy of ``make serve`` de-chunks bodies, so only direct callers see it;
    - NUL or a lone surrogate in the path, the query or a header: 400.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        family = family_for_path(request.path)
        try:
            request.get_host()
        except DisallowedHost:
            logger.warning(
                "refused Host %r for %s %s", request.META.get("HTTP_HOST", "")[:100], request.method, request.path[:200]
            )
            if family is None:
                return HttpResponseBadRequest("Bad Request: this Host is not served here.", content_type="text/plain")
            return self._refuse(
                request, 400, ErrorCode.FIELD_INVALID, "The Host header names no host served here.", field="Host"
            )
        if family is None:
            return self.get_response(request)
        if settings.SECURE_SSL_REDIRECT and not request.is_secure():
            return self._refuse(request, 403, ErrorCode.FORBIDDEN, "Use https: plain http is not served.")
        if "HTTP_TRANSFER_ENCODING" in request.META:
            return self._refuse(request, 411)
        problem = self._hostile_part(request)
        if problem is not None:
            return self._refuse(
                request,
                400,
                ErrorCode.FIELD_INVALID,
                f"{problem} must not contain NUL characters or lone surrogates",
                field=problem,
            )
        return self.get_response(request)

    @staticmethod
    def _hostile_part(request: HttpRequest) -> str | None:
        if _hostile(request.path):
            return "the path"
        for name, values in request.GET.lists():
            if _hostile(name) or any(_hostile(value) for value in values):
                return f"query parameter {name!r}" if not _hostile(name) else "a query parameter"
        for key, value in request.META.items():
            if key.startswith("HTTP_") and isinstance(value, str) and _hostile(value):
                return f"header {key[5:].replace('_', '-').title()}"
        return None

    @staticmethod
    def _refuse(
        request: HttpRequest, status: int, code: str | None = None, description: str | None = None, **kwargs: str
    ) -> HttpResponse:
        return render_error(request, ApiError.of(status, code, description, **kwargs))


class ApiErrorMiddleware:
    """Under the API prefixes nothing answers HTML: Django's own 404/405/500 pages become family errors.

    DRF views already answer through ``api_exception_handler``; this catches what never reaches one: an
    unmatched path, an exception outside DRF, a 4xx/5xx page from Django itself.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and family_for_path(request.path) is not None
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            replacement = render_error(
                request,
                ApiError.of(
                    response.status_code
                    if response.status_code in (400, 401, 403, 404, 405, 406, 411, 413, 415, 429, 503)
                    else 500
                ),
            )
            if response.has_header("Allow"):
                replacement["Allow"] = response["Allow"]
            return replacement
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if family_for_path(request.path) is None:
            return None
        return error_response_for_exception(request, exception)


class _PagesOnly:
    """Mixed into a Django middleware used by the pages only (the admin's sessions, user and messages): a
    request under the API's prefixes skips it. Partner requests carry no session cookie, and DRF sets their
    user itself; building a session store, a lazy user and a signed-cookie message storage cost every partner
    request ~5 % of a read for nothing. Subclasses, so the admin's checks still find the middleware."""

    get_response: Callable[[HttpRequest], HttpResponse]

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if family_for_path(request.path_info) is not None:
            return self.get_response(request)
        return super().__call__(request)  # type: ignore[misc]


class SessionMiddleware(_PagesOnly, sessions.SessionMiddleware):
    """Django's sessions, for the pages."""


class AuthenticationMiddleware(_PagesOnly, auth.AuthenticationMiddleware):
    """Django's ``request.user``, for the pages (partner views: DRF's authentication)."""


class MessageMiddleware(_PagesOnly, messages.MessageMiddleware):
    """Django's messages framework, for the pages."""
