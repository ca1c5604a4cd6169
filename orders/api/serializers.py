"""Serializers of the orders family, for the OpenAPI schema.

Request bodies are validated by ``orders.body`` (the spec walker); the request serializers here are
generated from that same spec, so the schema states exactly the rules the API applies: patterns for
money, dates and times, maximum lengths, enums and required fields. Where a rule cannot be expressed
in JSON Schema (familyName or companyName; advisorNumber or assignedUserUuid; references that must
exist) the schema is looser than the API and the API answers 400.
"""

from __future__ import annotations

import json
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from orders import fields as f
from orders.body import BODY, CUSTOMER_BODY, VEHICLE_BODY, Field, ListOf, Obj
from orders.vins import normalise_vin
from orma.api.serializers import CustomerEnvelopeSerializer, OrderEnvelopeSerializer, VehicleEnvelopeSerializer

_YEAR = r"(?:[1-9]\d{3}|0[1-9]\d{2}|00[1-9]\d|000[1-9])"
_LEAP_YEAR = r"(?:\d{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
# Real calendar dates only, as the API checks them (no 2024-02-30, 2023-02-29 or year 0).
DATE_PATTERN = (
    rf"(?:{_YEAR}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)"
    rf"|02-(?:0[1-9]|1\d|2[0-8]))|{_LEAP_YEAR}-02-29)"
)
TIME_PATTERN = r"(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d"
NO_NUL = r"^[^\x00]*$"

# Optional non-text values may be sent as "" (= absent), so their patterns admit the empty string.
_PATTERNS: dict[Any, str] = {
    f.money: r"^(?:\d{1,10}(?:\.\d{1,2})?)?$",
    f.hours: r"^(?:\d{1,6}(?:\.\d{1,2})?)?$",
    f.quantity: r"^(?:\d{1,8}(?:\.\d{1,2})?)?$",
    f.positive_quantity: r"^(?:0{0,7}[1-9]\d{0,7}(?:\.\d{1,2})?|0{1,8}\.(?:0[1-9]|[1-9]\d?))?$",
    f.whole_number: r"^(?:\d{1,9})?$",
    f.date: rf"^(?:{DATE_PATTERN})?$",
    f.time: rf"^(?:{TIME_PATTERN})?$",
    f.date_time: rf"^(?:{DATE_PATTERN} {TIME_PATTERN})?$",
    f.country_code: r"^(?:[A-Za-z]{2})?$",
    f.email: r"^(?:[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+)?$",
    f.order_number: r"^[a-zA-Z0-9\-#_\s]*[a-zA-Z0-9\-#_][a-zA-Z0-9\-#_\s]*$",
}
_LENGTHS = {f.code: f.CODE_MAX, f.name: f.NAME_MAX, f.text: f.TEXT_MAX, f.email: f.NAME_MAX, f.order_number: 50}
_CHOICES = {f.yes_no: ("Y", "N")}
VIN_PATTERN = r"^[A-HJ-NPR-Za-hj-npr-z0-9]{17}$"  # 17 characters, no I, O or Q (either case)


_STRING_FIELDS: dict[str, type[serializers.Field]] = {}


def _string_field(schema: dict[str, Any], **options: Any) -> serializers.Field:
    """A string field documented by exactly this JSON schema (DRF's RegexField would document an
    optional field as ``oneOf: [pattern, maxLength 0]``, which "" satisfies twice, so "" would read as
    invalid although the API takes it as absent)."""
    key = json.dumps(schema, sort_keys=True)
    field_class = _STRING_FIELDS.get(key)
    if field_class is None:
        field_class = extend_schema_field(schema)(type(f"String{len(_STRING_FIELDS)}", (serializers.Field,), {}))
        _STRING_FIELDS[key] = field_class
    return field_class(**options)


def _schema_field(spec: Field) -> serializers.Field:
    options: dict[str, Any] = {"required": spec.required, "allow_null": not spec.required}
    if spec.description:
        options["help_text"] = spec.description
    rule = spec.rule
    if rule is normalise_vin:
        return _string_field({"type": "string", "pattern": VIN_PATTERN}, **options)
    if rule is f.uuid_text:
        return serializers.UUIDField(**options)
    if rule is f.count:
        return serializers.IntegerField(min_value=0, max_value=999_999_999, **options)
    if rule is f.model_year:
        return serializers.IntegerField(min_value=1900, max_value=2100, **options)
    choices = _CHOICES.get(rule) or getattr(rule, "choices", None)
    if choices:
        return serializers.ChoiceField(choices=list(choices), **options)
    pattern = _PATTERNS.get(rule)
    schema: dict[str, Any] = {"type": "string", "pattern": pattern or NO_NUL}
    if rule in _LENGTHS:
        schema["maxLength"] = _LENGTHS[rule]
    if pattern is None and spec.required:  # required text must not be empty
        schema["minLength"] = 1
    return _string_field(schema, **options)


