"""The parts family (``/parts-api/{enterpriseId}/{storeId}/v1/``): seed 002's parts orders and seed 003's
catalogue, price & availability. Views are thin: validate the shape, call a selector or service, build
the JSON body. Every error answers in seed 002's shape (``orma.api.errors``)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, ClassVar

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from orma.actors import Actor
from orma.api.errors import ApiError, ErrorCode, Problem
from orma.api.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    decode_cursor,
    decode_instant_cursor,
    encode_cursor,
    next_url,
    page_limit,
)
from orma.api.serializers import PartsErrorSerializer
from orma.api.views import PartnerAPIView
from orma.idempotency import idempotent
from tenancy.models import Department

from .. import rules, selectors, services
from ..choices import PartsOrderStatus
from ..models import Part, PartsOrder, PartsOrderLine
from . import serializers as s

# --- representations ----------------------------------------------------------------------------


def _price(net: Any, tax_rate: Any, currency_code: str) -> rules.Price:
    return rules.Price.of(net, tax_rate, currency_code)


def _json_price(price: rules.Price | None) -> dict[str, Any] | None:
    return price.as_json() if price is not None else None


def _number(value: Any) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def part_ref(part: Any) -> dict[str, Any]:
    return {
        "partId": part.part_id,
        "brandCode": part.brand_code,
        "partCode": part.part_code,
        "description": part.description,
    }


def _unit_of_measure(unit: str, value: Any) -> dict[str, Any]:
    return {"unit": unit, "value": _number(value)}


def part_summary(part: Part) -> dict[str, Any]:
    return {
        **part_ref(part),
        "unitOfSale": part.unit_of_sale,
        "listPrice": _price(part.list_net_price, part.tax_rate, part.currency_code).as_json(),
        "supersededBy": part.superseded_by.part_id if part.superseded_by_id else None,
    }


def part_detail(part: Part) -> dict[str, Any]:
    return {
        **part_ref(part),
        "weight": {"value": _number(part.weight_kg), "unit": "KG"} if part.weight_kg is not None else None,
        "unitOfMeasure": _unit_of_measure(part.unit_of_measure, part.unit_of_measure_value),
        "unitOfSale": part.unit_of_sale,
        "listPrice": _price(part.list_net_price, part.tax_rate, part.currency_code).as_json(),
        "discountGroup": part.discount_group or None,
        "supersededBy": part_ref(part.superseded_by) if part.superseded_by_id else None,
        "supersedes": [part_ref(p) for p in part.supersedes.all()],
        "alternatives": [part_ref(p) for p in part.alternatives.all()],
        "mandatoryVehicleReferences": list(part.mandatory_vehicle_references or []),
    }


def price_availability_json(answer: selectors.PriceAvailability) -> dict[str, Any]:
    supersession = answer.supersession
    part = answer.part
    return {
        "partId": answer.requested_part_id,
        "quantity": answer.quantity,
        "part": part_ref(part),
        "supersession": {
            "supersededBy": answer.successor.part_id if answer.successor else None,
            "chain": list(answer.chain),
            "cycle": supersession.cycle,
        }
        if supersession.superseded or supersession.broken
        else None,
        "unitOfMeasure": _unit_of_measure(part.unit_of_measure, part.unit_of_measure_value),
        "unitOfSale": part.unit_of_sale,
        "listPrice": answer.pricing.list_unit.as_json(),
        "customerPrice": answer.pricing.customer_unit.as_json(),
        "discountPercent": _number(answer.pricing.discount_percent),
        "surcharge": _json_price(answer.pricing.surcharge),
        "totalPrice": answer.pricing.total.as_json(),
        "availableQuantity": answer.available,
        "availability": answer.availability,
        "alternatives": [
            {
                "partId": alternative.part_id,
                "brandCode": alternative.brand_code,
                "partCode": alternative.part_code,
                "description": alternative.description,
                "availableQuantity": max(alternative.available, 0),
                "availability": rules.availability(
                    stocked=alternative.stocked, available=alternative.available, quantity=answer.quantity
                ),
            }
            for alternative in answer.alternatives
        ],
        "mandatoryVehicleReferences": list(answer.mandatory_vehicle_references),
    }


def _timestamp(moment: dt.datetime) -> str:
    """Seed 002's ``2019-07-21T17:32:28.000Z``: UTC with milliseconds."""
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parts_order_line_json(line: PartsOrderLine) -> dict[str, Any]:
    order_price = _price(line.order_net_price, line.tax_rate, line.currency_code)
    surcharge = (
        _price(line.surcharge_net, line.tax_rate, line.currency_code) if line.surcharge_net is not None else None
    )
    references = [{"type": ref["type"], "value": ref["value"]} for ref in line.vehicle_references or []]
    return {
        "orderLineId": str(line.uuid),
        "partId": line.part_number,
        "supersededPartId": line.superseded_part_number or None,
        "quantity": line.quantity,
        "unitOfMeasure": _unit_of_measure(line.unit_of_measure, line.unit_of_measure_value),
        "unitOfSale": line.unit_of_sale,
        "partsOrderLineStatus": line.status,
        "mandatoryVehicleReference": references[0] if references else None,
        "mandatoryVehicleReferences": references,
        "listPrice": _price(line.list_net_price, line.tax_rate, line.currency_code).as_json(),
        "orderPrice": order_price.as_json(),
        "surcharge": _json_price(surcharge),
        "totalPrice": order_price.times(line.quantity).plus(surcharge).as_json(),
    }


