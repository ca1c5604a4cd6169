"""Serializers of the shared response shapes (for the OpenAPI schema and for rendering)."""

from rest_framework import serializers


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
