"""What every view of the orders family shares: the department, request validation, the envelope."""

from __future__ import annotations

from typing import Any, ClassVar

from rest_framework.response import Response

from orma.api.errors import order_envelope
from orma.api.views import PartnerAPIView
from tenancy.models import Department

from ..serializers import OrdersRequestSerializer


class OrdersFamilyView(PartnerAPIView):
    """A view of the orders family: answers seed 001's envelope, takes requests through serializers."""

    query_parameters: ClassVar[dict[str, tuple[str, ...]] | None] = {}  # none unless a view lists them

    @property
    def department(self) -> Department:
        """The department of the path, as the grant that lets the partner in holds it (dealer loaded)."""
        return self.request.grant.department  # type: ignore[attr-defined]

    def validated(self, serializer_class: type[OrdersRequestSerializer], data: Any, **context: Any) -> Any:
        """``data`` through the request serializer; a refusal raises the rules' DomainError (the envelope)."""
        serializer = serializer_class(data=data, context={"department": self.department, **context})
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def envelope(self, status: int, subject_uuid: Any = None, warnings: Any = (), **data: Any) -> Response:
        """Seed 001's envelope with ``data`` beside its keys (``order``, ``results``, ``next`` ...)."""
        body = order_envelope(
            status=status,
            path=self.request.path,
            warnings=warnings,
            subject_uuid=str(subject_uuid) if subject_uuid else None,
        )
        body.update(data)
        return Response(body, status=status)
