"""Request-wide plumbing: the correlation id, and the JSON fallback for every API family."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from orma.context import accept_correlation_id, correlation_id_var

from .errors import ApiError, error_response_for_exception, family_for_path, render_error

CORRELATION_HEADER = "X-Correlation-ID"


class CorrelationIdMiddleware:
    """Adopt the caller's ``X-Correlation-ID`` (when valid) or make one; echo it on every answer."""

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
        return response


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
                    if response.status_code in (400, 401, 403, 404, 405, 406, 413, 415, 429, 503)
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
