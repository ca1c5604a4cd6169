"""The base of every request serializer, and the serializers of the shared response shapes."""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.fields import SkipField, empty
from rest_framework.serializers import as_serializer_error

from orma.errors import DomainError, ErrorCode, Problem

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


# --- strict requests: unknown fields refused, every problem at once --------------------------------


def unknown_field_message(key: str, known: Iterable[str]) -> str:
    """Why a field is refused: it is not one of ``known``; names the closest known field, if any."""
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return "is not a field of this request" + (f"; did you mean {close[0]}?" if close else "")


def unknown_field_errors(data: Any, known: Iterable[str]) -> dict[str, list[ErrorDetail]]:
    """DRF error detail for every key of ``data`` that is not in ``known`` (FIELD_INVALID)."""
    if not isinstance(data, Mapping):
        return {}
    known = list(known)
    return {
        str(key): [ErrorDetail(unknown_field_message(str(key), known), code=ErrorCode.FIELD_INVALID)]
        for key in data
        if key not in known
    }


class StrictFieldsMixin:
    """A nested serializer that refuses fields it does not declare (400 naming them), together with its
    other problems: a typo such as ``alternateDeliveryAdress`` must not be silently dropped."""

    fields: Any

    def run_validation(self, data: Any = empty) -> Any:
        unknown = unknown_field_errors(data, self.fields)
        try:
            value = super().run_validation(data)  # type: ignore[misc]
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **unknown}) from None
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


def problems_of(detail: Any, data: Any, prefix: str = "") -> list[Problem]:
    """DRF error detail as problems named by their path, each with the value the request sent there."""
    return [
        dataclasses.replace(problem, value=_value_at(data, problem.field))
        for problem in problems_from_validation_detail(detail, prefix)
    ]


class StrictRequestSerializer(RequestSerializer):
    """A request body whose every problem is answered at once: unknown fields, each field's shape, and the
    rules on whatever did parse (seed 002's families refuse unknown fields; there is no warnings channel).

    Each declared field is read on its own; a field that fails is left out of ``attrs`` and its problems
    kept. Then :meth:`check` (the subclass's rules, tolerant of absent fields) runs on what parsed, and the
    shape problems and the rules' problems are raised together as one DomainError. ``many`` fields listed
    in ``item_fields`` are read item by item, so the good items of a list still meet the rules; they are
    given to ``check`` as ``(index, value)`` pairs.
    """

    item_fields: tuple[str, ...] = ()

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            raise DomainError.of(ErrorCode.MALFORMED_JSON, "The request body must be a JSON object.")
        attrs: dict[str, Any] = {}
        problems = problems_of(unknown_field_errors(data, self.fields), data)
        for name, field in self.fields.items():
            if field.read_only:
                continue
            raw = field.get_value(data)
            if name in self.item_fields and isinstance(field, serializers.ListSerializer):
                items, item_problems = self._read_items(field, raw, name, data)
                problems += item_problems
                if items is not None:
                    attrs[str(field.source)] = items
                continue
            try:
                value = field.run_validation(raw)
            except serializers.ValidationError as exc:
                problems += problems_of({name: exc.detail}, data)
            except SkipField:
                continue
            else:
                attrs[str(field.source)] = value
        self.shape_problems = problems
        return attrs

    @staticmethod
    def _read_items(
        field: serializers.ListSerializer, raw: Any, name: str, data: Any
    ) -> tuple[list[tuple[int, Any]] | None, list[Problem]]:
        """A list field item by item: the good items with their index, and every problem (the list's own
        problems, its type or its length, leave the items unread)."""

        def refused(message: str, code: str = ErrorCode.FIELD_INVALID) -> tuple[None, list[Problem]]:
            return None, problems_of({name: [ErrorDetail(message, code=code)]}, data)

        if raw is empty or raw is None:
            return refused("This field is required.", "required") if field.required else (None, [])
        if not isinstance(raw, list):
            return refused(f"Expected a list of items but got type {type(raw).__name__!r}.")
        bounds_of: Any = field  # DRF's ListSerializer keeps min_length/max_length (its stubs do not say so)
        lowest, highest = bounds_of.min_length or (0 if field.allow_empty else 1), bounds_of.max_length
        if len(raw) < lowest or (highest is not None and len(raw) > highest):
            bounds = f"{lowest} to {highest}" if highest is not None else f"at least {lowest}"
            return refused(f"Holds {len(raw)} items; {bounds} are accepted.")
        items, problems = [], []
        for index, item in enumerate(raw):
            try:
                items.append((index, field.child.run_validation(item)))  # type: ignore[union-attr]
            except serializers.ValidationError as exc:
                problems += problems_of({name: {index: exc.detail}}, data)
        return items, problems

    def validate(self, attrs: dict[str, Any]) -> Any:
        problems = list(getattr(self, "shape_problems", ()))
        try:
            result = self.check(attrs, problems)
        except DomainError as error:
            raise DomainError([*problems, *error.problems], error.warnings) from None
        if problems:
            raise DomainError(problems)
        return result

    def check(self, attrs: dict[str, Any], shape_problems: list[Problem]) -> Any:
        """The rules on the fields that parsed (absent: they had a problem); answers the validated data."""
        return attrs
