"""OpenAPI generation: every operation documents its family's real error bodies, its parameters and its
responses, in one place; the schema's description carries the error and warning catalogue.

Views say what their parameters mean and which value "Try it out" should send on the demo data
(``parameter_docs``: name -> (description, example)); parameters every operation shares are described
here. Request examples are the views' own (``extend_schema(examples=...)``), built from seed 001's and
seed 002's samples on the demo world of ``orma_seed_demo`` (``tests/test_schema_examples.py`` runs every
one against a live demo server).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from .errors import Family, family_for_path, subject_key_for_path
from .serializers import (
    CustomerEnvelopeSerializer,
    OrderEnvelopeSerializer,
    PartsErrorSerializer,
    VehicleEnvelopeSerializer,
)

_ENVELOPE_FOR_SUBJECT = {
    "orderUUID": OrderEnvelopeSerializer,
    "customerUUID": CustomerEnvelopeSerializer,
    "vehicleUUID": VehicleEnvelopeSerializer,
}

# Statuses any authenticated operation can answer, whatever it does.
_COMMON_ERRORS = ("401", "403", "404", "406", "429", "503")
_BODY_ERRORS = ("400", "413", "415")


# What the statuses of every operation mean (the codes each answers are in the catalogue below).
RESPONSE_DESCRIPTIONS = {
    "200": "OK",
    "201": "Created",
    "202": "Accepted: stored, completed in the background",
    "304": "Not modified: still the version If-None-Match names",
    "400": "Refused: every problem of the request at once (MALFORMED_JSON, FIELD_REQUIRED, FIELD_INVALID, "
    "FIELD_TOO_LONG, UNKNOWN_CUSTOMER, UNKNOWN_VEHICLE, UNKNOWN_PACKAGE, UNKNOWN_PART)",
    "401": "UNAUTHENTICATED: no or wrong credentials (WWW-Authenticate: Basic)",
    "403": "FORBIDDEN: the partner's grant on this department lacks the scope the operation needs (named)",
    "404": "NOT_FOUND: unknown, or another tenant's (the two answer alike)",
    "406": "NOT_ACCEPTABLE: only application/json is answered",
    "409": "Conflict: DUPLICATE_ORDER (the ±30-day rule), ORDER_CLOSED, DUPLICATE_VEHICLE, CONFLICT, or the "
    "same Idempotency-Key still in flight",
    "412": "VERSION_MISMATCH: If-Match names another version",
    "413": "PAYLOAD_TOO_LARGE: over 1 MiB, or more than 200 jobs or 500 lines in a job",
    "415": "UNSUPPORTED_MEDIA_TYPE: the body must be application/json",
    "422": "UNPROCESSABLE: the Idempotency-Key was used with another body",
    "429": "RATE_LIMITED: too many requests or failed logins; Retry-After says when to try again",
    "503": "SERVICE_UNAVAILABLE: the database is unreachable; retry later",
}

# Parameters every operation may have, whatever its view.
COMMON_PARAMETER_DOCS: dict[str, tuple[str, Any]] = {
    "limit": ("page size, 1 to 200; default 50", None),
    "cursor": ("the opaque cursor of the previous page's next URL; absent: the first page", None),
    "If-Match": ('the ETag of the version you update ("3"); another version answers 412', None),
    "Idempotency-Key": ("repeat-safe creation: a repeat with the same key and body answers the first answer", None),
}

ERROR_CATALOGUE = (
    ("MALFORMED_JSON", 400, "the body is not JSON, or not an object with the expected envelope"),
    ("FIELD_REQUIRED", 400, "a required field is missing or empty; the description names its path"),
    ("FIELD_INVALID", 400, "a field breaks its rule (format, enum, range, unknown parts-family field)"),
    ("FIELD_TOO_LONG", 400, "a text is longer than its limit (codes 50, names 200, texts 4,000)"),
    ("UNKNOWN_CUSTOMER", 400, "customer.uuid / customerId / companyId is not a customer of this dealer"),
    ("UNKNOWN_VEHICLE", 400, "vehicle.uuid is not a vehicle of this dealer"),
    ("UNKNOWN_PACKAGE", 400, "a packageCode is not a service package this dealer prices"),
    ("UNKNOWN_PART", 400, "a partId (or brandCode + partCode) is not in this dealer's catalogue"),
    ("UNAUTHENTICATED", 401, "no or wrong credentials"),
    ("FORBIDDEN", 403, "the grant on this department lacks the scope; the description names it"),
    ("NOT_FOUND", 404, "unknown or another tenant's department, order, customer, vehicle, part or parts order"),
    ("METHOD_NOT_ALLOWED", 405, "the method is not allowed on this path"),
    ("NOT_ACCEPTABLE", 406, "only application/json is answered"),
    ("DUPLICATE_ORDER", 409, "the ±30-day rule: the description names the closest existing order's UUID"),
    ("ORDER_CLOSED", 409, "a CLOSED order is read-only, whatever the body"),
    ("DUPLICATE_VEHICLE", 409, "the dealer already has a vehicle with this VIN (named)"),
    ("CONFLICT", 409, "the same Idempotency-Key is still in flight, or a state that forbids the change"),
    ("VERSION_MISMATCH", 412, "If-Match names a version other than the current one"),
    ("PAYLOAD_TOO_LARGE", 413, "over 1 MiB, more than 200 jobs or 500 lines in a job"),
    ("UNSUPPORTED_MEDIA_TYPE", 415, "the body is not application/json"),
    ("UNPROCESSABLE", 422, "the Idempotency-Key was used with another body"),
    ("RATE_LIMITED", 429, "the partner's request rate or the login lockout; Retry-After is set"),
    ("INTERNAL_ERROR", 500, "a bug: quote the errorUID (or correlationId) to support"),
    ("SERVICE_UNAVAILABLE", 503, "the database is unreachable; retry later"),
)
WARNING_CATALOGUE = (
    (1001, "the order has no vehicle (neither vehicle.uuid nor vehicle.vin); it is stored"),
    (1002, "a laborType other than C, W or I (the description names the field)"),
    (1003, "given header totals disagree with the lines (the stored order keeps the given totals)"),
    (1004, "unknown fields were ignored (named); repair orders only: the parts family refuses them"),
    (1005, "closeDate/closeTime lies before createDate/createTime"),
)
THIRTY_DAY_RULE = (
    "Within one department an order is identified by its orderNumber and its creation instant "
    "(createDate + createTime, UTC). A new order with the number of an existing one whose instant lies within "
    "30 days of it, boundaries included (|Δ| ≤ 30 × 24 h), is the same order: 409 DUPLICATE_ORDER naming the "
    "closest such order's UUID; update it with PUT order/{orderUUID}. 30 days and 1 second apart is another "
    "order. RO-1234 created 2024-02-01 and again 2025-02-01: two orders; 2024-02-01 and 2024-02-10: the same. "
    "An update that changes number or instant is checked the same way, excluding the order itself."
)


def catalogue_markdown() -> str:
    """The error and warning catalogue and the ±30-day rule, as the schema's description shows them."""
    errors = "\n".join(f"| `{code}` | {status} | {meaning} |" for code, status, meaning in ERROR_CATALOGUE)
    warnings = "\n".join(f"| {code} | {meaning} |" for code, meaning in WARNING_CATALOGUE)
    return (
        "## Errors\n\nUnder /order/v2/ every answer is seed 001's envelope (errors[].errorCode); under /parts-api/ "
        "and /notification/v1/ seed 002's error shape (details[].field, value, issue). Every problem of a "
        "request is answered at once.\n\n| errorCode | HTTP | when |\n|---|---|---|\n"
        f"{errors}\n\n## Warnings (repair orders)\n\nAn accepted order may carry warnings[] "
        f"{{warningCode, warningDescription}}:\n\n| warningCode | when |\n|---|---|\n{warnings}\n\n"
        f"## The ±30-day rule\n\n{THIRTY_DAY_RULE}\n\n## Trying it out\n\nRun `make run`: the examples "
        "name the demo dealer's departments, customers, vehicles, parts and orders, and answer 2xx on that data "
        "(authorize with the demo partner's username and secret `make run` prints). A create example answers "
        "its 201 once: change its orderNumber (or VIN) to create another."
    )


