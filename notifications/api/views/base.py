"""What every view of the notification family shares: the scope, the body check, finding the partner's rows."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter
from rest_framework.request import Request
from rest_framework.response import Response

from orma.api.errors import ApiError
from orma.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, keyset_page
from orma.api.views import PartnerAPIView
from tenancy.choices import Scope

from ... import selectors
from ...demo import DEMO_DELIVERY_UUID, DEMO_SUBSCRIPTION_UUID
from ...models import Delivery, Subscription
from ..representations import page_json
from ..serializers import StrictRequestSerializer

PAGE_PARAMETERS = [
    OpenApiParameter("limit", OpenApiTypes.INT, description=f"1 to {MAX_LIMIT}, default {DEFAULT_LIMIT}"),
    OpenApiParameter("cursor", OpenApiTypes.STR, description="the opaque cursor of a previous page's next"),
]
SUBSCRIPTION_ID = OpenApiParameter(
    "subscriptionId",
    OpenApiTypes.UUID,
    OpenApiParameter.PATH,
    description="the subscription's id, as its create answered it; demo: the demo partner's subscription",
    examples=[OpenApiExample("the demo subscription", value=str(DEMO_SUBSCRIPTION_UUID))],
)
DELIVERY_ID = OpenApiParameter(
    "deliveryId",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="the delivery's id, or its webhook-id (msg_<hex>); demo: a failed ping in the demo log",
    examples=[OpenApiExample("the demo delivery", value=str(DEMO_DELIVERY_UUID))],
)
ALL_METHODS = ("GET", "POST", "PATCH", "DELETE")


class NotificationFamilyView(PartnerAPIView):
    """A notification view: ``notification.manage`` on at least one department, the partner's rows only."""

    required_scopes: ClassVar[dict[str, str]] = {method: Scope.NOTIFICATION_MANAGE for method in ALL_METHODS}
    query_parameters: ClassVar[dict[str, tuple[str, ...]] | None] = {}  # none unless a view lists them

    @property
    def partner_id(self) -> int:
        return self.request.user.id  # type: ignore[union-attr]

    def validated(self, serializer_class: type[StrictRequestSerializer], data: Any) -> Any:
        """``data`` through the request serializer; a refusal raises every problem at once (400)."""
        serializer = serializer_class(data=data, context={"partner_id": self.partner_id})
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def body(self, request: Request) -> Any:
        """The JSON body; an empty one reads as ``{}`` (the actions take no fields)."""
        return request.data if request._request.body else {}

    def subscription(self, raw_id: str, *, with_notices: bool = False) -> Subscription:
        """The partner's subscription of the path, or the 404 of a missing one (malformed ids alike)."""
        try:
            subscription_uuid = uuid.UUID(raw_id)
        except ValueError:
            raise ApiError.of(404) from None
        subscription = selectors.subscription_get(
            partner_id=self.partner_id, subscription_uuid=subscription_uuid, with_notices=with_notices
        )
        if subscription is None:
            raise ApiError.of(404)
        return subscription

    def delivery(self, raw_id: str, *, with_attempts: bool = False) -> Delivery:
        """The partner's delivery of the path (by id or webhook-id), or the 404 of a missing one."""
        delivery_uuid = selectors.webhook_uuid(raw_id)
        delivery = (
            selectors.delivery_get(partner_id=self.partner_id, delivery_uuid=delivery_uuid, with_attempts=with_attempts)
            if delivery_uuid is not None
            else None
        )
        if delivery is None:
            raise ApiError.of(404)
        return delivery

    def page(
        self,
        fetch: Callable[[Any, int], list[Any]],
        *,
        key: Callable[[Any], Sequence[Any]],
        decode: Callable[[str], Any],
        represent: Callable[[Any], dict[str, Any]],
    ) -> Response:
        """One page of a list (``keyset_page``: ``limit``, ``cursor``, the next URL), each row represented."""
        rows, next_url = keyset_page(self.request, fetch=fetch, key=key, decode=decode)
        return Response(page_json([represent(row) for row in rows], next_url))