_GENERATED: dict[str, type[serializers.Serializer]] = {}


def serializer_for(spec: Obj) -> type[serializers.Serializer]:
    """A named Serializer class mirroring an ``orders.body`` object spec (one component per object)."""
    if spec.name in _GENERATED:
        return _GENERATED[spec.name]
    declared: dict[str, serializers.Field] = {}
    for key, sub in spec.fields.items():
        if isinstance(sub, Field):
            declared[key] = _schema_field(sub)
        elif isinstance(sub, Obj):
            declared[key] = serializer_for(sub)(required=sub.required, allow_null=not sub.required)
        elif isinstance(sub, ListOf):
            declared[key] = serializer_for(sub.item)(many=True, required=sub.required, allow_null=not sub.required)
    serializer_class = type(spec.name, (serializers.Serializer,), {**declared, "__module__": __name__})
    _GENERATED[spec.name] = serializer_class
    return serializer_class


RepairOrderRequestSerializer = serializer_for(BODY)
CustomerRequestSerializer = serializer_for(CUSTOMER_BODY)
VehicleRequestSerializer = serializer_for(VEHICLE_BODY)


# --- responses -----------------------------------------------------------------------------------


class DmsStateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["PENDING", "SYNCED", "REJECTED", "FAILED"])
    orderNumber = serializers.CharField(allow_null=True)
    errors = serializers.ListField(child=serializers.DictField())
    syncedAt = serializers.DateTimeField(allow_null=True)


class RepairOrderSerializer(serializer_for(BODY.fields["order"])):  # type: ignore[misc, arg-type]
    """The order as read: the normalised body plus its identity, version and DMS state."""

    orderUUID = serializers.UUIDField()
    version = serializers.IntegerField()
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()
    dms = DmsStateSerializer()


class RepairOrderReadSerializer(OrderEnvelopeSerializer):
    order = RepairOrderSerializer()


class RepairOrderListSerializer(OrderEnvelopeSerializer):
    results = RepairOrderSerializer(many=True)
    next = serializers.URLField(allow_null=True)


class HistoryChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    old = serializers.JSONField(allow_null=True)
    new = serializers.JSONField(allow_null=True)


class HistoryEntrySerializer(serializers.Serializer):
    version = serializers.IntegerField()
    at = serializers.DateTimeField()
    channel = serializers.ChoiceField(choices=["API", "ADMIN", "DMS"])
    actor = serializers.CharField()
    changes = HistoryChangeSerializer(many=True)


class RepairOrderHistorySerializer(OrderEnvelopeSerializer):
    history = HistoryEntrySerializer(many=True)


class CustomerSerializer(serializer_for(CUSTOMER_BODY.fields["customer"])):  # type: ignore[misc, arg-type]
    customerUUID = serializers.UUIDField()


class CustomerReadSerializer(CustomerEnvelopeSerializer):
    customer = CustomerSerializer()


class CustomerListSerializer(CustomerEnvelopeSerializer):
    results = CustomerSerializer(many=True)
    next = serializers.URLField(allow_null=True)


class VehicleSerializer(serializer_for(VEHICLE_BODY.fields["vehicle"])):  # type: ignore[misc, arg-type]
    vehicleUUID = serializers.UUIDField()
    brand = serializers.CharField()


class VehicleReadSerializer(VehicleEnvelopeSerializer):
    vehicle = VehicleSerializer()


class VehicleListSerializer(VehicleEnvelopeSerializer):
    results = VehicleSerializer(many=True)


class PackageLineSerializer(serializers.Serializer):
    laborOpCode = serializers.CharField(required=False)
    partNumber = serializers.CharField(required=False)
    description = serializers.CharField()
    soldHours = serializers.CharField(required=False)
    quantity = serializers.CharField(required=False)


class PackageSerializer(serializers.Serializer):
    packageCode = serializers.CharField()
    description = serializers.CharField()
    price = serializers.CharField()
    currencyCode = serializers.CharField()
    labour = PackageLineSerializer(many=True)
    parts = PackageLineSerializer(many=True)


class PackageListSerializer(OrderEnvelopeSerializer):
    results = PackageSerializer(many=True)
