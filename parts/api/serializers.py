"""Serializers of the parts family (``/parts-api/{enterpriseId}/{storeId}/v1/``).

Every request body and query enters through one of the request serializers here (``RequestSerializer``,
DRF's ``is_valid()`` idiom). They check the shape first (types, lengths, enums, required fields): any
problem there is answered at once, in one 400. Only a well-shaped request reaches ``validate()``, which
runs the dealer's rules (``parts.services.parts_order_check``, ``parts.selectors.basket_check``: the
customers and parts exist, quantities, vehicle references, orderReference ...), again every problem in
one 400, and hands the view what they loaded. Response serializers document the bodies built by
:mod:`parts.api.representations`; they are not used to render.
"""

from __future__ import annotations

import re
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from orders.api.serializers import DmsStateSerializer
from orma.api.serializers import (
    RequestSerializer,
    StrictFieldsMixin,
    StrictRequestSerializer,
    unknown_field_errors,
)
from orma.errors import Problem

from .. import rules, selectors, services
from ..choices import Availability, PartsOrderLineStatus, PartsOrderStatus, PartsOrderType, UnitOfMeasure, WeightUnit
from ..filters import PartsOrderFilterSet
from ..models import PartsOrder
from ..rules import BRAND_CODE_MAX_LENGTH, MAX_BASKET, MAX_LINES, MAX_QUANTITY, PART_ID_MAX_LENGTH


class EnumRefField(serializers.ChoiceField):
    """A choice field documented as a named enum component (seed 002's ``Parts Order Type`` and friends).

    Named explicitly rather than after the property: ``orderType`` would otherwise take the name of the
    repair orders' ``OrderTypeEnum``.
    """

    def __init__(self, component_name: str, choices: Any, **kwargs: Any) -> None:
        self.component_name = component_name
        kwargs.setdefault("error_messages", {"invalid_choice": rules.not_one_of("{input}", choices)})
        super().__init__(choices=choices.values, **kwargs)


class EnumRefFieldExtension(OpenApiSerializerFieldExtension):
    """Renders :class:`EnumRefField` as a ``$ref`` to its named enum component."""

    target_class = "parts.api.serializers.EnumRefField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        field = self.target
        component = ResolvedComponent(
            name=field.component_name,
            type=ResolvedComponent.SCHEMA,
            object=field.component_name,
            schema={"type": "string", "enum": list(field.choices)},
        )
        auto_schema.registry.register_on_missing(component)
        return component.ref


def _money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=16, decimal_places=4, coerce_to_string=False, **kwargs)


# --- requests -----------------------------------------------------------------------------------

_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
SEARCH_MAX_LENGTH = 100  # longer search text is cut, not refused


class PartsOrderPartRefSerializer(StrictFieldsMixin, serializers.Serializer):
    """The part of an order line: ``partId``, or ``brandCode`` with ``partCode``."""

    partId = serializers.CharField(max_length=PART_ID_MAX_LENGTH, required=False)
    brandCode = serializers.CharField(max_length=BRAND_CODE_MAX_LENGTH, required=False)
    partCode = serializers.CharField(max_length=50, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("partId") and not (attrs.get("brandCode") and attrs.get("partCode")):
            raise serializers.ValidationError({"partId": "partId, or brandCode with partCode, is required"})
        return attrs


class PartsVehicleReferenceSerializer(StrictFieldsMixin, serializers.Serializer):
    """A mandatory vehicle reference, e.g. ``{"type": "KEYNUMBER", "value": "AO339223X/2926"}``."""

    type = serializers.CharField(max_length=30)
    value = serializers.CharField(max_length=100)


class PartsOrderLineRequestSerializer(StrictFieldsMixin, serializers.Serializer):
    part = PartsOrderPartRefSerializer()
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY, help_text="a multiple of the unit of sale")
    mandatoryVehicleReferences = PartsVehicleReferenceSerializer(many=True, required=False, max_length=20)


class PartsOrderContactSerializer(StrictFieldsMixin, serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=50, required=False, allow_blank=True)
    email = serializers.CharField(max_length=200, required=False, allow_blank=True)
    companyName = serializers.CharField(max_length=200, required=False, allow_blank=True)


