"""Serializers of the notification family (``/notification/v1/``).

Request serializers (on ``orma.api.serializers.RequestSerializer``) refuse unknown fields, check each field's
shape, then run the subscription's rules (``services.subscription_check``) on the fields that are well
shaped, and report every problem of the request at once in one 400. Response serializers document the
bodies built by :mod:`notifications.api.representations`; they are not used to render.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import SkipField

from orma.api.errors import problems_from_validation_detail
from orma.api.serializers import RequestSerializer, _value_at
from orma.errors import DomainError, ErrorCode, Problem
from orma.events import EventType

from .. import rules, services
from ..models import DeliveryStatus, PayloadForm, SubscriptionNotice


class StrictBooleanField(serializers.BooleanField):
    """A JSON ``true`` or ``false``, nothing that merely looks like one (``"yes"``, ``1``)."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


def parse_instant(raw: str) -> dt.datetime:
    """An ISO 8601 date-time (``Z`` or an offset; without one, UTC) as an aware UTC instant."""
    instant = dt.datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    return instant.replace(tzinfo=instant.tzinfo or dt.UTC).astimezone(dt.UTC)


@extend_schema_field(OpenApiTypes.DATETIME)
class InstantField(serializers.Field):
    """An ISO 8601 date-time such as ``2025-03-01T08:00:00Z`` (UTC when it names no offset)."""

    default_error_messages = {"invalid": "must be an ISO 8601 date-time, e.g. 2025-03-01T08:00:00Z"}

    def to_internal_value(self, data: Any) -> dt.datetime:
        if not isinstance(data, str) or len(data) > 40:
            self.fail("invalid")
        try:
            return parse_instant(data)
        except (ValueError, OverflowError):
            self.fail("invalid")

    def to_representation(self, value: Any) -> Any:
        return value


class StrictRequestSerializer(RequestSerializer):
    """A request whose every problem, unknown fields included, is reported at once: each declared field's
    shape, then :meth:`check` on the values of the well-shaped ones."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            raise DomainError.of(ErrorCode.MALFORMED_JSON, "The request body must be a JSON object.")
        problems = [
            Problem(ErrorCode.FIELD_INVALID, f"{name}: unknown field; expected: {', '.join(self.fields)}", name, "")
            for name in data
            if name not in self.fields
        ]
        values: dict[str, Any] = {}
        for name, declared in self.fields.items():
            try:
                values[declared.source] = declared.run_validation(declared.get_value(data))
            except SkipField:
                continue
            except serializers.ValidationError as error:
                problems += [
                    Problem(problem.code, problem.description, problem.field, _value_at(data, problem.field))
                    for problem in problems_from_validation_detail(error.detail, name)
                ]
        try:
            checked = self.check(values)
        except DomainError as error:
            problems += error.problems
            checked = None
        if problems:
            raise DomainError(problems)
        return checked

    def check(self, values: dict[str, Any]) -> Any:
        """The request's rules on its well-shaped values; raise DomainError with every problem found."""
        return values


_EVENT_TYPE_HELP = "one or more of " + ", ".join(rules.SUBSCRIBABLE)


class SubscriptionBodySerializer(StrictRequestSerializer):
    """A subscription's settings: where to send which events of which departments, in which form."""

    url = serializers.CharField(
        max_length=rules.URL_MAX_LENGTH,
        trim_whitespace=False,
        help_text="https, on a globally routable address (http and private addresses only where "
        "ORMA_WEBHOOK_ALLOW_PRIVATE=1)",
    )
    eventTypes = serializers.ListField(
        child=serializers.ChoiceField(choices=list(rules.SUBSCRIBABLE)),
        source="event_types",
        min_length=1,
        max_length=rules.MAX_EVENT_TYPES * 2,
        help_text=_EVENT_TYPE_HELP,
    )
    departments = serializers.ListField(
        child=serializers.UUIDField(),
        source="department_uuids",
        min_length=1,
        max_length=rules.MAX_DEPARTMENTS,
        help_text="departmentUUIDs the partner holds notification.manage on",
    )
    payload = serializers.ChoiceField(
        choices=PayloadForm.values,
        source="payload_form",
        required=False,
        help_text="full: the object as its GET answers it (the default); thin: ids, number, version, status",
    )
    enabled = StrictBooleanField(required=False, help_text="false: nothing is sent until it is true again")

    def check(self, values: dict[str, Any]) -> services.SubscriptionSettings:
        # Required fields are the declared fields' (a missing one is reported once, by its field).
        return services.subscription_check(partner_id=self.context["partner_id"], **values)


class SubscriptionCreateSerializer(SubscriptionBodySerializer):
    """``POST subscription``: url, eventTypes and departments required."""


