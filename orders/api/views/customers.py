"""``customer`` and ``customer/{customerUUID}``: create, search, read, replace."""

from __future__ import annotations

from uuid import UUID

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from orders import selectors, services
from orders.models import Customer
from orma.api.pagination import cursor_id, decode_cursor, keyset_page
from tenancy.choices import Scope

from .. import examples
from .. import serializers as s
from ..representations import customer_representation
from .base import CreatingView, OrdersFamilyView, creation_schema


def _decode_id_cursor(raw: str) -> int:
    return cursor_id(decode_cursor(raw, 1)[0])


@creation_schema(
    operation_id="customer_create",
    summary="Create a customer of the dealer",
    post_summary="Create a customer (POST, same as PUT)",
    request=s.CustomerRequestSerializer,
    responses={201: s.CustomerEnvelopeSerializer},
    examples=examples.CUSTOMER_CREATE,
)
class CustomerCollectionView(CreatingView):
    """``customer``: create (PUT or POST) and search."""

    required_scopes = {"PUT": Scope.CUSTOMER_WRITE, "POST": Scope.CUSTOMER_WRITE, "GET": Scope.CUSTOMER_READ}
    query_parameters = {"GET": ("search", "limit", "cursor")}

    def put(self, request: Request, departmentUUID: UUID) -> Response:
        validated = self.validated(s.CustomerRequestSerializer, request.data)
        customer = services.customer_create(dealer=self.department.dealer, data=validated.data)
        return self.envelope(201, customer.uuid, validated.warnings)

    @extend_schema(
        operation_id="customer_search",
        parameters=[
            OpenApiParameter("search", OpenApiTypes.STR, description="part of a name, company, e-mail or phone"),
            OpenApiParameter("limit", OpenApiTypes.INT),
            OpenApiParameter("cursor", OpenApiTypes.STR),
        ],
        responses={200: s.CustomerListSerializer},
        summary="Search the dealer's customers",
    )
    def get(self, request: Request, departmentUUID: UUID) -> Response:
        search = self.validated(s.CustomerSearchQuerySerializer, request.query_params)
        dealer_id = self.department.dealer_id
        page, next_url = keyset_page(
            request,
            fetch=lambda after, limit: selectors.customer_search(
                dealer_id=dealer_id, search=search, after_id=after, limit=limit
            ),
            key=lambda customer: (customer.id,),
            decode=_decode_id_cursor,
            represent=customer_representation,
        )
        return self.envelope(200, results=page, next=next_url)


class CustomerDetailView(OrdersFamilyView):
    """``customer/{customerUUID}``: read and full update."""

    required_scopes = {"GET": Scope.CUSTOMER_READ, "PUT": Scope.CUSTOMER_WRITE}

    def customer(self, customer_uuid: UUID) -> Customer:
        return self.found(selectors.customer_get(dealer_id=self.department.dealer_id, customer_uuid=customer_uuid))

    @extend_schema(operation_id="customer_read", responses={200: s.CustomerReadSerializer}, summary="Read a customer")
    def get(self, request: Request, departmentUUID: UUID, customerUUID: UUID) -> Response:
        customer = self.customer(customerUUID)
        return self.envelope(200, customer.uuid, customer=customer_representation(customer))

    @extend_schema(
        operation_id="customer_update",
        request=s.CustomerRequestSerializer,
        examples=examples.CUSTOMER_UPDATE,
        responses={200: s.CustomerEnvelopeSerializer},
        summary="Replace a customer's data (full update)",
    )
    def put(self, request: Request, departmentUUID: UUID, customerUUID: UUID) -> Response:
        customer = self.customer(customerUUID)
        validated = self.validated(s.CustomerRequestSerializer, request.data)
        services.customer_update(customer=customer, data=validated.data)
        return self.envelope(200, customer.uuid, validated.warnings)
