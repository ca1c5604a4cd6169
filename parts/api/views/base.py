"""What every view of the parts family shares: the store the grant names, the page parameters."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.response import Response

from orma.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, keyset_page
from orma.api.views import PartnerAPIView
from tenancy.models import Department

from ..examples import PARAMETER_DOCS
from ..representations import page_json

PAGE_PARAMETERS = [
    OpenApiParameter("limit", OpenApiTypes.INT, description=f"1 to {MAX_LIMIT}, default {DEFAULT_LIMIT}"),
    OpenApiParameter("cursor", OpenApiTypes.STR, description="the opaque cursor of a previous page's next"),
]


class PartsFamilyView(PartnerAPIView):
    """A parts family view: the store (department) of the grant, and the context its request serializers read."""

    query_parameters: ClassVar[dict[str, tuple[str, ...]] | None] = {}  # every view names its own
    parameter_docs = PARAMETER_DOCS  # what each parameter means, and the demo value "Try it out" sends

    @property
    def store(self) -> Department:
        """The store of the URL, as the grant checked it (a department of the enterprise's dealer)."""
        return self.request.grant.department

    def serializer_context(self) -> dict[str, Any]:
        """What the request serializers' rules need: the store, and through it the dealer."""
        return {"store": self.store}

    def page(
        self,
        fetch: Callable[[Any, int], list[Any]],
        *,
        key: Callable[[Any], Sequence[Any]],
        decode: Callable[[str], Any],
        represent: Callable[[Any], dict[str, Any]],
    ) -> Response:
        """One page of a list (``keyset_page``: ``limit``, ``cursor``, the next URL), each row represented."""
        page, next_url = keyset_page(self.request, fetch=fetch, key=key, decode=decode, represent=represent)
        return Response(page_json(page, next_url))
