"""What every view of the orders family shares: the department, request validation, the envelope."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.request import Request
from rest_framework.response import Response

from orma.api.errors import ApiError, order_envelope
from orma.api.views import PartnerAPIView
from tenancy.models import Department

from ..examples import PARAMETER_DOCS
from ..serializers import OrdersRequestSerializer

T = TypeVar("T")
View = TypeVar("View", bound=type)


class OrdersFamilyView(PartnerAPIView):
    """A view of the orders family: answers seed 001's envelope, takes requests through serializers."""

    parameter_docs = PARAMETER_DOCS  # what each parameter means, and the demo value "Try it out" sends

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

    def found(self, row: T | None) -> T:
        """The row a path names, or 404 (another dealer's row is as unknown as a missing one)."""
        if row is None:
            raise ApiError.of(404)
        return row


class CreatingView(OrdersFamilyView):
    """A collection that creates by PUT (seed 001) and, the same way, by POST."""

    def post(self, request: Request, departmentUUID: UUID) -> Response:
        return self.put(request, departmentUUID)  # type: ignore[attr-defined]  # each subclass's create


def creation_schema(
    *,
    operation_id: str,
    summary: str,
    post_summary: str,
    examples: Any = (),
    post_examples: Any = None,
    **schema: Any,
) -> Callable[[View], View]:
    """Document a :class:`CreatingView`'s PUT and its POST twin (``<operation_id>_post``), alike but for the
    summary and, where a create answers 201 only once, the example."""
    return extend_schema_view(
        put=extend_schema(operation_id=operation_id, summary=summary, examples=list(examples), **schema),
        post=extend_schema(
            operation_id=f"{operation_id}_post",
            summary=post_summary,
            examples=list(examples if post_examples is None else post_examples),
            **schema,
        ),
    )
