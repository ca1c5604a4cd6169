"""The base of every request serializer, and the serializers of the shared response shapes."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.serializers import as_serializer_error

from orma.errors import DomainError, ErrorCode

from .errors import problems_from_validation_detail


class OrderErrorSerializer(serializers.Serializer):
    errorCode = serializers.CharField()
    errorTitle = serializers.CharField()
    errorDescription = serializers.CharField()
    errorUID = serializers.CharField()


class OrderWarningSerializer(serializers.Serializer):
    warningCode = serializers.IntegerField()
    warningDescription = serializers.CharField()


class OrderEnvelopeSerializer(serializers.Serializer):
    """Seed 001's response envelope, as every answer of ``/order/v2/`` carries it."""

    # shadows Serializer.errors on purpose: these classes only describe the envelope in the schema
    errors = OrderErrorSerializer(many=True)  # type: ignore[assignment]
    warnings = OrderWarningSerializer(many=True)
    orderUUID = serializers.UUIDField(allow_null=True)
    statusCode = serializers.IntegerField()


class CustomerEnvelopeSerializer(OrderEnvelopeSerializer):
    orderUUID = None  # type: ignore[assignment]
    customerUUID = serializers.UUIDField(allow_null=True)


class VehicleEnvelopeSerializer(OrderEnvelopeSerializer):
    orderUUID = None  # type: ignore[assignment]
    vehicleUUID = serializers.UUIDField(allow_null=True)


class ErrorDetailSerializer(serializers.Serializer):
    field = serializers.CharField()
    value = serializers.CharField()
    issue = serializers.CharField()


class LinkSerializer(serializers.Serializer):
    method = serializers.CharField()
    rel = serializers.CharField()
    href = serializers.CharField()
    title = serializers.CharField()


class PartsErrorSerializer(serializers.Serializer):
    """Seed 002's error shape, for the parts and notification families."""

    correlationId = serializers.CharField()
    message = serializers.CharField()
    details = ErrorDetailSerializer(many=True)
    links = LinkSerializer(many=True)


# --- requests ------------------------------------------------------------------------------------


def _value_at(data: Any, path: str | None) -> Any:
    """The request's value at a field path such as ``parts[0].part.partId`` (None when absent or not a leaf)."""
    if not path:
        return None
    value = data
    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path):
        try:
            value = value[int(index)] if index else value[name]
        except (KeyError, IndexError, TypeError, ValueError):
            return None
    return value if not isinstance(value, dict | list) else None


class RequestSerializer(serializers.Serializer):
    """The one way a request body (or query) enters OrMa: DRF's ``is_valid()`` idiom over the app's rules.

    Subclasses validate in ``to_internal_value``/``validate`` by calling their app's rules, which raise
    :class:`orma.errors.DomainError`. DRF sees such an error as any validation failure (``errors`` is
    filled as usual, for forms and scripts), and ``is_valid(raise_exception=True)`` raises the domain
    error itself, whole: every problem with its code, field path and the value sent, and its warnings,
    so a 409 or a 413 stays one. Plain field errors (types, lengths, choices) are raised the same way,
    as a DomainError of their problems. Only the outermost serializer of a request may call rules.
    """

    _domain_error: DomainError | None = None

    def run_validation(self, data: Any = empty) -> Any:
        is_empty, data = self.validate_empty_values(data)
        if is_empty:
            return data
        try:
            value = self.to_internal_value(data)
            self.run_validators(value)
            return self.validate(value)
        except DomainError as error:
            self._domain_error = error
            raise serializers.ValidationError(detail=as_serializer_error(error)) from None
        except (serializers.ValidationError, DjangoValidationError) as exc:
            raise serializers.ValidationError(detail=as_serializer_error(exc)) from None

    def is_valid(self, *, raise_exception: bool = False) -> bool:
        self._domain_error = None
        if super().is_valid():
            return True
        if raise_exception:
            raise self.domain_error()
        return False

    def domain_error(self) -> DomainError:
        """Why the data was refused: the rules' own error, or the field errors as problems with their values."""
        if self._domain_error is not None:
            return self._domain_error
        if not isinstance(self.initial_data, dict):
            return DomainError.of(ErrorCode.MALFORMED_JSON, "The request body must be a JSON object.")
        return DomainError(
            dataclasses.replace(problem, value=_value_at(self.initial_data, problem.field))
            for problem in problems_from_validation_detail(self.errors)
        )
