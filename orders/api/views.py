"""The orders family (``/order/v2/department/{departmentUUID}/``): repair orders, customers, vehicles,
packages. Views are thin: parse, call validation and a service or selector, answer the envelope."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar
from uuid import UUID

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from orders import body as spec
from orders import selectors, services
from orders.fields import FieldRuleError
from orders.models import Customer, RepairOrder, Vehicle
from orders.validation import validate_repair_order
from orders.vins import normalise_vin, serviced_brand, vin_brand
from orma.actors import Actor
from orma.api.errors import ApiError, ErrorCode, Problem, order_envelope
from orma.api.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    cursor_id,
    decode_cursor,
    decode_instant_cursor,
    encode_cursor,
    next_url,
    page_limit,
)
from orma.api.views import PartnerAPIView
from orma.idempotency import idempotent

from . import serializers as s


class OrdersFamilyView(PartnerAPIView):
    """Shared helpers of the orders family: the envelope, query parameters, bodies."""

    query_parameters: ClassVar[dict[str, tuple[str, ...]] | None] = {}  # none unless a view lists them

    def envelope(self, status: int, subject_uuid: Any = None, warnings: Any = (), **data: Any) -> Response:
        body = order_envelope(
            status=status,
            path=self.request.path,
            warnings=warnings,
            subject_uuid=str(subject_uuid) if subject_uuid else None,
        )
        body.update(data)
        return Response(body, status=status)

    @property
    def department(self) -> Any:
        return self.request.grant.department

    def limit(self) -> int:
        return page_limit(self.request)

    def next_url(self, cursor: str | None) -> str | None:
        return next_url(self.request, cursor)


def _body(request: Request, envelope_key: str) -> Any:
    data = request.data
    if not isinstance(data, dict) or not isinstance(data.get(envelope_key), dict):
        raise ApiError.of(
            400, ErrorCode.MALFORMED_JSON, f'The body must be a JSON object with a "{envelope_key}" object.'
        )
    return data


def _walk(body_spec: spec.Obj, data: Any) -> tuple[dict[str, Any], spec.Report]:
    report = spec.Report()
    normalised = spec.walk_object(body_spec, data, "", report) or {}
    return normalised, report


# --- repair orders -------------------------------------------------------------------------------


def order_representation(repair_order: RepairOrder) -> dict[str, Any]:
    """The order as GET answers it: the stored normalised body plus identity, version and DMS state."""
    return {
        **repair_order.document,
        "orderUUID": str(repair_order.uuid),
        "version": repair_order.version,
        "createdAt": repair_order.created_at.isoformat(),
        "updatedAt": repair_order.updated_at.isoformat(),
        "dms": {
            "status": repair_order.dms_status,
            "orderNumber": repair_order.dms_order_number or None,
            "errors": repair_order.dms_errors,
            "syncedAt": repair_order.dms_synced_at.isoformat() if repair_order.dms_synced_at else None,
        },
    }


_LIST_PARAMETERS = [
    OpenApiParameter("status", OpenApiTypes.STR, enum=["OPENED", "PRE-INVOICED", "CLOSED"]),
    OpenApiParameter("orderNumber", OpenApiTypes.STR),
    OpenApiParameter("vin", OpenApiTypes.STR),
    OpenApiParameter("createdFrom", OpenApiTypes.DATE, description="yyyy-MM-dd, on the order's creation instant"),
    OpenApiParameter("createdTo", OpenApiTypes.DATE, description="yyyy-MM-dd, inclusive"),
    OpenApiParameter("updatedSince", OpenApiTypes.DATETIME, description="ISO 8601"),
    OpenApiParameter("limit", OpenApiTypes.INT, description=f"1 to {MAX_LIMIT}, default {DEFAULT_LIMIT}"),
    OpenApiParameter("cursor", OpenApiTypes.STR, description="the opaque cursor of a previous page's next"),
]
_IDEMPOTENCY_PARAMETER = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, description="repeat-safe creation (72 hours)"
)


def _parse_filters(query: Any) -> selectors.RepairOrderFilters:
    problems = []
    values: dict[str, Any] = {}
    status = query.get("status")
    if status is not None and status not in ("OPENED", "PRE-INVOICED", "CLOSED"):
        problems.append(
            Problem(ErrorCode.FIELD_INVALID, "status must be one of OPENED, PRE-INVOICED, CLOSED", "status")
        )
    values["status"] = status
    values["order_number"] = query.get("orderNumber")
    values["vin"] = query.get("vin", "").strip().upper() or None
    for name, attribute in (("createdFrom", "created_from"), ("createdTo", "created_to")):
        raw = query.get(name)
        if raw is not None:
            try:
                values[attribute] = dt.date.fromisoformat(raw) if len(raw) == 10 else None
                if values[attribute] is None:
                    raise ValueError
            except ValueError:
                problems.append(Problem(ErrorCode.FIELD_INVALID, f"{name} must be a date in yyyy-MM-dd format", name))
    raw = query.get("updatedSince")
    if raw is not None:
        try:
            since = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
            # in UTC: PostgreSQL refuses offsets beyond ±15:59 that Python accepts
            values["updated_since"] = since.replace(tzinfo=since.tzinfo or dt.UTC).astimezone(dt.UTC)
        except (ValueError, OverflowError):
            problems.append(
                Problem(ErrorCode.FIELD_INVALID, "updatedSince must be an ISO 8601 date-time", "updatedSince")
            )
    if problems:
        raise ApiError(400, problems)
    return selectors.RepairOrderFilters(**values)


class RepairOrderCollectionView(OrdersFamilyView):
    """``order``: create (PUT or POST) and list."""

    required_scopes = {"PUT": "order.create", "POST": "order.create", "GET": "order.read"}
    query_parameters = {
        "GET": ("status", "orderNumber", "vin", "createdFrom", "createdTo", "updatedSince", "limit", "cursor")
    }

    @extend_schema(
        operation_id="repair_order_create",
        request=s.RepairOrderRequestSerializer,
        parameters=[_IDEMPOTENCY_PARAMETER],
        responses={201: s.OrderEnvelopeSerializer, 409: s.OrderEnvelopeSerializer, 422: s.OrderEnvelopeSerializer},
        summary="Create a repair order (seed 001)",
    )
    @idempotent
    def put(self, request: Request, departmentUUID: UUID) -> Response:
        validated = validate_repair_order(request.data, department=self.department)
        repair_order = services.repair_order_create(
            department=self.department, validated=validated, actor=Actor.partner(request.user)
        )
        return self.envelope(201, repair_order.uuid, validated.warnings)

    @extend_schema(
        operation_id="repair_order_create_post",
        request=s.RepairOrderRequestSerializer,
        parameters=[_IDEMPOTENCY_PARAMETER],
        responses={201: s.OrderEnvelopeSerializer, 409: s.OrderEnvelopeSerializer, 422: s.OrderEnvelopeSerializer},
        summary="Create a repair order (POST, same as PUT)",
    )
    def post(self, request: Request, departmentUUID: UUID) -> Response:
        return self.put(request, departmentUUID)

    @extend_schema(
        operation_id="repair_order_list",
        parameters=_LIST_PARAMETERS,
        responses={200: s.RepairOrderListSerializer},
        summary="List the department's repair orders, newest first",
    )
    def get(self, request: Request, departmentUUID: UUID) -> Response:
        filters = _parse_filters(request.query_params)
        limit = self.limit()
        after = None
        if "cursor" in request.query_params:
            after = decode_instant_cursor(request.query_params["cursor"])
        page = selectors.repair_order_list(department_id=self.department.id, filters=filters, after=after, limit=limit)
        cursor = encode_cursor(page[limit - 1].created_instant, page[limit - 1].id) if len(page) > limit else None
        return self.envelope(200, results=[order_representation(o) for o in page[:limit]], next=self.next_url(cursor))


class RepairOrderLookup(OrdersFamilyView):
    def repair_order(self, order_uuid: UUID) -> RepairOrder:
        repair_order = selectors.repair_order_get(department_id=self.department.id, order_uuid=order_uuid)
        if repair_order is None:
            raise ApiError.of(404)
        repair_order.department = self.department  # already loaded with its dealer
        return repair_order


class RepairOrderDetailView(RepairOrderLookup):
    """``order/{orderUUID}``: read (with ETag) and full update (If-Match)."""

    required_scopes = {"GET": "order.read", "PUT": "order.update"}

    @extend_schema(
        operation_id="repair_order_read", responses={200: s.RepairOrderReadSerializer}, summary="Read a repair order"
    )
    def get(self, request: Request, departmentUUID: UUID, orderUUID: UUID) -> Response:
        repair_order = self.repair_order(orderUUID)
        response = self.envelope(200, repair_order.uuid, order=order_representation(repair_order))
        response["ETag"] = f'"{repair_order.version}"'
        return response

    @extend_schema(
        operation_id="repair_order_update",
        request=s.RepairOrderRequestSerializer,
        parameters=[OpenApiParameter("If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER)],
        responses={200: s.OrderEnvelopeSerializer, 409: s.OrderEnvelopeSerializer, 412: s.OrderEnvelopeSerializer},
        summary="Replace a repair order (full update)",
    )
    def put(self, request: Request, departmentUUID: UUID, orderUUID: UUID) -> Response:
        repair_order = self.repair_order(orderUUID)
        validated = validate_repair_order(request.data, department=self.department, existing=repair_order)
        updated = services.repair_order_update(
            repair_order=repair_order,
            validated=validated,
            actor=Actor.partner(request.user),
            if_match=services.parse_if_match(request.headers.get("If-Match")),
        )
        response = self.envelope(200, updated.uuid, validated.warnings)
        response["ETag"] = f'"{updated.version}"'
        return response


class RepairOrderHistoryView(RepairOrderLookup):
    """``order/{orderUUID}/history``: who changed what, when, through which channel."""

    required_scopes = {"GET": "order.read"}

    @extend_schema(
        operation_id="repair_order_history",
        responses={200: s.RepairOrderHistorySerializer},
        summary="The change history of a repair order",
    )
    def get(self, request: Request, departmentUUID: UUID, orderUUID: UUID) -> Response:
        repair_order = self.repair_order(orderUUID)
        history = [
            {
                "version": entry.version,
                "at": entry.at.isoformat(),
                "channel": entry.channel,
                "actor": entry.actor,
                "changes": entry.changes,
            }
            for entry in selectors.repair_order_history(repair_order=repair_order)
        ]
        return self.envelope(200, repair_order.uuid, history=history)


# --- customers -----------------------------------------------------------------------------------


def customer_representation(customer: Customer) -> dict[str, Any]:
    data: dict[str, Any] = {"customerUUID": str(customer.uuid)}
    for key, value in (
        ("titleCommon", customer.title_common),
        ("givenName", customer.given_name),
        ("familyName", customer.family_name),
        ("companyName", customer.company_name),
        ("email", customer.email),
        ("phone", customer.phone),
    ):
        if value:
            data[key] = value
    address = {
        key: value
        for key, value in (
            ("streetName", customer.street_name),
            ("postalCode", customer.postal_code),
            ("city", customer.city),
            ("countryCode", customer.country_code),
        )
        if value
    }
    if address:
        data["invoiceAddress"] = address
    return data


def _validated_customer(request: Request) -> tuple[dict[str, Any], list[Any]]:
    normalised, report = _walk(spec.CUSTOMER_BODY, _body(request, "customer"))
    customer = normalised.get("customer", {})
    if not (customer.get("familyName", "").strip() or customer.get("companyName", "").strip()):
        report.problem(ErrorCode.FIELD_REQUIRED, "customer.familyName", "or customer.companyName is required")
    if report.problems:
        raise ApiError(400, report.problems)
    return customer, report.unknown_fields_warnings()


class CustomerCollectionView(OrdersFamilyView):
    """``customer``: create (PUT or POST) and search."""

    required_scopes = {"PUT": "customer.write", "POST": "customer.write", "GET": "customer.read"}
    query_parameters = {"GET": ("search", "limit", "cursor")}

    @extend_schema(
        operation_id="customer_create",
        request=s.CustomerRequestSerializer,
        responses={201: s.CustomerEnvelopeSerializer},
        summary="Create a customer of the dealer",
    )
    def put(self, request: Request, departmentUUID: UUID) -> Response:
        data, warnings = _validated_customer(request)
        customer = services.customer_create(dealer=self.department.dealer, data=data)
        return self.envelope(201, customer.uuid, warnings)

    @extend_schema(
        operation_id="customer_create_post",
        request=s.CustomerRequestSerializer,
        responses={201: s.CustomerEnvelopeSerializer},
        summary="Create a customer (POST, same as PUT)",
    )
    def post(self, request: Request, departmentUUID: UUID) -> Response:
        return self.put(request, departmentUUID)

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
        limit = self.limit()
        after = None
        if "cursor" in request.query_params:
            after = cursor_id(decode_cursor(request.query_params["cursor"], 1)[0])
        search = request.query_params.get("search", "").strip()[:200].replace("\x00", "")
        page = selectors.customer_search(
            dealer_id=self.department.dealer_id, search=search, after_id=after, limit=limit
        )
        cursor = encode_cursor(page[limit - 1].id) if len(page) > limit else None
        return self.envelope(
            200, results=[customer_representation(c) for c in page[:limit]], next=self.next_url(cursor)
        )


class CustomerDetailView(OrdersFamilyView):
    """``customer/{customerUUID}``: read and full update."""

    required_scopes = {"GET": "customer.read", "PUT": "customer.write"}

    def customer(self, customer_uuid: UUID) -> Customer:
        customer = selectors.customer_get(dealer_id=self.department.dealer_id, customer_uuid=customer_uuid)
        if customer is None:
            raise ApiError.of(404)
        return customer

    @extend_schema(operation_id="customer_read", responses={200: s.CustomerReadSerializer}, summary="Read a customer")
    def get(self, request: Request, departmentUUID: UUID, customerUUID: UUID) -> Response:
        customer = self.customer(customerUUID)
        return self.envelope(200, customer.uuid, customer=customer_representation(customer))

    @extend_schema(
        operation_id="customer_update",
        request=s.CustomerRequestSerializer,
        responses={200: s.CustomerEnvelopeSerializer},
        summary="Replace a customer's data (full update)",
    )
    def put(self, request: Request, departmentUUID: UUID, customerUUID: UUID) -> Response:
        customer = self.customer(customerUUID)
        data, warnings = _validated_customer(request)
        services.customer_update(customer=customer, data=data)
        return self.envelope(200, customer.uuid, warnings)


# --- vehicles ------------------------------------------------------------------------------------


def vehicle_representation(vehicle: Vehicle) -> dict[str, Any]:
    data: dict[str, Any] = {"vehicleUUID": str(vehicle.uuid), "vin": vehicle.vin, "brand": vehicle.brand}
    if vehicle.customer_id:
        data["customerUUID"] = str(vehicle.customer.uuid)
    for key, value in (
        ("model", vehicle.model),
        ("modelYear", vehicle.model_year),
        ("licensePlate", vehicle.license_plate),
        ("mileage", vehicle.mileage),
    ):
        if value not in ("", None):
            data[key] = value
    return data


def _validated_vehicle(request: Request, dealer: Any) -> tuple[dict[str, Any], Customer | None, str, list[Any]]:
    normalised, report = _walk(spec.VEHICLE_BODY, _body(request, "vehicle"))
    vehicle = normalised.get("vehicle", {})
    brand = ""
    if "vin" in vehicle:  # syntax already checked by the spec; the brand must be one the dealer services
        try:
            brand = serviced_brand(vehicle["vin"], dealer.brands)
        except FieldRuleError as error:
            report.problem(error.code, "vehicle.vin", error.message, vehicle["vin"])
    customer = None
    if "customerUUID" in vehicle:
        customer = selectors.customer_get(dealer_id=dealer.id, customer_uuid=vehicle["customerUUID"])
        if customer is None:
            report.problems.append(
                Problem(
                    ErrorCode.UNKNOWN_CUSTOMER,
                    f"vehicle.customerUUID {vehicle['customerUUID']} is not a customer of this dealer",
                )
            )
    if report.problems:
        raise ApiError(400, report.problems)
    return vehicle, customer, brand, report.unknown_fields_warnings()


class VehicleCollectionView(OrdersFamilyView):
    """``vehicle``: create (PUT or POST) and find by VIN."""

    required_scopes = {"PUT": "customer.write", "POST": "customer.write", "GET": "customer.read"}
    query_parameters = {"GET": ("vin",)}

    @extend_schema(
        operation_id="vehicle_create",
        request=s.VehicleRequestSerializer,
        responses={201: s.VehicleEnvelopeSerializer, 409: s.VehicleEnvelopeSerializer},
        summary="Create a vehicle of the dealer (brand from the VIN)",
    )
    def put(self, request: Request, departmentUUID: UUID) -> Response:
        dealer = self.department.dealer
        data, customer, brand, warnings = _validated_vehicle(request, dealer)
        vehicle = services.vehicle_create(dealer=dealer, data=data, customer=customer, brand=brand)
        return self.envelope(201, vehicle.uuid, warnings)

    @extend_schema(
        operation_id="vehicle_create_post",
        request=s.VehicleRequestSerializer,
        responses={201: s.VehicleEnvelopeSerializer, 409: s.VehicleEnvelopeSerializer},
        summary="Create a vehicle (POST, same as PUT)",
    )
    def post(self, request: Request, departmentUUID: UUID) -> Response:
        return self.put(request, departmentUUID)

    @extend_schema(
        operation_id="vehicle_find",
        parameters=[OpenApiParameter("vin", OpenApiTypes.STR, required=True)],
        responses={200: s.VehicleListSerializer},
        summary="Find the dealer's vehicle by VIN",
    )
    def get(self, request: Request, departmentUUID: UUID) -> Response:
        vin = request.query_params.get("vin", "").strip().upper()
        if not vin:
            raise ApiError.of(400, ErrorCode.FIELD_REQUIRED, "vin is required", field="vin")
        vehicle = selectors.vehicle_get_by_vin(dealer_id=self.department.dealer_id, vin=vin[:17])
        return self.envelope(200, results=[vehicle_representation(vehicle)] if vehicle else [])


class VehicleDetailView(OrdersFamilyView):
    """``vehicle/{vehicleUUID}``: read and full update."""

    required_scopes = {"GET": "customer.read", "PUT": "customer.write"}

    def vehicle(self, vehicle_uuid: UUID) -> Vehicle:
        vehicle = selectors.vehicle_get(dealer_id=self.department.dealer_id, vehicle_uuid=vehicle_uuid)
        if vehicle is None:
            raise ApiError.of(404)
        return vehicle

    @extend_schema(operation_id="vehicle_read", responses={200: s.VehicleReadSerializer}, summary="Read a vehicle")
    def get(self, request: Request, departmentUUID: UUID, vehicleUUID: UUID) -> Response:
        vehicle = self.vehicle(vehicleUUID)
        return self.envelope(200, vehicle.uuid, vehicle=vehicle_representation(vehicle))

    @extend_schema(
        operation_id="vehicle_update",
        request=s.VehicleRequestSerializer,
        responses={200: s.VehicleEnvelopeSerializer, 409: s.VehicleEnvelopeSerializer},
        summary="Replace a vehicle's data (full update)",
    )
    def put(self, request: Request, departmentUUID: UUID, vehicleUUID: UUID) -> Response:
        vehicle = self.vehicle(vehicleUUID)
        data, customer, brand, warnings = _validated_vehicle(request, self.department.dealer)
        services.vehicle_update(vehicle=vehicle, data=data, customer=customer, brand=brand)
        return self.envelope(200, vehicle.uuid, warnings)


# --- packages ------------------------------------------------------------------------------------


def package_representation(priced: selectors.PricedPackage) -> dict[str, Any]:
    package = priced.package
    return {
        "packageCode": package.code,
        "description": package.description,
        "price": f"{priced.price:.2f}",
        "currencyCode": priced.currency_code,
        "labour": [
            {"laborOpCode": line.labor_op_code, "description": line.description, "soldHours": f"{line.sold_hours:.2f}"}
            for line in package.labour_lines.all()
        ],
        "parts": [
            {"partNumber": line.part_number, "description": line.description, "quantity": f"{line.quantity:.2f}"}
            for line in package.part_lines.all()
        ],
    }


class PackageListView(OrdersFamilyView):
    """``package?vin=``: the service packages that fit the vehicle, at this dealer's price."""

    required_scopes = {"GET": "order.read"}
    query_parameters = {"GET": ("vin",)}

    @extend_schema(
        operation_id="package_list",
        parameters=[OpenApiParameter("vin", OpenApiTypes.STR, required=True)],
        responses={200: OpenApiResponse(s.PackageListSerializer)},
        summary="Service packages for a vehicle, with this dealer's price",
    )
    def get(self, request: Request, departmentUUID: UUID) -> Response:
        dealer = self.department.dealer
        raw = request.query_params.get("vin", "")
        try:
            vin = normalise_vin(raw)
        except FieldRuleError as error:
            raise ApiError.of(400, error.code, f"vin {error.message}", field="vin") from None
        vehicle = selectors.vehicle_get_by_vin(dealer_id=dealer.id, vin=vin)
        brand = vehicle.brand if vehicle and vehicle.brand else vin_brand(vin)
        model = vehicle.model if vehicle else ""
        packages = [
            package_representation(priced)
            for priced in selectors.packages_priced(dealer_id=dealer.id).values()
            if priced.applies_to(brand, model)
        ]
        return self.envelope(200, results=packages)