class PartsAddressSerializer(StrictFieldsMixin, serializers.Serializer):
    """A delivery address; when given, all four fields are required (postalCode may be sent as a number)."""

    streetName = serializers.CharField(max_length=200, required=False, allow_blank=True)
    postalCode = serializers.CharField(max_length=20, required=False, allow_blank=True)
    city = serializers.CharField(max_length=200, required=False, allow_blank=True)
    countryCode = serializers.CharField(max_length=2, required=False, allow_blank=True, help_text="ISO 3166-1")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not any(value.strip() for value in attrs.values()):
            return {}  # left blank: the customer's invoice address applies
        errors = {name: "is required in a delivery address" for name in self.fields if not attrs.get(name, "").strip()}
        if attrs.get("countryCode") and not _COUNTRY.match(attrs["countryCode"]):
            errors["countryCode"] = "must be a two-letter ISO 3166-1 code"
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class PartsOrderCreateSerializer(StrictRequestSerializer):
    """Seed 002's ``PartsOrderCreateRequest``: unknown fields are refused, every problem answered at once."""

    item_fields = ("parts",)

    customerId = serializers.UUIDField(help_text="a customer of this dealer (customerUUID)")
    companyId = serializers.UUIDField(required=False, allow_null=True, help_text="a customer of this dealer")
    orderContact = PartsOrderContactSerializer(required=False, allow_null=True)
    alternateDeliveryAddress = PartsAddressSerializer(
        required=False, allow_null=True, help_text="without it, the customer's invoice address"
    )
    orderType = EnumRefField("PartsOrderTypeEnum", PartsOrderType)
    orderReference = serializers.CharField(
        max_length=100, required=False, allow_blank=True, allow_null=True, help_text="required by some dealers"
    )
    parts = PartsOrderLineRequestSerializer(many=True, min_length=1, max_length=MAX_LINES)

    def check(self, attrs: dict[str, Any], shape_problems: list[Problem]) -> dict[str, Any]:
        """The dealer's rules on what parsed; ``checked`` is what ``parts_order_place`` takes."""
        checked = services.parts_order_check(
            store=self.context["store"], request=self.parts_order_request(attrs), partial=bool(shape_problems)
        )
        return {**attrs, "checked": checked}

    @staticmethod
    def parts_order_request(attrs: dict[str, Any]) -> rules.PartsOrderRequest:
        """The body's fields as the rules read them (a field with a problem is absent)."""
        return rules.PartsOrderRequest(
            customer_uuid=attrs.get("customerId"),
            company_uuid=attrs.get("companyId"),
            order_type=attrs.get("orderType"),
            order_reference=(attrs.get("orderReference") or "").strip(),
            contact={k: v for k, v in (attrs.get("orderContact") or {}).items() if v},
            delivery_address=attrs.get("alternateDeliveryAddress") or None,
            lines=[
                rules.RequestedLine(
                    quantity=line["quantity"],
                    part_id=line["part"].get("partId"),
                    brand_code=line["part"].get("brandCode"),
                    part_code=line["part"].get("partCode"),
                    vehicle_references=tuple(line.get("mandatoryVehicleReferences", ())),
                    index=index,
                )
                for index, line in attrs.get("parts", ())
            ],
        )


class PartsOrderListQuerySerializer(RequestSerializer):
    """``GET parts-orders``' filters: the store's orders they select (``limit`` and ``cursor`` are the page's).

    No declared fields: the FilterSet (``parts.filters``) reads the raw query values, so its messages name
    them as sent.
    """

    def to_internal_value(self, data: Any) -> QuerySet[PartsOrder]:
        orders = selectors.parts_orders(department_id=self.context["store"].id)
        return PartsOrderFilterSet(data, queryset=orders).filtered()


class PartsSearchQuerySerializer(RequestSerializer):
    """The query of ``GET parts``: search text and brand code, both optional (``limit``, ``cursor``: the page's)."""

    search = serializers.CharField(
        required=False, allow_blank=True, help_text="start of a partId or partCode, or description"
    )
    brandCode = serializers.CharField(source="brand_code", required=False, allow_blank=True)

    def validate_search(self, value: str) -> str:
        return value[:SEARCH_MAX_LENGTH]

    def validate_brandCode(self, value: str) -> str:
        return rules.brand_code(value[:BRAND_CODE_MAX_LENGTH])


class PartsBasketItemSerializer(serializers.Serializer):
    partId = serializers.CharField(max_length=PART_ID_MAX_LENGTH)
    quantity = serializers.IntegerField(
        min_value=1, max_value=MAX_QUANTITY, default=1, help_text="priced as the next multiple of the unit of sale"
    )


