"""``delivery`` and ``delivery/{id}``: the delivery log, one delivery with its attempts, redelivery."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from orma.api.pagination import cursor_id, decode_cursor
from orma.api.serializers import PartsErrorSerializer
from orma.events import EventType

from ... import selectors, services
from ...models import DeliveryStatus
from .. import serializers as s
from ..representations import delivery_detail_json, delivery_json
from .base import DELIVERY_ID, PAGE_PARAMETERS, NotificationFamilyView


def _id_cursor(raw: str) -> int:
    [after] = decode_cursor(raw, 1)
    return cursor_id(after)


class DeliveryListView(NotificationFamilyView):
    """``delivery?status=&subscription=&eventType=&since=``: the partner's delivery log, newest first."""

    query_parameters = {"GET": ("status", "subscription", "eventType", "since", "limit", "cursor")}

    @extend_schema(
        operation_id="notification_delivery_list",
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=DeliveryStatus.values, description="where it stands"),
            OpenApiParameter("subscription", OpenApiTypes.UUID, description="one of the partner's subscriptions"),
            OpenApiParameter("eventType", OpenApiTypes.STR, enum=EventType.values, description="the event's type"),
            OpenApiParameter(
                "since", OpenApiTypes.DATETIME, description="ISO 8601; deliveries created at or after it (UTC)"
            ),
            *PAGE_PARAMETERS,
        ],
        responses={200: s.DeliveryListSerializer},
        summary="The delivery log: every delivery of the partner's subscriptions, newest first",
    )
    def get(self, request: Request) -> Response:
        serializer = s.DeliveryListQuerySerializer(data=request.query_params.dict())
        serializer.is_valid(raise_exception=True)
        filters = serializer.validated_data
        rows = selectors.deliveries(
            partner_id=self.partner_id,
            subscription_uuid=filters.get("subscription"),
            status=filters.get("status"),
            event_type=filters.get("event_type"),
            since=filters.get("since"),
        )
        return self.page(
            lambda after, limit: selectors.delivery_page(rows=rows, after=after, limit=limit),
            key=lambda delivery: (delivery.id,),
            decode=_id_cursor,
            represent=delivery_json,
        )


class DeliveryDetailView(NotificationFamilyView):
    """``delivery/{id}``: one delivery with its attempts."""

    @extend_schema(
        operation_id="notification_delivery_read",
        parameters=[DELIVERY_ID],
        responses={200: s.DeliveryDetailSerializer},
        summary="A delivery with its attempts: status code, duration, error, the answer's first 64 KiB",
    )
    def get(self, request: Request, deliveryId: str) -> Response:
        return Response(delivery_detail_json(self.delivery(deliveryId, with_attempts=True)))


class DeliveryRedeliverView(NotificationFamilyView):
    """``delivery/{id}/redeliver``: send it again now, with the same webhook-id."""

    @extend_schema(
        operation_id="notification_delivery_redeliver",
        parameters=[DELIVERY_ID],
        request=None,
        responses={
            202: s.DeliverySerializer,
            400: OpenApiResponse(PartsErrorSerializer, description="the body holds fields this action does not take"),
            409: OpenApiResponse(
                PartsErrorSerializer, description="being sent right now, or its subscription is disabled"
            ),
        },
        summary="Redeliver: the same webhook-id, now, with a fresh attempt budget",
    )
    def post(self, request: Request, deliveryId: str) -> Response:
        delivery = self.delivery(deliveryId)
        self.validated(s.EmptyBodySerializer, self.body(request))
        services.delivery_redeliver(delivery=delivery)
        return Response(delivery_json(self.delivery(deliveryId)), status=202)
