"""``order``, ``order/{orderUUID}`` and its history: create, list, read, replace."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from orders import selectors, services, sql
from orders.choices import RepairOrderStatus
from orders.models import RepairOrder
from orma.actors import Actor
from orma.api.errors import order_envelope
from orma.api.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    cursor_id,
    decode_cursor,
    decode_instant_cursor,
    keyset_page,
)
from orma.idempotency import idempotent
from tenancy.choices import Scope

from .. import examples
from .. import serializers as s
from ..representations import history_representation, order_read_text, order_representation
from .base import CreatingView, OrdersFamilyView, creation_schema

_LIST_PARAMETERS = [
    OpenApiParameter(
        "status", OpenApiTypes.STR, enum=RepairOrderStatus.values, description="only orders in this status"
    ),
    OpenApiParameter("orderNumber", OpenApiTypes.STR, description="only orders of this number, exactly as sent"),
    OpenApiParameter("vin", OpenApiTypes.STR, description="only orders of the vehicle with this VIN (any case)"),
    OpenApiParameter("customer", OpenApiTypes.UUID, description="only orders of this customer (its customerUUID)"),
    OpenApiParameter(
        "createdFrom", OpenApiTypes.DATE, description="yyyy-MM-dd: orders created on or after this day (UTC)"
    ),
    OpenApiParameter("createdTo", OpenApiTypes.DATE, description="yyyy-MM-dd: orders created on or before this day"),
    OpenApiParameter(
        "updatedSince",
        OpenApiTypes.DATETIME,
        description="ISO 8601 (2024-02-01T08:30:00Z): orders changed at or after this instant; encode + as %2B "
        "(a + sent unencoded arrives as a space and is read as +)",
    ),
    OpenApiParameter("limit", OpenApiTypes.INT, description=f"1 to {MAX_LIMIT}, default {DEFAULT_LIMIT}"),
    OpenApiParameter("cursor", OpenApiTypes.STR, description="the opaque cursor of a previous page's next"),
]
_IDEMPOTENCY_PARAMETER = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, description="repeat-safe creation (72 hours)"
)


def parse_if_match(header: str | None) -> int | None:
    """The version an ``If-Match`` header names; None when absent or ``*`` (any version), -1 when it
    names none that can exist (a tag that is not a number)."""
    if header is None:
        return None
    value = header.strip()
    if value == "*":
        return None
    if value.startswith("W/"):
        value = value[2:]
    try:
        return int(value.strip('"'))
    except ValueError:
        return -1


def etag_matches(header: str | None, version: int) -> bool:
    """Whether an ``If-None-Match`` header names this version (``*``, or one of its tags, weak or strong)."""
    if not header:
        return False
    tags = [tag.strip() for tag in header.split(",")]
    return "*" in tags or any(parse_if_match(tag) == version for tag in tags)


def _created_key(repair_order: RepairOrder) -> tuple[Any, int]:
    return repair_order.created_instant, repair_order.id


@creation_schema(
    operation_id="repair_order_create",
    summary="Create a repair order (seed 001)",
    post_summary="Create a repair order (POST, same as PUT)",
    request=s.RepairOrderRequestSerializer,
    parameters=[_IDEMPOTENCY_PARAMETER],
    responses={201: s.OrderEnvelopeSerializer, 409: s.OrderEnvelopeSerializer, 422: s.OrderEnvelopeSerializer},
    examples=examples.order_create("TRY-PUT-1"),
    post_examples=examples.order_create("TRY-POST-1"),
)
class RepairOrderCollectionView(CreatingView):
    """``order``: create (PUT or POST) and list."""

    required_scopes = {"PUT": Scope.ORDER_CREATE, "POST": Scope.ORDER_CREATE, "GET": Scope.ORDER_READ}
    query_parameters = {
        "GET": (
            "status",
            "orderNumber",
            "vin",
            "customer",
            "createdFrom",
            "createdTo",
            "updatedSince",
            "limit",
            "cursor",
        )
    }

    @idempotent
    def put(self, request: Request, departmentUUID: UUID) -> Response:
        validated = self.validated(s.RepairOrderRequestSerializer, request.data)
        repair_order = services.repair_order_create(
            department=self.department, validated=validated, actor=Actor.partner(request.user)
        )
        return self.envelope(201, repair_order.uuid, validated.warnings)

    @extend_schema(
        operation_id="repair_order_list",
        parameters=_LIST_PARAMETERS,
        responses={200: s.RepairOrderListSerializer},
        summary="List the department's repair orders, newest first",
    )
    def get(self, request: Request, departmentUUID: UUID) -> Response:
        orders = self.validated(s.RepairOrderListQuerySerializer, request.query_params)
        page, next_url = keyset_page(
            request,
            fetch=lambda after, limit: selectors.repair_order_list(orders=orders, after=after, limit=limit),
            key=_created_key,
            decode=decode_instant_cursor,
            represent=order_representation,
        )
        return self.envelope(200, results=page, next=next_url)


class RepairOrderLookup(OrdersFamilyView):
    """A view of one repair order of the department, named by ``orderUUID``."""

    def repair_order(self, order_uuid: UUID) -> RepairOrder:
        repair_order = self.found(selectors.repair_order_get(department_id=self.department.id, order_uuid=order_uuid))
        repair_order.department = self.department  # already loaded with its dealer
        # From here on an error is about a known order: its envelope names it (412, 409, 400 ...).
        self.request.subject_uuid = str(repair_order.uuid)  # type: ignore[attr-defined]
        return repair_order


class RepairOrderDetailView(RepairOrderLookup):
    """``order/{orderUUID}``: read (with ETag) and full update (If-Match)."""

    required_scopes = {"GET": Scope.ORDER_READ, "PUT": Scope.ORDER_UPDATE}

    @extend_schema(
        operation_id="repair_order_read",
        parameters=[
            OpenApiParameter(
                "If-None-Match",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description='the ETag of a copy you hold ("3"): 304 without a body while the order is at that version',
            )
        ],
        responses={
            200: OpenApiResponse(s.RepairOrderReadSerializer, description="the order; ETag: its version"),
            304: OpenApiResponse(description="the order is still at the version If-None-Match names"),
        },
        summary="Read a repair order",
    )
    def get(self, request: Request, departmentUUID: UUID, orderUUID: UUID) -> HttpResponse:
        if sql.on_postgresql():
            return self._read_stored_text(request, orderUUID)
        repair_order = self.repair_order(orderUUID)
        etag = f'"{repair_order.version}"'
        if etag_matches(request.headers.get("If-None-Match"), repair_order.version):
            return Response(status=304, headers={"ETag": etag})
        response = self.envelope(200, repair_order.uuid, order=order_representation(repair_order))
        response["ETag"] = etag
        return response

    def _read_stored_text(self, request: Request, order_uuid: UUID) -> HttpResponse:
        """The read on PostgreSQL: one statement, and the body written around the stored document's JSON text
        (no model, no decoding, no renderer: those were most of a read). Same answer as the ORM path's."""
        stored = self.found(selectors.repair_order_read(department_id=self.department.id, order_uuid=order_uuid))
        request.subject_uuid = stored.uuid  # type: ignore[attr-defined]
        etag = f'"{stored.version}"'
        if etag_matches(request.headers.get("If-None-Match"), stored.version):
            return Response(status=304, headers={"ETag": etag})
        envelope = order_envelope(status=200, path=request.path, subject_uuid=stored.uuid)
        response = HttpResponse(order_read_text(envelope, stored), content_type="application/json")
        response["ETag"] = etag
        return response

    @extend_schema(
        operation_id="repair_order_update",
        request=s.RepairOrderRequestSerializer,
        examples=examples.ORDER_UPDATE,
        parameters=[OpenApiParameter("If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER)],
        responses={200: s.OrderEnvelopeSerializer, 409: s.OrderEnvelopeSerializer, 412: s.OrderEnvelopeSerializer},
        summary="Replace a repair order (full update)",
    )
    def put(self, request: Request, departmentUUID: UUID, orderUUID: UUID) -> Response:
        repair_order = self.repair_order(orderUUID)
        validated = self.validated(s.RepairOrderRequestSerializer, request.data, repair_order=repair_order)
        updated = services.repair_order_update(
            repair_order=repair_order,
            validated=validated,
            actor=Actor.partner(request.user),
            expected_version=parse_if_match(request.headers.get("If-Match")),
        )
        response = self.envelope(200, updated.uuid, validated.warnings)
        response["ETag"] = f'"{updated.version}"'
        return response


class RepairOrderHistoryView(RepairOrderLookup):
    """``order/{orderUUID}/history``: who changed what, when, through which channel; oldest first, in pages
    (``limit``, ``cursor``, ``next``) that also end at the byte budget."""

    required_scopes = {"GET": Scope.ORDER_READ}
    query_parameters = {"GET": ("limit", "cursor")}

    @extend_schema(
        operation_id="repair_order_history",
        parameters=_LIST_PARAMETERS[-2:],
        responses={200: s.RepairOrderHistorySerializer},
        summary="The change history of a repair order, oldest first",
    )
    def get(self, request: Request, departmentUUID: UUID, orderUUID: UUID) -> Response:
        repair_order = self.repair_order(orderUUID)
        history, next_url = keyset_page(
            request,
            fetch=lambda after, limit: selectors.repair_order_history(
                repair_order=repair_order, after=after, limit=limit
            ),
            key=lambda entry: (entry.version, entry.id),
            decode=_decode_history_cursor,
            represent=history_representation,
        )
        return self.envelope(200, repair_order.uuid, history=history, next=next_url)


def _decode_history_cursor(raw: str) -> tuple[int, int]:
    version, row_id = decode_cursor(raw, 2)
    return cursor_id(version), cursor_id(row_id)
