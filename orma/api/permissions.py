"""Authorisation: the department in the path decides, for every view of every family.

No grant on the department answers 404 exactly like a department that does not exist (no existence
leak); a grant without the scope the method needs answers 403 naming the scope.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from tenancy.selectors import PartnerCredentials, grant_get_cached, partner_holds_scope_cached

from .errors import ApiError, ErrorCode


def missing_scope(scope: str, where: str) -> ApiError:
    """403 naming the scope the partner lacks and where, so its developer knows which grant to ask for."""
    return ApiError.of(
        403, ErrorCode.FORBIDDEN, f"The partner lacks the scope {scope} {where}; ask the dealer for a grant with it."
    )


def path_department(request: Request) -> str | None:
    """The department the path names (``departmentUUID``, or ``storeId`` under ``enterpriseId``), as text."""
    kwargs = (request.parser_context or {}).get("kwargs") or {}
    department = kwargs.get("departmentUUID") or kwargs.get("storeId")
    return None if department is None else str(department)


def needs_grant(request: Request) -> bool:
    """Whether the permission will look at a grant: the path names a department, or the view needs a scope."""
    context = request.parser_context or {}
    if path_department(request) is not None:
        return True
    view = context.get("view")
    return getattr(view, "required_scopes", {}).get(request.method) is not None


class DepartmentScopePermission(BasePermission):
    """Needs ``view.required_scopes[method]`` on the department named by the path.

    The department comes from ``departmentUUID`` (orders) or ``storeId`` under ``enterpriseId`` (parts).
    A view without a department in its path (notifications) needs the scope on at least one department.
    The grant is kept on the request (``request.grant``) for the view: when the cache entry authentication
    read is current, a Grant with its department and dealer built from it, without a query.
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        partner: PartnerCredentials | None = request.user  # type: ignore[assignment]
        if partner is None:
            raise exceptions.NotAuthenticated()
        scope = getattr(view, "required_scopes", {}).get(request.method)
        kwargs = view.kwargs
        department_uuid = kwargs.get("departmentUUID") or kwargs.get("storeId")
        access = getattr(request._request, "orma_access", None)
        cached, generation = (access.grant, access.generation) if access is not None else (None, None)
        if department_uuid is None:
            if scope is None:
                return True
            if not partner_holds_scope_cached(partner=partner, scope=scope, cached=cached, generation=generation):
                raise missing_scope(scope, "on any department")
            return True
        grant = grant_get_cached(
            partner=partner,
            department_uuid=department_uuid,
            dealer_uuid=kwargs.get("enterpriseId"),
            cached=cached,
            generation=generation,
        )
        if grant is None:
            raise exceptions.NotFound()
        request.grant = grant  # type: ignore[attr-defined]
        if scope is not None and scope not in grant.scopes:
            raise missing_scope(scope, f"on department {department_uuid}")
        return True
