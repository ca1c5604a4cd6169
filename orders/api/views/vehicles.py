"""``vehicle`` and ``vehicle/{vehicleUUID}``: create, find by VIN, read, replace."""

from __future__ import annotations

from uuid import UUID

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from orders import selectors, services
from orders.models import Vehicle
from tenancy.choices import Scope

from .. import examples
from .. import serializers as s
from ..representations import vehicle_representation
from .base import CreatingView, OrdersFamilyView, creation_schema

_WRITE_RESPONSES = {201: s.VehicleEnvelopeSerializer, 409: s.VehicleEnvelopeSerializer}


@creation_schema(
    operation_id="vehicle_create",
    summary="Create a vehicle of the dealer (brand from the VIN)",
    post_summary="Create a vehicle (POST, same as PUT)",
    request=s.VehicleRequestSerializer,
    responses=_WRITE_RESPONSES,
    examples=examples.vehicle_create("WVWZZZCDZMW000301"),
    post_examples=examples.vehicle_create("WVWZZZCDZMW000302"),
)
class VehicleCollectionView(CreatingView):
    """``vehicle``: create (PUT or POST) and find by VIN."""

    required_scopes = {"PUT": Scope.CUSTOMER_WRITE, "POST": Scope.CUSTOMER_WRITE, "GET": Scope.CUSTOMER_READ}
    query_parameters = {"GET": ("vin",)}

    def put(self, request: Request, departmentUUID: UUID) -> Response:
        validated = self.validated(s.VehicleRequestSerializer, request.data)
        vehicle = services.vehicle_create(
            dealer=self.department.dealer, data=validated.data, customer=validated.customer, brand=validated.brand
        )
        return self.envelope(201, vehicle.uuid, validated.warnings)

    @extend_schema(
        operation_id="vehicle_find",
        parameters=[OpenApiParameter("vin", OpenApiTypes.STR, required=True)],
        responses={200: s.VehicleListSerializer},
        summary="Find the dealer's vehicle by VIN",
    )
    def get(self, request: Request, departmentUUID: UUID) -> Response:
        vin = self.validated(s.VehicleLookupQuerySerializer, request.query_params)
        vehicle = selectors.vehicle_get_by_vin(dealer_id=self.department.dealer_id, vin=vin)
        return self.envelope(200, results=[vehicle_representation(vehicle)] if vehicle else [])


class VehicleDetailView(OrdersFamilyView):
    """``vehicle/{vehicleUUID}``: read and full update."""

    required_scopes = {"GET": Scope.CUSTOMER_READ, "PUT": Scope.CUSTOMER_WRITE}

    def vehicle(self, vehicle_uuid: UUID) -> Vehicle:
        return self.found(selectors.vehicle_get(dealer_id=self.department.dealer_id, vehicle_uuid=vehicle_uuid))

    @extend_schema(operation_id="vehicle_read", responses={200: s.VehicleReadSerializer}, summary="Read a vehicle")
    def get(self, request: Request, departmentUUID: UUID, vehicleUUID: UUID) -> Response:
        vehicle = self.vehicle(vehicleUUID)
        return self.envelope(200, vehicle.uuid, vehicle=vehicle_representation(vehicle))

    @extend_schema(
        operation_id="vehicle_update",
        request=s.VehicleRequestSerializer,
        examples=examples.VEHICLE_UPDATE,
        responses={200: s.VehicleEnvelopeSerializer, 409: s.VehicleEnvelopeSerializer},
        summary="Replace a vehicle's data (full update)",
    )
    def put(self, request: Request, departmentUUID: UUID, vehicleUUID: UUID) -> Response:
        vehicle = self.vehicle(vehicleUUID)
        validated = self.validated(s.VehicleRequestSerializer, request.data)
        services.vehicle_update(
            vehicle=vehicle, data=validated.data, customer=validated.customer, brand=validated.brand
        )
        return self.envelope(200, vehicle.uuid, validated.warnings)
