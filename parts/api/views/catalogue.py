"""``parts`` and ``parts/{partId}``: search the dealer's catalogue, and one part's details."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from orma.api.errors import ApiError, ErrorCode
from orma.api.pagination import decode_cursor
from tenancy.choices import Scope

from ... import selectors
from ...rules import PART_ID_MAX_LENGTH
from .. import serializers as s
from ..representations import part_detail, part_summary
from .base import PAGE_PARAMETERS, PartsFamilyView


def _part_id_cursor(raw: str) -> str:
    """The partId a search page's cursor carries (the page after it starts after it)."""
    [after] = decode_cursor(raw, 1)
    if not isinstance(after, str) or "\x00" in after:
        raise ApiError.of(400, ErrorCode.FIELD_INVALID, "cursor is not one this API issued", field="cursor")
    return after


class PartListView(PartsFamilyView):
    """``parts?search=&brandCode=``: search the dealer's catalogue."""

    required_scopes = {"GET": Scope.PARTS_READ}
    query_parameters = {"GET": ("search", "brandCode", "limit", "cursor")}

    @extend_schema(
        operation_id="parts_search",
        parameters=[s.PartsSearchQuerySerializer, *PAGE_PARAMETERS],
        responses={200: s.PartsPartListSerializer},
        summary="Search parts (by part id, part code or description)",
    )
    def get(self, request: Request, enterpriseId: uuid.UUID, storeId: uuid.UUID) -> Response:
        serializer = s.PartsSearchQuerySerializer(data=request.query_params.dict())
        serializer.is_valid(raise_exception=True)
        query = serializer.validated_data  # search and brand_code, as the selector names them
        return self.page(
            lambda after, limit: selectors.part_search(
                dealer_id=self.store.dealer_id, after=after, limit=limit, **query
            ),
            key=lambda part: (part.part_id,),
            decode=_part_id_cursor,
            represent=part_summary,
        )


class PartDetailView(PartsFamilyView):
    """``parts/{partId}``: part details."""

    required_scopes = {"GET": Scope.PARTS_READ}

    @extend_schema(operation_id="parts_read", responses={200: s.PartsPartDetailSerializer}, summary="Part details")
    def get(self, request: Request, enterpriseId: uuid.UUID, storeId: uuid.UUID, partId: str) -> Response:
        if "\x00" in partId or len(partId) > PART_ID_MAX_LENGTH:
            raise ApiError.of(404)  # no partId holds these; the database must not even be asked
        part = selectors.part_get(dealer_id=self.store.dealer_id, part_id=partId)
        if part is None:
            raise ApiError.of(404)
        return Response(part_detail(part))