def parts_order_json(parts_order: PartsOrder, lines: Any = None) -> dict[str, Any]:
    """Seed 002's ``PartsOrder`` body (201 and read)."""
    customer = parts_order.customer
    company = parts_order.company
    lines = parts_order.lines.all() if lines is None else lines
    return {
        "partsOrderId": str(parts_order.uuid),
        "partsOrderDateTime": _timestamp(parts_order.created_at),
        "orderStatus": parts_order.status,
        "customer": {
            "customerId": str(customer.uuid),
            "familyName": customer.family_name,
            "givenName": customer.given_name,
            "titleCommon": customer.title_common,
        },
        "company": {"companyId": str(company.uuid), "name": company.company_name or str(company)} if company else None,
        "orderContact": dict(parts_order.contact) or None,
        "deliveryAddress": {
            "streetName": parts_order.delivery_street_name,
            "postalCode": parts_order.delivery_postal_code,
            "city": parts_order.delivery_city,
            "countryCode": parts_order.delivery_country_code,
        },
        "orderType": parts_order.order_type,
        "orderReference": parts_order.order_reference or None,
        "parts": [parts_order_line_json(line) for line in lines],
    }


# --- plumbing -----------------------------------------------------------------------------------


_PAGE_PARAMETERS = [
    OpenApiParameter("limit", OpenApiTypes.INT, description=f"1 to {MAX_LIMIT}, default {DEFAULT_LIMIT}"),
    OpenApiParameter("cursor", OpenApiTypes.STR, description="the opaque cursor of a previous page's next"),
]
_IDEMPOTENCY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="repeat-safe creation: a repeat with the same key and body answers the first answer (72 hours)",
)


class PartsFamilyView(PartnerAPIView):
    """Shared helpers of the parts family: the store from the grant, paging, query validation."""

    query_parameters: ClassVar[dict[str, tuple[str, ...]] | None] = {}  # every view names its own

    @property
    def store(self) -> Department:
        return self.request.grant.department

    def limit(self) -> int:
        return page_limit(self.request)

    def next_url(self, cursor: str | None) -> str | None:
        return next_url(self.request, cursor)

    def validated(self, serializer_class: Any, data: Any) -> Any:
        serializer = serializer_class(data=data)
        if not serializer.is_valid():
            raise ApiError(400, s.validation_problems(serializer, data))
        return serializer

    def priced_customer(self, customer_uuid: uuid.UUID | None) -> selectors.PricedCustomer | None:
        if customer_uuid is None:
            return None
        customers = selectors.customers_with_discounts(dealer_id=self.store.dealer_id, customer_uuids=[customer_uuid])
        if customer_uuid not in customers:
            raise ApiError(
                400,
                [
                    Problem(
                        ErrorCode.UNKNOWN_CUSTOMER,
                        f"customerId {customer_uuid} is not a customer of this dealer",
                        "customerId",
                        customer_uuid,
                    )
                ],
            )
        return customers[customer_uuid]


# --- catalogue ----------------------------------------------------------------------------------


