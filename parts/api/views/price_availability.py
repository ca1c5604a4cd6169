"""``price-availability``: one part (GET) or a basket (POST), priced for a customer, with the store's stock."""

from __future__ import annotations

import uuid

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from tenancy.choices import Scope

from ... import selectors
from .. import examples
from .. import serializers as s
from ..representations import basket_json, basket_text, price_availability_json
from .base import PartsFamilyView


class PriceAvailabilityView(PartsFamilyView):
    """``price-availability``: one part (GET) or a basket of up to 200 (POST), for a customer."""

    required_scopes = {"GET": Scope.PARTS_READ, "POST": Scope.PARTS_READ}
    query_parameters = {"GET": ("partId", "quantity", "customerId", "orderType")}

    @extend_schema(
        operation_id="parts_price_availability",
        parameters=[s.PartsPriceAvailabilityQuerySerializer],
        responses={200: s.PartsPriceAvailabilitySerializer},
        summary="Price & availability of one part",
    )
    def get(self, request: Request, enterpriseId: uuid.UUID, storeId: uuid.UUID) -> Response:
        serializer = s.PartsPriceAvailabilityQuerySerializer(
            data=request.query_params.dict(), context=self.serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        (answer,) = selectors.price_availability(store_id=self.store.id, basket=serializer.validated_data["basket"])
        assert isinstance(answer, selectors.PriceAvailability)  # an unknown part was refused (400)
        return Response(price_availability_json(answer))

    @extend_schema(
        operation_id="parts_price_availability_basket",
        request=s.PartsBasketSerializer,
        examples=examples.BASKET,
        responses={200: s.PartsBasketResultSerializer},
        summary="Price & availability of a basket of up to 200 parts",
    )
    def post(self, request: Request, enterpriseId: uuid.UUID, storeId: uuid.UUID) -> HttpResponse:
        serializer = s.PartsBasketSerializer(data=request.data, context=self.serializer_context())
        serializer.is_valid(raise_exception=True)
        basket = serializer.validated_data
        answers = selectors.price_availability(store_id=self.store.id, basket=basket["basket"])
        customer_uuid, order_type = basket.get("customerId"), basket.get("orderType")
        if request.accepted_media_type == JSONRenderer.media_type:  # plain JSON: the text, no renderer
            text = basket_text(customer_uuid=customer_uuid, order_type=order_type, answers=answers)
            return HttpResponse(text.encode(), content_type=JSONRenderer.media_type)
        # e.g. "application/json; indent=4": the renderer's own way
        return Response(basket_json(customer_uuid=customer_uuid, order_type=order_type, answers=answers))
