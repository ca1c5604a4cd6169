"""Error plumbing for the three API families: domain errors mapped to statuses, one handler, two body shapes.

- ``/order/v2/``: seed 001's envelope ``{"errors", "warnings", "orderUUID", "statusCode"}``.
- ``/parts-api/`` and ``/notification/v1/``: seed 002's ``{"correlationId", "message", "details", "links"}``.

Everything that can go wrong in a request, a domain error (``orma.errors``), a DRF exception, a Django
``Http404``, a database outage or a bug, becomes an :class:`ApiError` first and is then rendered in the
family's shape, so no family ever answers HTML and no bad input ever answers 500.
"""

from __future__ import annotations

import enum
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions as drf

from orma.context import current_correlation_id, new_correlation_id
from orma.errors import DomainError, ErrorCode, Problem, Warning

logger = logging.getLogger("orma.api")


class Family(enum.Enum):
    ORDERS = "orders"
    PARTS = "parts"
    NOTIFICATIONS = "notifications"


_FAMILY_PREFIXES = (
    ("/order/v2/", Family.ORDERS),
    ("/parts-api/", Family.PARTS),
    ("/notification/v1/", Family.NOTIFICATIONS),
)


def family_for_path(path: str) -> Family | None:
    """The API family a path belongs to, or None for pages (admin, docs, health)."""
    for prefix, family in _FAMILY_PREFIXES:
        if path.startswith(prefix) or path == prefix.rstrip("/"):
            return family
    return None


ERROR_TITLES: dict[str, str] = {
    ErrorCode.MALFORMED_JSON: "Malformed request body",
    ErrorCode.FIELD_REQUIRED: "Required field missing",
    ErrorCode.FIELD_INVALID: "Invalid field value",
    ErrorCode.FIELD_TOO_LONG: "Field value too long",
    ErrorCode.UNKNOWN_CUSTOMER: "Unknown customer",
    ErrorCode.UNKNOWN_VEHICLE: "Unknown vehicle",
    ErrorCode.UNKNOWN_PACKAGE: "Unknown service package",
    ErrorCode.UNKNOWN_PART: "Unknown part",
    ErrorCode.UNAUTHENTICATED: "Authentication required",
    ErrorCode.FORBIDDEN: "Forbidden",
    ErrorCode.NOT_FOUND: "Not found",
    ErrorCode.METHOD_NOT_ALLOWED: "Method not allowed",
    ErrorCode.NOT_ACCEPTABLE: "Not acceptable",
    ErrorCode.DUPLICATE_ORDER: "Duplicate order",
    ErrorCode.ORDER_CLOSED: "Order closed",
    ErrorCode.CONFLICT: "Conflict",
    ErrorCode.VERSION_MISMATCH: "Version mismatch",
    ErrorCode.PAYLOAD_TOO_LARGE: "Payload too large",
    ErrorCode.LENGTH_REQUIRED: "Length required",
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: "Unsupported media type",
    ErrorCode.UNPROCESSABLE: "Unprocessable request",
    ErrorCode.RATE_LIMITED: "Too many requests",
    ErrorCode.INTERNAL_ERROR: "Internal error",
    ErrorCode.SERVICE_UNAVAILABLE: "Service unavailable",
}

