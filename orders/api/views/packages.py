"""``package?vin=``: the service packages that fit a vehicle, at this dealer's price."""

from __future__ import annotations

from uuid import UUID

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from orders import selectors
from orders.vins import vin_brand
from tenancy.choices import Scope

from .. import serializers as s
from ..representations import package_representation
from .base import OrdersFamilyView


class PackageListView(OrdersFamilyView):
    """``package?vin=``: the service packages that fit the vehicle, at this dealer's price."""

    required_scopes = {"GET": Scope.ORDER_READ}
    query_parameters = {"GET": ("vin",)}

    @extend_schema(
        operation_id="package_list",
        parameters=[OpenApiParameter("vin", OpenApiTypes.STR, required=True)],
        responses={200: OpenApiResponse(s.PackageListSerializer)},
        summary="Service packages for a vehicle, with this dealer's price",
    )
    def get(self, request: Request, departmentUUID: UUID) -> Response:
        vin = self.validated(s.PackageQuerySerializer, request.query_params)
        dealer_id = self.department.dealer_id
        vehicle = selectors.vehicle_get_by_vin(dealer_id=dealer_id, vin=vin)
        brand = vehicle.brand if vehicle and vehicle.brand else vin_brand(vin)
        model = vehicle.model if vehicle else ""
        packages = [
            package_representation(priced)
            for priced in selectors.packages_priced(dealer_id=dealer_id).values()
            if priced.applies_to(brand, model)
        ]
        return self.envelope(200, results=packages)
