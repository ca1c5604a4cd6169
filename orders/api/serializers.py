"""Serializers of the orders family: the request serializers every body and query enters through, and
the response shapes for the schema.

Request serializers subclass ``orma.api.serializers.RequestSerializer``: views call
``is_valid(raise_exception=True)``, and validation is the app's rules (``orders.validation``,
``orders.filters``), which raise the DomainError the API answers. The body serializers' fields are
generated from the request spec (``orders.body``) and document the body: each value rule carries its
own pattern, length, example, choices and bounds (``orders.fields``), so the schema states exactly the
rules the API applies. Where a rule cannot be expressed in JSON Schema (familyName or companyName;
advisorNumber or assignedUserUuid; references that must exist) the schema is looser than the API and
the API answers 400.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, ClassVar

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from orders import selectors, validation
from orders.body import BODY, CUSTOMER_BODY, JOB, PACKAGE_USE, VEHICLE_BODY, Field, ListOf, Obj
from orders.choices import DmsStatus
from orders.fields import MONEY
from orders.filters import RepairOrderFilterSet
from orders.models import RepairOrder
from orma.actors import Channel
from orma.api.serializers import (
    CustomerEnvelopeSerializer,
    OrderEnvelopeSerializer,
    RequestSerializer,
    VehicleEnvelopeSerializer,
)

NO_NUL = r"^[^\x00]*$"  # any text the database can store


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
    """The field documenting one spec field, from what its value rule says of itself."""
    options: dict[str, Any] = {"required": spec.required, "allow_null": not spec.required}
    if spec.description:
        options["help_text"] = spec.description
    rule = spec.rule
    if rule.schema_format == "uuid":
        return serializers.UUIDField(**options)
    if rule.minimum is not None:
        return serializers.IntegerField(min_value=rule.minimum, max_value=rule.maximum, **options)
    if rule.choices:
        return serializers.ChoiceField(choices=list(rule.choices), **options)
    schema: dict[str, Any] = {"type": "string", "pattern": rule.pattern or NO_NUL}
    if rule.max_length is not None:
        schema["maxLength"] = rule.max_length
    if rule.pattern is None and spec.required:  # required text must not be empty
        schema["minLength"] = 1
    if rule.example is not None:
        schema["example"] = rule.example
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


# --- requests ------------------------------------------------------------------------------------


class OrdersRequestSerializer(RequestSerializer):
    """A request of the orders family: ``context`` holds the ``department`` (and, for an update, the
    ``repair_order`` it replaces)."""

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        # A JSON null (or no body) is judged by the app's rules (MALFORMED_JSON), not answered by DRF's "null".
        return False, data


class RepairOrderRequestSerializer(OrdersRequestSerializer, serializer_for(BODY)):  # type: ignore[misc]
    """A repair order to create, or to replace whole (seed 001 and WorkshopOrder 2.x)."""

    def to_internal_value(self, data: Any) -> validation.CheckedOrder:
        return validation.repair_order_fields(data)

    def validate(self, attrs: validation.CheckedOrder) -> validation.ValidatedOrder:
        # the ±30-day rule is the service's: it checks it once, under the lock of the order number
        return validation.repair_order_approve(
            attrs, department=self.context["department"], existing=self.context.get("repair_order"), window=False
        )


class CustomerRequestSerializer(OrdersRequestSerializer, serializer_for(CUSTOMER_BODY)):  # type: ignore[misc]
    """A customer of the dealer to create, or to replace whole."""

    def to_internal_value(self, data: Any) -> validation.ValidatedCustomer:
        return validation.validate_customer(data)


class VehicleRequestSerializer(OrdersRequestSerializer, serializer_for(VEHICLE_BODY)):  # type: ignore[misc]
    """A vehicle of the dealer to create, or to replace whole; its brand comes from the VIN."""

    def to_internal_value(self, data: Any) -> validation.ValidatedVehicle:
        return validation.validate_vehicle(data, dealer=self.context["department"].dealer)


class RepairOrderListQuerySerializer(OrdersRequestSerializer):
    """``GET order``'s filters: the department's orders they select (``limit`` and ``cursor`` are the page's)."""

    def to_internal_value(self, data: Any) -> QuerySet[RepairOrder]:
        orders = selectors.repair_orders(department_id=self.context["department"].id)
        return RepairOrderFilterSet(data, queryset=orders).filtered()


class QueryParameterSerializer(OrdersRequestSerializer):
    """A query of one parameter, read by its rule."""

    parameter: ClassVar[str]
    rule: ClassVar[Callable[[str | None], str]]

    def to_internal_value(self, data: Any) -> str:
        return type(self).rule(data.get(self.parameter))


class CustomerSearchQuerySerializer(QueryParameterSerializer):
    """``GET customer?search=``: what to look for (``limit`` and ``cursor`` are the page's)."""

    parameter = "search"
    rule = staticmethod(validation.customer_search_text)


class VehicleLookupQuerySerializer(QueryParameterSerializer):
    """``GET vehicle?vin=``: the VIN to find."""

    parameter = "vin"
    rule = staticmethod(validation.vehicle_lookup_vin)


class PackageQuerySerializer(QueryParameterSerializer):
    """``GET package?vin=``: the vehicle the packages must fit."""

    parameter = "vin"
    rule = staticmethod(validation.package_lookup_vin)


# --- responses -----------------------------------------------------------------------------------


class DmsStateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=DmsStatus.values)
    orderNumber = serializers.CharField(allow_null=True)
    errors = serializers.ListField(child=serializers.DictField())
    syncedAt = serializers.DateTimeField(allow_null=True)


class RepairOrderPackageUseReadSerializer(serializer_for(PACKAGE_USE)):  # type: ignore[misc, arg-type]
    """A package use as read: as sent, plus the package as applied (its description, this dealer's price)."""

    description = serializers.CharField(allow_blank=True)
    unitPrice = _string_field({"type": "string", "pattern": MONEY.answer_pattern}, help_text="per package")
    price = _string_field({"type": "string", "pattern": MONEY.answer_pattern}, help_text="unitPrice × quantity")
    currencyCode = serializers.CharField()

    class Meta:
        ref_name = "RepairOrderPackageUse"  # the response component keeps the request's name


class RepairOrderJobReadSerializer(serializer_for(JOB)):  # type: ignore[misc, arg-type]
    """A job as read: its package uses carry the package as applied."""

    packages = RepairOrderPackageUseReadSerializer(many=True, required=False, allow_null=True)

    class Meta:
        ref_name = "RepairOrderJob"


class RepairOrderSerializer(serializer_for(BODY.fields["order"])):  # type: ignore[misc, arg-type]
    """The order as read: the normalised body plus its identity, version and DMS state."""

    jobs = RepairOrderJobReadSerializer(many=True, required=False, allow_null=True)

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
    channel = serializers.ChoiceField(choices=Channel.values)
    actor = serializers.CharField()
    changes = HistoryChangeSerializer(many=True)


class RepairOrderHistorySerializer(OrderEnvelopeSerializer):
    history = HistoryEntrySerializer(many=True)
    next = serializers.URLField(allow_null=True, help_text="the next page, or null on the last one")


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