def add_catalogue(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the catalogue after the API's description."""
    info = result.setdefault("info", {})
    info["description"] = f"{info.get('description', '')}\n\n{catalogue_markdown()}".strip()
    return result


class OrmaAutoSchema(AutoSchema):
    """Adds the family's error responses and the correlation id header to every operation, a description
    to every response and parameter, and the views' parameter examples."""

    def get_operation(self, *args: Any, **kwargs: Any) -> Any:
        operation = super().get_operation(*args, **kwargs)
        if not operation:
            return operation
        docs = {**COMMON_PARAMETER_DOCS, **getattr(self.view, "parameter_docs", {})}
        for parameter in operation.get("parameters", ()):
            description, example = docs.get(parameter["name"], ("", None))
            if description and not parameter.get("description"):
                parameter["description"] = description
            if example is not None and "example" not in parameter and "examples" not in parameter:
                parameter["example"] = example
        for code, response in operation.get("responses", {}).items():
            if isinstance(response, dict) and not response.get("description"):
                response["description"] = RESPONSE_DESCRIPTIONS.get(str(code), "")
        return operation

    def _error_serializer(self) -> Any:
        family = family_for_path(self.path)
        if family is Family.ORDERS:
            return _ENVELOPE_FOR_SUBJECT[subject_key_for_path(self.path)]
        return PartsErrorSerializer

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)  # type: ignore[arg-type]
        if family_for_path(self.path) is None:
            return responses
        codes = list(_COMMON_ERRORS)
        if self.method in ("POST", "PUT", "PATCH") or self._get_filter_parameters() or self.method == "GET":
            codes += list(_BODY_ERRORS if self.method in ("POST", "PUT", "PATCH") else ("400",))
        codes += [str(code) for code in getattr(self.view, "extra_error_statuses", ())]
        serializer = self._error_serializer()
        for code in sorted(set(codes)):
            if code not in responses:
                responses[code] = self._get_response_for_code(serializer, code, direction=direction)
        return responses

    def get_override_parameters(self) -> list[Any]:
        return [
            *super().get_override_parameters(),
            OpenApiParameter(
                "X-Correlation-ID",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="Echoed on the response and in every log line; generated when absent or invalid "
                "(1 to 64 letters, digits and -._:)",
            ),
        ]


class PartnerBasicAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents partner authentication as HTTP Basic."""

    target_class = "orma.api.auth.PartnerBasicAuthentication"
    name = "partnerBasicAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "basic", "description": "partner username and OrMa-issued secret"}
