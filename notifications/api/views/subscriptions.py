"""``subscription`` and ``subscription/{id}`` with its actions: ping, rotate-secret, recover."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from orma.api.pagination import decode_instant_cursor
from orma.api.serializers import PartsErrorSerializer
from tenancy.demo import SERVICE_DEPARTMENT_UUID

from ... import selectors, services
from .. import serializers as s
from ..representations import (
    secret_rotated_json,
    subscription_created_json,
    subscription_detail_json,
    subscription_json,
)
from .base import PAGE_PARAMETERS, SUBSCRIPTION_ID, NotificationFamilyView

_EXAMPLE_BODY = {
    "url": "https://hooks.importer.example/orma",
    "eventTypes": ["order.created", "order.updated", "order.dms_synced", "order.dms_rejected"],
    "departments": [str(SERVICE_DEPARTMENT_UUID)],
    "payload": "full",
}
_EXAMPLE_SUBSCRIPTION = {
    "id": "8d2f4b6a-1c3e-4f5a-9b7d-0e1f2a3b4c5d",
    **_EXAMPLE_BODY,
    "enabled": True,
    "disabledAt": None,
    "disabledReason": None,
    "failingSince": None,
    "lastSuccessAt": None,
    "previousSecretValidUntil": None,
    "createdAt": "2025-03-01T08:00:00.000Z",
    "updatedAt": "2025-03-01T08:00:00.000Z",
}
_NOT_EMPTY = OpenApiResponse(PartsErrorSerializer, description="the body holds fields this action does not take")
_DISABLED = OpenApiResponse(PartsErrorSerializer, description="the subscription is disabled: enable or ping it first")


class SubscriptionCollectionView(NotificationFamilyView):
    """``subscription``: register one (POST), list the partner's (GET)."""

    query_parameters = {"GET": ("limit", "cursor")}

    @extend_schema(
        operation_id="notification_subscription_create",
        request=s.SubscriptionCreateSerializer,
        responses={201: s.SubscriptionCreatedSerializer},
        examples=[
            OpenApiExample("a subscription to repair orders", value=_EXAMPLE_BODY, request_only=True),
            OpenApiExample(
                "created",
                value={**_EXAMPLE_SUBSCRIPTION, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw8wPVJbCeA3U="},
                response_only=True,
                status_codes=["201"],
            ),
        ],
        summary="Register a webhook subscription (its signing secret is shown this once)",
    )
    def post(self, request: Request) -> Response:
        checked = self.validated(s.SubscriptionCreateSerializer, request.data)
        subscription = services.subscription_create(partner_id=self.partner_id, checked=checked)
        response = Response(subscription_created_json(subscription), status=201)
        response["Location"] = request.build_absolute_uri(f"{request.path}/{subscription.uuid}")
        return response

    @extend_schema(
        operation_id="notification_subscription_list",
        parameters=PAGE_PARAMETERS,
        responses={200: s.SubscriptionListSerializer},
        summary="The partner's subscriptions, oldest first",
    )
    def get(self, request: Request) -> Response:
        return self.page(
            lambda after, limit: selectors.subscription_page(partner_id=self.partner_id, after=after, limit=limit),
            key=lambda subscription: (subscription.created_at, subscription.id),
            decode=decode_instant_cursor,
            represent=subscription_json,
        )


class SubscriptionDetailView(NotificationFamilyView):
    """``subscription/{id}``: read (with its log), change, delete."""

    @extend_schema(
        operation_id="notification_subscription_read",
        parameters=[SUBSCRIPTION_ID],
        responses={200: s.SubscriptionDetailSerializer},
        summary="A subscription with its log (newest first)",
    )
    def get(self, request: Request, subscriptionId: str) -> Response:
        return Response(subscription_detail_json(self.subscription(subscriptionId, with_notices=True)))

    @extend_schema(
        operation_id="notification_subscription_update",
        parameters=[SUBSCRIPTION_ID],
        request=s.SubscriptionUpdateSerializer,
        responses={200: s.SubscriptionDetailSerializer},
        examples=[
            OpenApiExample(
                "thin payloads of parts orders",
                value={"eventTypes": ["parts_order.status_changed"], "payload": "thin"},
                request_only=True,
            ),
            OpenApiExample("disable it", value={"enabled": False}, request_only=True),
        ],
        summary="Change a subscription: url, eventTypes, departments, payload, enabled",
    )
    def patch(self, request: Request, subscriptionId: str) -> Response:
        subscription = self.subscription(subscriptionId)
        checked = self.validated(s.SubscriptionUpdateSerializer, request.data)
        services.subscription_update(subscription=subscription, checked=checked)
        return Response(subscription_detail_json(self.subscription(subscriptionId, with_notices=True)))

    @extend_schema(
        operation_id="notification_subscription_delete",
        parameters=[SUBSCRIPTION_ID],
        request=None,
        responses={204: None},
        summary="Delete a subscription with its delivery log",
    )
    def delete(self, request: Request, subscriptionId: str) -> Response:
        services.subscription_delete(subscription=self.subscription(subscriptionId))
        return Response(status=204)


class SubscriptionPingView(NotificationFamilyView):
    """``subscription/{id}/ping``: a ``ping`` event to this subscription (enabled or not), sent in the background."""

    @extend_schema(
        operation_id="notification_subscription_ping",
        parameters=[SUBSCRIPTION_ID],
        request=None,
        responses={202: s.PingAcceptedSerializer, 400: _NOT_EMPTY},
        summary="Send a ping; a successful one re-enables a disabled subscription",
    )
    def post(self, request: Request, subscriptionId: str) -> Response:
        subscription = self.subscription(subscriptionId)
        self.validated(s.EmptyBodySerializer, self.body(request))
        delivery = services.subscription_ping(subscription=subscription)
        return Response({"deliveryId": str(delivery.uuid), "webhookId": delivery.webhook_id}, status=202)


class SubscriptionRotateSecretView(NotificationFamilyView):
    """``subscription/{id}/rotate-secret``: a new signing secret; the previous one signs too for a while."""

    @extend_schema(
        operation_id="notification_subscription_rotate_secret",
        parameters=[SUBSCRIPTION_ID],
        request=None,
        responses={200: s.SecretRotatedSerializer, 400: _NOT_EMPTY},
        summary="Rotate the signing secret (both sign during ORMA_WEBHOOK_ROTATION_OVERLAP_HOURS, default 24)",
    )
    def post(self, request: Request, subscriptionId: str) -> Response:
        subscription = self.subscription(subscriptionId)
        self.validated(s.EmptyBodySerializer, self.body(request))
        return Response(secret_rotated_json(services.subscription_rotate_secret(subscription=subscription)))


class SubscriptionRecoverView(NotificationFamilyView):
    """``subscription/{id}/recover``: send again every FAILED delivery created since a moment."""

    @extend_schema(
        operation_id="notification_subscription_recover",
        parameters=[SUBSCRIPTION_ID],
        request=s.RecoverSerializer,
        responses={202: s.QueuedSerializer, 409: _DISABLED},
        examples=[OpenApiExample("since Monday", value={"since": "2025-03-03T00:00:00Z"}, request_only=True)],
        summary="Bulk recovery: the FAILED deliveries since then, sent again with their webhook-ids",
    )
    def post(self, request: Request, subscriptionId: str) -> Response:
        subscription = self.subscription(subscriptionId)
        since = self.validated(s.RecoverSerializer, request.data)["since"]
        queued = services.subscription_recover(subscription=subscription, since=since)
        return Response({"queued": queued}, status=202)
