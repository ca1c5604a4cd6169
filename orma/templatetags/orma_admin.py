"""The dashboard's counts in the admin index (``templates/admin/index.html``)."""

from __future__ import annotations

from typing import Any

from django import template

from orma.admin import DashboardItem, dashboard_items, staff_dealer

register = template.Library()


@register.simple_tag(takes_context=True)
def orma_dashboard(context: dict[str, Any]) -> dict[str, Any]:
    """What needs attention, for the user's dealer (every dealer for a superuser)."""
    request = context["request"]
    items: list[DashboardItem] = dashboard_items(request)
    return {"items": items, "dealer": staff_dealer(request), "everyone": request.user.is_superuser}
