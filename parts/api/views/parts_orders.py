"""``parts-orders`` and ``parts-orders/{partsOrderId}``: place a parts order, list them, read one (seed 002)."""

from __future__ import annotations

import uuid

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from orma.actors import Actor
from orma.api.errors import ApiError
from orma.api.pagination import decode_instant_cursor
from orma.api.serializers import PartsErrorSerializer
from orma.idempotency import idempotent
from tenancy.choices import Scope

from ... import selectors, services
from ...choices import PartsOrderStatus
from .. import examples
from .. import serializers as s
from ..representations import parts_order_accepted_json, parts_order_json
from .base import PAGE_PARAMETERS, PartsFamilyView

_IDEMPOTENCY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="repeat-safe creation: a repeat with the same key and body answers the first answer (72 hours)",
)


class PartsOrderCollectionView(PartsFamilyView):
    """``parts-orders``: place an order (POST) and list the store's orders (GET)."""

    required_scopes = {"POST": Scope.PARTS_ORDER, "GET": Scope.PARTS_READ}
    query_parameters = {"GET": ("customerId", "orderStatus", "limit", "cursor")}

    @extend_schema(
        operation_id="parts_order_create",
        request=s.PartsOrderCreateSerializer,
        examples=examples.PARTS_ORDER_CREATE,
        parameters=[_IDEMPOTENCY_PARAMETER],
        responses={
            201: OpenApiResponse(s.PartsOrderSerializer, description="the DMS accepted the order within the request"),
            202: OpenApiResponse(s.PartsOrderAcceptedSerializer, description="queued for the DMS"),
            409: OpenApiResponse(PartsErrorSerializer, description="the same Idempotency-Key is still in flight"),
            422: OpenApiResponse(PartsErrorSerializer, description="the Idempotency-Key was used with another body"),
        },
        summary="Place a parts order (seed 002)",
    )
    @idempotent
    def post(self, request: Request, enterpriseId: uuid.UUID, storeId: uuid.UUID) -> Response:
        serializer = s.PartsOrderCreateSerializer(data=request.data, context=self.serializer_context())
        serializer.is_valid(raise_exception=True)
        placed = services.parts_order_place(
            store=self.store, checked=serializer.validated_data["checked"], actor=Actor.partner(request.user)
        )
        placed = services.parts_order_await_dms(placed=placed, seconds=settings.ORMA_PARTS_DMS_WAIT_SECONDS)
        parts_order = placed.parts_order
        if placed.accepted:
            response = Response(parts_order_json(parts_order, placed.lines), status=201)
        else:
            response = Response(parts_order_accepted_json(parts_order), status=202)
        response["Location"] = request.build_absolute_uri(f"{request.path}/{parts_order.number}")
        return response

    @extend_schema(
        operation_id="parts_order_list",
        parameters=[
            # documented here rather than from the serializer: its FilterSet reads the raw values (see there)
            OpenApiParameter("customerId", OpenApiTypes.UUID),
            OpenApiParameter("orderStatus", OpenApiTypes.STR, enum=PartsOrderStatus.values),
            *PAGE_PARAMETERS,
        ],
        responses={200: s.PartsOrderListSerializer},
        summary="List the store's parts orders, newest first",
    )
    def get(self, request: Request, enterpriseId: uuid.UUID, storeId: uuid.UUID) -> Response:
        serializer = s.PartsOrderListQuerySerializer(
            data=request.query_params.dict(), context=self.serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        orders = serializer.validated_data
        return self.page(
            lambda after, limit: selectors.parts_order_list(orders=orders, after=after, limit=limit),
            key=lambda parts_order: (parts_order.created_at, parts_order.id),
            decode=decode_instant_cursor,
            represent=parts_order_json,
        )


class PartsOrderDetailView(PartsFamilyView):
    """``parts-orders/{partsOrderId}``: the order with its per-line statuses and prices."""

    required_scopes = {"GET": Scope.PARTS_READ}

    @extend_schema(
        operation_id="parts_order_read",
        parameters=[
            OpenApiParameter(
                "partsOrderId",
                OpenApiTypes.INT,
                OpenApiParameter.PATH,
                description="the number placing the order answered (seed 002's partsOrderId)",
            )
        ],
        responses={200: s.PartsOrderSerializer},
        summary="A parts order with its lines' statuses and prices",
    )
    def get(self, request: Request, enterpriseId: uuid.UUID, storeId: uuid.UUID, partsOrderId: str) -> Response:
        number = selectors.parts_order_number(partsOrderId)
        if number is None:
            raise ApiError.of(404)  # as unknown as a well-formed number that names nothing
        parts_order = selectors.parts_order_get(department_id=self.store.id, number=number)
        if parts_order is None:
            raise ApiError.of(404)
        return Response(parts_order_json(parts_order))