_BASKET_ITEM_FIELDS = ("partId", "quantity")
_BASKET_ITEM_KEYS = frozenset(_BASKET_ITEM_FIELDS)


@extend_schema_field(PartsBasketItemSerializer(many=True))
class BasketItemsField(serializers.Field):
    """The basket's parts, checked in a plain loop: the same rules as :class:`PartsBasketItemSerializer`
    (documented by it), at a fraction of the cost of a nested serializer per item for 200 items."""

    default_error_messages = {
        "not_a_list": "Expected a list of parts.",
        "length": f"A basket holds 1 to {MAX_BASKET} parts.",
    }

    def to_internal_value(self, data: Any) -> list[dict[str, Any]]:
        if not isinstance(data, list):
            self.fail("not_a_list")
        if not 1 <= len(data) <= MAX_BASKET:
            self.fail("length")
        items, errors, failed = [], [], False
        for item in data:
            problems: dict[str, Any] = {}
            part_id = item.get("partId") if isinstance(item, dict) else None
            quantity = item.get("quantity", 1) if isinstance(item, dict) else None
            if not isinstance(item, dict):
                problems["partId"] = "Expected an object with partId and quantity."
            # A string, as the schema says (a number is refused, not read as one: "0" and 0 are not the same id).
            elif not isinstance(part_id, str) or part_id == "":
                problems["partId"] = "This field is required." if part_id in ("", None) else "Not a valid string."
            elif len(part_id) > PART_ID_MAX_LENGTH or "\x00" in part_id:
                problems["partId"] = f"Ensure this field has no more than {PART_ID_MAX_LENGTH} characters and no NUL."
            if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY:
                problems["quantity"] = f"A whole number from 1 to {MAX_QUANTITY} is required."
            if isinstance(item, dict) and not item.keys() <= _BASKET_ITEM_KEYS:  # the common item has no other key
                problems.update(unknown_field_errors(item, _BASKET_ITEM_FIELDS))
            errors.append(problems)
            failed = failed or bool(problems)
            if not problems:
                items.append({"partId": part_id, "quantity": quantity})
        if failed:
            raise serializers.ValidationError(errors)
        return items

    def to_representation(self, value: Any) -> Any:
        return value


class _PriceAvailabilityRequestSerializer(RequestSerializer):
    """What both price & availability requests share: their rules (``selectors.basket_check``)."""

    def with_basket(
        self,
        attrs: dict[str, Any],
        items: list[selectors.BasketItem],
        part_fields: list[str],
        unknown_parts_refused: bool = True,
    ) -> dict[str, Any]:
        """The request's fields with ``basket``: the checked items, the customer pricing them, their catalogue."""
        basket = selectors.basket_check(
            store=self.context["store"],
            items=items,
            customer_uuid=attrs.get("customerId"),
            order_type=attrs.get("orderType"),
            part_fields=part_fields,
            unknown_parts_refused=unknown_parts_refused,
        )
        return {**attrs, "basket": basket}


class PartsBasketSerializer(StrictRequestSerializer, _PriceAvailabilityRequestSerializer):
    """A basket: up to 200 parts, priced for the customer when ``customerId`` is given. Unknown fields are
    refused; a part the catalogue lacks is no error: its line answers NOT_FOUND."""

    customerId = serializers.UUIDField(required=False, allow_null=True)
    orderType = EnumRefField("PartsOrderTypeEnum", PartsOrderType, required=False, allow_null=True)
    parts = BasketItemsField()

    def check(self, attrs: dict[str, Any], shape_problems: list[Problem]) -> dict[str, Any]:
        items = [selectors.BasketItem(item["partId"], item["quantity"]) for item in attrs.get("parts", ())]
        fields = [f"parts[{index}].partId" for index in range(len(items))]
        return self.with_basket(attrs, items, fields, unknown_parts_refused=False)