class SubscriptionUpdateSerializer(SubscriptionBodySerializer):
    """``PATCH subscription/{id}``: any of the settings, and ``enabled``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["partial"] = True
        super().__init__(*args, **kwargs)


class RecoverSerializer(StrictRequestSerializer):
    """``POST subscription/{id}/recover``: send again every FAILED delivery created since then."""

    since = InstantField(help_text="ISO 8601 date-time; deliveries created at or after it")

    def check(self, values: dict[str, Any]) -> dict[str, Any]:
        return values


class DeliveryListQuerySerializer(RequestSerializer):
    """``GET delivery``'s filters (``limit`` and ``cursor`` are the page's)."""

    status = serializers.ChoiceField(choices=DeliveryStatus.values, required=False)
    subscription = serializers.UUIDField(required=False, help_text="a subscription's id")
    eventType = serializers.ChoiceField(choices=EventType.values, required=False, source="event_type")
    since = InstantField(required=False, help_text="ISO 8601 date-time; deliveries created at or after it")


# --- responses (documentation of representations.py) --------------------------------------------


class NoticeSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=SubscriptionNotice.Kind.values)
    message = serializers.CharField()
    at = serializers.DateTimeField()


class SubscriptionSerializer(serializers.Serializer):
    """A subscription as every answer shows it (never its secret)."""

    id = serializers.UUIDField()
    url = serializers.CharField()
    eventTypes = serializers.ListField(child=serializers.ChoiceField(choices=list(rules.SUBSCRIBABLE)))
    departments = serializers.ListField(child=serializers.UUIDField())
    payload = serializers.ChoiceField(choices=PayloadForm.values)
    enabled = serializers.BooleanField()
    disabledAt = serializers.DateTimeField(allow_null=True)
    disabledReason = serializers.CharField(allow_null=True)
    failingSince = serializers.DateTimeField(allow_null=True, help_text="first failure since the last success")
    lastSuccessAt = serializers.DateTimeField(allow_null=True)
    previousSecretValidUntil = serializers.DateTimeField(
        allow_null=True, help_text="while a rotation's overlap lasts, the previous secret signs too"
    )
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()


class SubscriptionCreatedSerializer(SubscriptionSerializer):
    secret = serializers.CharField(help_text="whsec_ + base64 of 32 random bytes; shown on creation only")


class SubscriptionDetailSerializer(SubscriptionSerializer):
    log = NoticeSerializer(many=True, help_text="what happened to the subscription, newest first (at most 20)")


class SubscriptionListSerializer(serializers.Serializer):
    results = SubscriptionSerializer(many=True)
    next = serializers.URLField(allow_null=True)


class SecretRotatedSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    secret = serializers.CharField(help_text="the new secret, shown this once")
    previousSecretValidUntil = serializers.DateTimeField(help_text="until then deliveries carry both signatures")


class PingAcceptedSerializer(serializers.Serializer):
    deliveryId = serializers.UUIDField(help_text="GET delivery/{deliveryId} shows how it went")
    webhookId = serializers.CharField(help_text="the webhook-id header the ping carries")


class QueuedSerializer(serializers.Serializer):
    queued = serializers.IntegerField(help_text="how many deliveries were queued again")


class DeliverySerializer(serializers.Serializer):
    """One event to one subscription: where it stands."""

    id = serializers.UUIDField()
    webhookId = serializers.CharField(help_text="the webhook-id header: the same on every retry and redelivery")
    subscription = serializers.UUIDField()
    eventId = serializers.UUIDField(help_text="the payload's id")
    eventType = serializers.ChoiceField(choices=EventType.values)
    subject = serializers.CharField(help_text="the object, e.g. order:<orderUUID>; ping:<id> for a ping")
    status = serializers.ChoiceField(choices=DeliveryStatus.values)
    attempts = serializers.IntegerField(help_text="requests made, all kept in the log")
    nextAttemptAt = serializers.DateTimeField(allow_null=True, help_text="while PENDING: when it goes out next")
    lastStatusCode = serializers.IntegerField(allow_null=True, help_text="of the latest attempt; null: no answer")
    lastError = serializers.CharField(allow_null=True)
    occurredAt = serializers.DateTimeField()
    createdAt = serializers.DateTimeField()
    deliveredAt = serializers.DateTimeField(allow_null=True)


class DeliveryAttemptSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    startedAt = serializers.DateTimeField()
    durationMs = serializers.IntegerField()
    statusCode = serializers.IntegerField(allow_null=True)
    succeeded = serializers.BooleanField()
    error = serializers.CharField(allow_null=True)
    responseBody = serializers.CharField(help_text="the first 64 KiB of the endpoint's answer")


class DeliveryDetailSerializer(DeliverySerializer):
    log = DeliveryAttemptSerializer(many=True, help_text="its attempts, oldest first (the latest 50)")


class DeliveryListSerializer(serializers.Serializer):
    results = DeliverySerializer(many=True)
    next = serializers.URLField(allow_null=True)


class EmptyBodySerializer(StrictRequestSerializer):
    """The actions' body: none, or ``{}``."""
