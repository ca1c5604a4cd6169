"""OpenAPI generation: every operation documents its family's real error bodies, in one place."""

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


class OrmaAutoSchema(AutoSchema):
    """Adds the family's error responses and the correlation id header to every operation."""

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