class PartsPriceAvailabilityQuerySerializer(_PriceAvailabilityRequestSerializer):
    """The query of ``GET price-availability``."""

    partId = serializers.CharField(max_length=PART_ID_MAX_LENGTH)
    quantity = serializers.IntegerField(
        min_value=1, max_value=MAX_QUANTITY, default=1, help_text="priced as the next multiple of the unit of sale"
    )
    customerId = serializers.UUIDField(required=False)
    orderType = EnumRefField("PartsOrderTypeEnum", PartsOrderType, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return self.with_basket(attrs, [selectors.BasketItem(attrs["partId"], attrs["quantity"])], ["partId"])


# --- responses ----------------------------------------------------------------------------------


class PartsPriceSerializer(serializers.Serializer):
    """Seed 002's price: net, gross and tax, rounded half-up to the currency's minor unit."""

    netValue = _money()
    grossValue = _money()
    taxValue = _money()
    taxRate = serializers.DecimalField(max_digits=5, decimal_places=2, coerce_to_string=False, help_text="percent")
    currencyCode = serializers.CharField(help_text="ISO 4217")


class PartsUnitOfMeasureSerializer(serializers.Serializer):
    unit = EnumRefField("PartsUnitOfMeasureEnum", UnitOfMeasure)
    value = serializers.DecimalField(max_digits=10, decimal_places=3, coerce_to_string=False)


class PartsPartRefSerializer(serializers.Serializer):
    partId = serializers.CharField()
    brandCode = serializers.CharField()
    partCode = serializers.CharField()
    description = serializers.CharField()


class PartsPartSummarySerializer(PartsPartRefSerializer):
    unitOfSale = serializers.IntegerField()
    listPrice = PartsPriceSerializer(help_text="per unit")
    supersededBy = serializers.CharField(allow_null=True, help_text="the direct successor's partId")


class PartsPartListSerializer(serializers.Serializer):
    results = PartsPartSummarySerializer(many=True)
    next = serializers.URLField(allow_null=True)


class PartsWeightSerializer(serializers.Serializer):
    value = serializers.DecimalField(max_digits=10, decimal_places=3, coerce_to_string=False)
    unit = serializers.ChoiceField(choices=WeightUnit.values)


class PartsPartDetailSerializer(PartsPartRefSerializer):
    """Part details: description, weight, units, list price, supersession both ways, alternatives."""

    weight = PartsWeightSerializer(allow_null=True)
    unitOfMeasure = PartsUnitOfMeasureSerializer()
    unitOfSale = serializers.IntegerField()
    listPrice = PartsPriceSerializer(help_text="per unit")
    discountGroup = serializers.CharField(allow_null=True)
    supersededBy = PartsPartRefSerializer(allow_null=True, help_text="the direct successor")
    supersedes = PartsPartRefSerializer(many=True, help_text="the parts this one replaces")
    alternatives = PartsPartRefSerializer(many=True)
    mandatoryVehicleReferences = serializers.ListField(child=serializers.CharField())


class PartsAlternativeSerializer(PartsPartRefSerializer):
    availableQuantity = serializers.IntegerField()
    availability = EnumRefField("PartsAvailabilityEnum", Availability)


class PartsSupersessionSerializer(serializers.Serializer):
    """How a requested part is superseded: the chain followed and where it ends (or that it loops)."""

    supersededBy = serializers.CharField(allow_null=True, help_text="the final successor; null on a cycle")
    chain = serializers.ListField(child=serializers.CharField(), help_text="partIds from the requested part on")
    cycle = serializers.BooleanField(help_text="the chain loops: the data needs the dealer's attention")


class PartsPriceAvailabilitySerializer(serializers.Serializer):
    """Price & availability of one requested part (the final successor's when it is superseded)."""

    partId = serializers.CharField(help_text="as requested")
    quantity = serializers.IntegerField(help_text="as requested")
    pricedQuantity = serializers.IntegerField(
        help_text="what was priced and checked: the quantity rounded up to a multiple of the unit of sale, "
        "as an order of it must be (5 of a part sold in sixes: 6)"
    )
    part = PartsPartRefSerializer(help_text="the part that would be supplied")
    supersession = PartsSupersessionSerializer(allow_null=True)
    unitOfMeasure = PartsUnitOfMeasureSerializer()
    unitOfSale = serializers.IntegerField()
    listPrice = PartsPriceSerializer(help_text="per unit")
    customerPrice = PartsPriceSerializer(help_text="per unit, the customer's discount applied")
    discountPercent = serializers.DecimalField(max_digits=5, decimal_places=2, coerce_to_string=False)
    surcharge = PartsPriceSerializer(allow_null=True, help_text="the order type's surcharge on the line")
    totalPrice = PartsPriceSerializer(help_text="customer price × priced quantity + surcharge")
    availableQuantity = serializers.IntegerField()
    availability = EnumRefField("PartsAvailabilityEnum", Availability)
    alternatives = PartsAlternativeSerializer(many=True)
    mandatoryVehicleReferences = serializers.ListField(
        child=serializers.CharField(), help_text="reference types an order of this part must carry"
    )


class PartsBasketLineSerializer(PartsPriceAvailabilitySerializer):
    """A basket's line: price & availability of the part, or, for a part the dealer's catalogue does not
    hold, ``availability`` NOT_FOUND with ``issue`` saying so and null where there is nothing to tell."""

    pricedQuantity = serializers.IntegerField(allow_null=True)
    part = PartsPartRefSerializer(allow_null=True, help_text="the part that would be supplied")
    unitOfMeasure = PartsUnitOfMeasureSerializer(allow_null=True)
    unitOfSale = serializers.IntegerField(allow_null=True)
    listPrice = PartsPriceSerializer(allow_null=True, help_text="per unit")
    customerPrice = PartsPriceSerializer(allow_null=True, help_text="per unit, the customer's discount applied")
    discountPercent = serializers.DecimalField(max_digits=5, decimal_places=2, coerce_to_string=False, allow_null=True)
    totalPrice = PartsPriceSerializer(allow_null=True, help_text="customer price × priced quantity + surcharge")
    issue = serializers.CharField(allow_null=True, help_text="why a line is NOT_FOUND; null otherwise")


class PartsBasketResultSerializer(serializers.Serializer):
    customerId = serializers.UUIDField(allow_null=True)
    orderType = EnumRefField("PartsOrderTypeEnum", PartsOrderType, allow_null=True)
    parts = PartsBasketLineSerializer(many=True, help_text="one line per requested part, in the request's order")


class PartsOrderCustomerSerializer(serializers.Serializer):
    customerId = serializers.UUIDField()
    familyName = serializers.CharField()
    givenName = serializers.CharField()
    titleCommon = serializers.CharField()


class PartsOrderCompanySerializer(serializers.Serializer):
    companyId = serializers.UUIDField()
    name = serializers.CharField()


class PartsOrderLineSerializer(serializers.Serializer):
    """Seed 002's ``PartsOrderLine`` (prices per unit at order time), plus the supersession and totals."""

    orderLineId = serializers.UUIDField()
    partId = serializers.CharField(help_text="the part supplied")
    supersededPartId = serializers.CharField(allow_null=True, help_text="the part requested, when superseded")
    quantity = serializers.IntegerField()
    unitOfMeasure = PartsUnitOfMeasureSerializer()
    unitOfSale = serializers.IntegerField()
    partsOrderLineStatus = EnumRefField("PartsOrderLineStatusEnum", PartsOrderLineStatus)
    mandatoryVehicleReference = PartsVehicleReferenceSerializer(allow_null=True, help_text="the first of the list")
    mandatoryVehicleReferences = PartsVehicleReferenceSerializer(many=True)
    listPrice = PartsPriceSerializer(help_text="per unit")
    orderPrice = PartsPriceSerializer(help_text="per unit, the customer's price at order time")
    surcharge = PartsPriceSerializer(allow_null=True)
    totalPrice = PartsPriceSerializer(help_text="order price × quantity + surcharge")


PARTS_ORDER_ID_HELP = "the parts order's number (seed 002: an integer), unique across OrMa"


class PartsOrderSerializer(serializers.Serializer):
    """Seed 002's ``PartsOrder`` (the 201 body and the read); ``parts`` is a list."""

    partsOrderId = serializers.IntegerField(min_value=1, help_text=PARTS_ORDER_ID_HELP)
    partsOrderDateTime = serializers.CharField(help_text="UTC, e.g. 2019-07-21T17:32:28.000Z")
    orderStatus = EnumRefField("PartsOrderStatusEnum", PartsOrderStatus)
    customer = PartsOrderCustomerSerializer()
    company = PartsOrderCompanySerializer(allow_null=True)
    orderContact = PartsOrderContactSerializer(allow_null=True)
    deliveryAddress = PartsAddressSerializer()
    orderType = EnumRefField("PartsOrderTypeEnum", PartsOrderType)
    orderReference = serializers.CharField(allow_null=True)
    parts = PartsOrderLineSerializer(many=True)
    dms = DmsStateSerializer(help_text="where the order stands with the dealer's DMS (OrMa's addition)")


class PartsOrderAcceptedSerializer(serializers.Serializer):
    """Seed 002's 202 body: the order is stored and completes in the background."""

    partsOrderId = serializers.IntegerField(min_value=1, help_text=PARTS_ORDER_ID_HELP)


class PartsOrderListSerializer(serializers.Serializer):
    results = PartsOrderSerializer(many=True)
    next = serializers.URLField(allow_null=True)