# seed 002's ``message`` per status
_MESSAGES: dict[int, str] = {
    400: "Invalid request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    411: "Length required",
    412: "Precondition failed",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Unprocessable request",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}

# The answer for a status when nothing more specific is known (Django's resolver 404, a 405 ...).
_DEFAULT_CODE_FOR_STATUS: dict[int, tuple[str, str]] = {
    400: (ErrorCode.MALFORMED_JSON, "The request could not be read."),
    401: (ErrorCode.UNAUTHENTICATED, "Authentication credentials were missing or incorrect."),
    403: (ErrorCode.FORBIDDEN, "The partner lacks the scope needed for this operation on this department."),
    404: (ErrorCode.NOT_FOUND, "The requested resource was not found."),
    405: (ErrorCode.METHOD_NOT_ALLOWED, "The method is not allowed on this resource."),
    406: (ErrorCode.NOT_ACCEPTABLE, "Only application/json responses are available."),
    411: (ErrorCode.LENGTH_REQUIRED, "Send the body with a Content-Length (chunked bodies are not read)."),
    413: (ErrorCode.PAYLOAD_TOO_LARGE, "The request body is too large."),
    415: (ErrorCode.UNSUPPORTED_MEDIA_TYPE, "The request body must be application/json."),
    429: (ErrorCode.RATE_LIMITED, "Too many requests; retry after the time given in Retry-After."),
    500: (ErrorCode.INTERNAL_ERROR, "An internal error occurred; quote the errorUID to support."),
    503: (ErrorCode.SERVICE_UNAVAILABLE, "The service is temporarily unavailable; retry later."),
}


# The HTTP status of each domain error code; every other code of a refused request is a 400.
STATUS_OF_CODE: dict[str, int] = {
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.DUPLICATE_ORDER: 409,
    ErrorCode.DUPLICATE_VEHICLE: 409,
    ErrorCode.ORDER_CLOSED: 409,
    ErrorCode.CONFLICT: 409,
    ErrorCode.VERSION_MISMATCH: 412,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.UNPROCESSABLE: 422,
}


def status_of(error: DomainError) -> int:
    """The status a domain error is answered with: its first problem's code decides."""
    return STATUS_OF_CODE.get(error.code, 400)


@dataclass
class ApiError(Exception):
    """Raised by the API layer to answer with an error in the family's shape (services raise DomainError)."""

    status: int
    problems: Sequence[Problem]
    headers: dict[str, str] = field(default_factory=dict)
    warnings: Sequence[Warning] = ()

    @classmethod
    def of(cls, status: int, code: str | None = None, description: str | None = None, **kwargs: Any) -> ApiError:
        default_code, default_description = _DEFAULT_CODE_FOR_STATUS.get(status, (ErrorCode.INTERNAL_ERROR, ""))
        problem = Problem(code or default_code, description or default_description, kwargs.pop("field", None))
        return cls(status, [problem], **kwargs)


def new_error_uid() -> str:
    """A fresh errorUID: unique per error (DESIGN §4), logged beside the request's correlation id."""
    return str(uuid.uuid4())


def safe_text(value: str) -> str:
    """``value`` without lone surrogates (each becomes U+FFFD), so an echo of hostile input always encodes."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return value


def subject_key_for_path(path: str) -> str:
    """``orderUUID``, or ``customerUUID``/``vehicleUUID`` on those resources (DESIGN §4)."""
    parts = path.split("/")
    # /order/v2/department/{uuid}/{resource}/...
    resource = parts[5] if len(parts) > 5 else ""
    return {"customer": "customerUUID", "vehicle": "vehicleUUID"}.get(resource, "orderUUID")


def order_envelope(
    *,
    status: int,
    path: str,
    errors: Iterable[Problem] = (),
    warnings: Iterable[Warning] = (),
    subject_uuid: str | None = None,
    error_uids: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Seed 001's response envelope; read endpoints add their data beside these keys.

    ``error_uids``: one per error, as logged (fresh ones when not given).
    """
    errors = list(errors)
    uids = list(error_uids) if error_uids is not None else [new_error_uid() for _ in errors]
    return {
        "errors": [
            {
                "errorCode": str(problem.code),
                "errorTitle": ERROR_TITLES.get(problem.code, str(problem.code)),
                "errorDescription": safe_text(problem.description),
                "errorUID": uid,
            }
            for problem, uid in zip(errors, uids, strict=True)
        ],
        "warnings": [{"warningCode": w.code, "warningDescription": w.description} for w in warnings],
        subject_key_for_path(path): subject_uuid,
        "statusCode": status,
    }


def _for_parts_family(problem: Problem) -> Problem:
    """Seed 002's body has no errorUID: its internal error asks for the correlationId instead."""
    if problem.code == ErrorCode.INTERNAL_ERROR and "errorUID" in problem.description:
        return Problem(problem.code, problem.description.replace("the errorUID", "the correlationId"), problem.field)
    return problem


def parts_error_body(*, status: int, problems: Iterable[Problem], correlation_id: str | None = None) -> dict[str, Any]:
    """Seed 002's error shape, shared by the parts and notification families."""
    correlation_id = correlation_id or current_correlation_id() or new_correlation_id()
    problems = [_for_parts_family(problem) for problem in problems]
    message = _MESSAGES.get(status, "Error")
    if len(problems) == 1 and problems[0].field is None:
        message = problems[0].description
    return {
        "correlationId": correlation_id,
        "message": safe_text(message),
        "details": [
            {
                "field": safe_text(problem.field or ""),
                "value": "" if problem.value is None else safe_text(str(problem.value)[:200]),
                "issue": safe_text(problem.description),
            }
            for problem in problems
        ],
        "links": [],
    }


def render_error(request: HttpRequest, error: ApiError) -> JsonResponse:
    """The error in the shape of the request's family (orders' envelope for paths outside the families)."""
    family = family_for_path(request.path)
    correlation_id = getattr(request, "correlation_id", None) or current_correlation_id() or new_correlation_id()
    uids = [new_error_uid() for _ in error.problems]
    if family in (Family.PARTS, Family.NOTIFICATIONS):
        body = parts_error_body(status=error.status, problems=error.problems, correlation_id=correlation_id)
    else:
        body = order_envelope(
            status=error.status,
            path=request.path,
            errors=error.problems,
            warnings=error.warnings,
            subject_uuid=getattr(request, "subject_uuid", None),  # set by a view once it found the order
            error_uids=uids,
        )
    response = JsonResponse(body, status=error.status, json_dumps_params={"ensure_ascii": False})
    for name, value in error.headers.items():
        response[name] = value
    level = logging.ERROR if error.status >= 500 else logging.INFO
    logger.log(
        level,
        "%s %s -> %s %s",
        request.method,
        request.path,
        error.status,
        ", ".join(f"{problem.code}[{uid}]" for problem, uid in zip(error.problems, uids, strict=True)),
    )
    return response


# --- turning any exception into an ApiError ------------------------------------------------------


def _join_path(prefix: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    return f"{prefix}.{key}" if prefix else str(key)


_CODE_FOR_DRF_CODE = {
    "required": ErrorCode.FIELD_REQUIRED,
    "null": ErrorCode.FIELD_REQUIRED,
    "blank": ErrorCode.FIELD_REQUIRED,
    "max_length": ErrorCode.FIELD_TOO_LONG,
}


def problems_from_validation_detail(detail: Any, prefix: str = "") -> list[Problem]:
    """Flatten DRF's nested error detail into problems named by their path (``order.jobs[1].laborOpCode``)."""
    problems: list[Problem] = []
    if isinstance(detail, dict):
        for key, sub in detail.items():
            path = prefix if key in ("non_field_errors", "__all__") else _join_path(prefix, key)
            problems.extend(problems_from_validation_detail(sub, path))
    elif isinstance(detail, list):
        if all(isinstance(item, drf.ErrorDetail) or isinstance(item, str) for item in detail):
            for item in detail:
                problems.extend(problems_from_validation_detail(item, prefix))
        else:
            for index, sub in enumerate(detail):
                if sub:  # DRF leaves {} for list items without errors
                    problems.extend(problems_from_validation_detail(sub, _join_path(prefix, index)))
    else:
        drf_code = getattr(detail, "code", None)
        code = _CODE_FOR_DRF_CODE.get(str(drf_code), drf_code if drf_code in ErrorCode.__members__ else None)
        code = code or ErrorCode.FIELD_INVALID
        text = str(detail)
        description = f"{prefix}: {text}" if prefix else text
        problems.append(Problem(code, description, prefix or None))
    return problems


def api_error_from_exception(exc: BaseException) -> ApiError | None:
    """Map an exception to an ApiError; None means a bug (answered 500 by the caller)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, DomainError):
        return ApiError(status_of(exc), exc.problems, warnings=exc.warnings)
    if isinstance(exc, drf.ValidationError):
        return ApiError(400, problems_from_validation_detail(exc.detail))
    if isinstance(exc, drf.ParseError):
        hostile_path = getattr(exc, "hostile_path", None)  # orma.api.parsers.HostileString: NUL, lone surrogate
        if hostile_path is not None:
            return ApiError.of(400, ErrorCode.FIELD_INVALID, str(exc.detail), field=hostile_path)
        return ApiError.of(400, ErrorCode.MALFORMED_JSON, "The request body is not valid JSON.")
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
        return ApiError.of(401, headers={"WWW-Authenticate": 'Basic realm="OrMa"'})
    if isinstance(exc, drf.PermissionDenied | DjangoPermissionDenied):
        return ApiError.of(403)
    if isinstance(exc, drf.NotFound | Http404):
        return ApiError.of(404)
    if isinstance(exc, drf.MethodNotAllowed):
        return ApiError.of(405)
    if isinstance(exc, drf.NotAcceptable):
        return ApiError.of(406)
    if isinstance(exc, drf.UnsupportedMediaType):
        return ApiError.of(415)
    if isinstance(exc, drf.Throttled):
        headers = {"Retry-After": str(max(1, int(getattr(exc, "wait", None) or 1)))}
        return ApiError.of(429, headers=headers)
    if isinstance(exc, RequestDataTooBig):
        return ApiError.of(413)
    if isinstance(exc, OperationalError | InterfaceError):
        logger.warning("database unavailable: %s", exc)
        return ApiError.of(503, headers={"Retry-After": "5"})
    if isinstance(exc, drf.APIException):
        return ApiError.of(exc.status_code, description=str(exc.detail))
    return None


def error_response_for_exception(request: HttpRequest, exc: BaseException) -> JsonResponse:
    error = api_error_from_exception(exc)
    if error is None:
        logger.exception("unhandled error in %s %s", request.method, request.path, exc_info=exc)
        error = ApiError.of(500)
    return render_error(request, error)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> JsonResponse:
    """DRF's EXCEPTION_HANDLER: every exception a DRF view raises, answered in the family's shape."""
    return error_response_for_exception(context["request"], exc)