class PartListView(PartsFamilyView):
    """``parts?search=&brandCode=``: search the dealer's catalogue."""

    required_scopes = {"GET": "parts.read"}
    query_parameters = {"GET": ("search", "brandCode", "limit", "cursor")}

    @extend_schema(
        operation_id="parts_search",
        parameters=[
            OpenApiParameter("search", OpenApiTypes.STR, description="start of a partId or partCode, or description"),
            OpenApiParameter("brandCode", OpenApiTypes.STR),
            *_PAGE_PARAMETERS,
        ],
        responses={200: s.PartsPartListSerializer},
        summary="Search parts (by part id, part code or description)",
    )
    def get(self, request: Request, enterpriseId: uuid.UUID, storeId: uuid.UUID) -> Response:
        limit = self.limit()
        after = None
        if "cursor" in request.query_params:
            [after] = decode_cursor(request.query_params["cursor"], 1)
            if not isinstance(after, str) or "\x00" in after:
                raise ApiError.of(400, ErrorCode.FIELD_INVALID, "cursor is not one this API issued", field="cursor")
        search = request.query_params.get("search", "").strip()[:100].replace("\x00", "")
        brand_code = request.query_params.get("brandCode", "").strip()[:20].replace("\x00", "")
        page = selectors.part_search(
            dealer_id=self.store.dealer_id, search=search, brand_code=brand_code, after=after, limit=limit
        )
        cursor = encode_cursor(page[limit - 1].part_id) if len(page) > limit else None
        return Response({"results": [part_summary(part) for part in page[:limit]], "next": self.next_url(cursor)})


class PartDetailView(PartsFamilyView):
    """``parts/{partId}``: part details."""

    required_scopes = {"GET": "parts.read"}

    @extend_schema(operation_id="parts_read", responses={200: s.PartsPartDetailSerializer}, summary="Part details")
    def get(self, request: Request, enterpriseId: uuid.UUID, storeId: uuid.UUID, partId: str) -> Response:
        if "\x00" in partId or len(partId) > 50:
            raise ApiError.of(404)  # no partId holds these; the database must not even be asked
        part = selectors.part_get(dealer_id=self.store.dealer_id, part_id=partId)
        if part is None:
            raise ApiError.of(404)
        return Response(part_detail(part))


class PriceAvailabilityView(PartsFamilyView):
    """``price-availability``: one part (GET) or a basket of up to 200 (POST), for a customer."""

    required_scopes = {"GET": "parts.read", "POST": "parts.read"}
    query_parameters = {"GET": ("partId", "quantity", "customerId", "orderType")}

    def answer(
        self,
        items: list[selectors.BasketItem],
        customer_uuid: uuid.UUID | None,
        order_type: str | None,
        field_of: Any,
    ) -> list[dict[str, Any]]:
        priced_customer = self.priced_customer(customer_uuid)
        answers, unknown = selectors.price_availability(
            dealer_id=self.store.dealer_id,
            store_id=self.store.id,
            items=items,
            priced_customer=priced_customer,
            order_type=order_type,
        )
        if unknown:
            raise ApiError(
                400,
                [
                    Problem(
                        ErrorCode.UNKNOWN_PART,
                        f"part {items[index].part_id} is not in this dealer's catalogue",
                        field_of(index),
                        items[index].part_id,
                    )
                    for index in unknown
                ],
            )
        return [price_availability_json(answer) for answer in answers]

    @extend_schema(
        operation_id="parts_price_availability",
        parameters=[s.PartsPriceAvailabilityQuerySerializer],
        responses={200: s.PartsPriceAvailabilitySerializer},
        summary="Price & availability of one part",
    )
    def get(self, request: Request, enterpriseId: uuid.UUID, storeId: uuid.UUID) -> Response:
        query = self.validated(s.PartsPriceAvailabilityQuerySerializer, request.query_params.dict()).validated_data
        item = selectors.BasketItem(query["partId"], query["quantity"])
        (answer,) = self.answer([item], query.get("customerId"), query.get("orderType"), lambda _: "partId")
        return Response(answer)

    @extend_schema(
        operation_id="parts_price_availability_basket",
        request=s.PartsBasketSerializer,
        responses={200: s.PartsBasketResultSerializer},
        summary="Price & availability of a basket of up to 200 parts",
    )
    def post(self, request: Request, enterpriseId: uuid.UUID, storeId: uuid.UUID) -> Response:
        basket = self.validated(s.PartsBasketSerializer, request.data).validated_data
        items = [selectors.BasketItem(item["partId"], item["quantity"]) for item in basket["parts"]]
        customer_uuid = basket.get("customerId")
        order_type = basket.get("orderType")
        parts = self.answer(items, customer_uuid, order_type, lambda index: f"parts[{index}].partId")
        return Response(
            {"customerId": str(customer_uuid) if customer_uuid else None, "orderType": order_type, "parts": parts}
        )


# --- parts orders -------------------------------------------------------------------------------


class PartsOrderCollectionView(PartsFamilyView):
    """``parts-orders``: place an order (POST) and list the store's orders (GET)."""

    required_scopes = {"POST": "parts.order", "GET": "parts.read"}
    query_parameters = {"GET": ("customerId", "orderStatus", "limit", "cursor")}

    @extend_schema(
        operation_id="parts_order_create",
        request=s.PartsOrderCreateSerializer,
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
        serializer = self.validated(s.PartsOrderCreateSerializer, request.data)
        placed = services.parts_order_place(
            store=self.store, request=serializer.to_request(), actor=Actor.partner(request.user)
        )
        parts_order = placed.parts_order
        location = request.build_absolute_uri(f"{request.path}/{parts_order.uuid}")
        if placed.accepted:
            response = Response(parts_order_json(parts_order, placed.lines), status=201)
        else:
            response = Response({"partsOrderId": str(parts_order.uuid)}, status=202)
        response["Location"] = location
        return response

    @extend_schema(
        operation_id="parts_order_list",
        parameters=[
            OpenApiParameter("customerId", OpenApiTypes.UUID),
            OpenApiParameter("orderStatus", OpenApiTypes.STR, enum=PartsOrderStatus.values),
            *_PAGE_PARAMETERS,
        ],
        responses={200: s.PartsOrderListSerializer},
        summary="List the store's parts orders, newest first",
    )
    def get(self, request: Request, enterpriseId: uuid.UUID, storeId: uuid.UUID) -> Response:
        query = request.query_params
        problems = []
        customer_uuid = None
        if "customerId" in query:
            try:
                customer_uuid = uuid.UUID(query["customerId"])
            except ValueError:
                problems.append(
                    Problem(ErrorCode.FIELD_INVALID, "customerId must be a UUID", "customerId", query["customerId"])
                )
        status = query.get("orderStatus")
        if status is not None and status not in PartsOrderStatus.values:
            problems.append(
                Problem(
                    ErrorCode.FIELD_INVALID,
                    f"The value '{status}' is not valid; use one of {', '.join(PartsOrderStatus.values)}.",
                    "orderStatus",
                    status,
                )
            )
        if problems:
            raise ApiError(400, problems)
        limit = self.limit()
        after = None
        if "cursor" in query:
            after = decode_instant_cursor(query["cursor"])
        page = selectors.parts_order_list(
            department_id=self.store.id, customer_uuid=customer_uuid, status=status, after=after, limit=limit
        )
        cursor = encode_cursor(page[limit - 1].created_at, page[limit - 1].id) if len(page) > limit else None
        return Response({"results": [parts_order_json(order) for order in page[:limit]], "next": self.next_url(cursor)})


class PartsOrderDetailView(PartsFamilyView):
    """``parts-orders/{partsOrderId}``: the order with its per-line statuses and prices."""

    required_scopes = {"GET": "parts.read"}

    @extend_schema(
        operation_id="parts_order_read",
        parameters=[OpenApiParameter("partsOrderId", OpenApiTypes.UUID, OpenApiParameter.PATH)],
        responses={200: s.PartsOrderSerializer},
        summary="A parts order with its lines' statuses and prices",
    )
    def get(self, request: Request, enterpriseId: uuid.UUID, storeId: uuid.UUID, partsOrderId: str) -> Response:
        try:
            order_uuid = uuid.UUID(partsOrderId)
        except ValueError:
            raise ApiError.of(404) from None  # as unknown as a well-formed id that names nothing
        parts_order = selectors.parts_order_get(department_id=self.store.id, order_uuid=order_uuid)
        if parts_order is None:
            raise ApiError.of(404)
        return Response(parts_order_json(parts_order))
