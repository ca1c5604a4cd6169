"""The DMS push in the back office: pushes with every attempt, the dealer's circuit, parts-order pushes.

"Resend" (here and on the repair orders' list as "Resend to DMS") goes through
``dms_adapters.services.dms_pushes_requeue``, the same path as ``orma_resend_orders``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from orders.admin import RepairOrderAdmin, dms_badge
from orma.admin import DashboardItem, DealerScopedAdmin, DealerScopedInline, dashboard_item, scope_to_dealer
from orma.outbox import OutboxStatus

from .models import DmsAttempt, DmsCircuit, DmsPush, PartsOrderPush
from .services import dms_pushes_requeue, paused_dealers


def resend_pushes(model_admin: admin.ModelAdmin, request: HttpRequest, pushes: QuerySet[DmsPush]) -> None:
    """Queue these pushes again now, with one message saying what happened."""
    queued, in_flight = dms_pushes_requeue(pushes=pushes)
    text = f"Queued {queued} order(s) for the DMS."
    if in_flight:
        text += f" {in_flight} push(es) in flight right now were left alone (they finish on their own)."
    model_admin.message_user(request, text, messages.SUCCESS if queued else messages.WARNING)


@admin.action(description="Resend to DMS", permissions=["change"])
def resend_to_dms(model_admin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> None:
    """The repair orders' action: resend the pushes of the chosen orders."""
    pushes = DmsPush.objects.filter(repair_order__in=queryset.values("pk"))
    without = queryset.count() - pushes.count()
    resend_pushes(model_admin, request, pushes)
    if without:
        model_admin.message_user(
            request, f"{without} order(s) have no DMS push (their dealer's DMS takes no repair orders).", messages.INFO
        )


RepairOrderAdmin.add_order_action(resend_to_dms)


class PausedFilter(admin.SimpleListFilter):
    """Pushes of a dealer whose DMS is paused right now (its circuit breaker is open)."""

    title = "DMS paused"
    parameter_name = "paused"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Paused (circuit open)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(paused_q()) if self.value() == "yes" else queryset


def paused_q() -> Q:
    """Pushes waiting on a paused DMS (the dashboard's count and the filter's rows)."""
    return paused_dealers(timezone.now()) & Q(status__in=[OutboxStatus.PENDING, OutboxStatus.SENDING])


class DmsAttemptInline(DealerScopedInline, admin.TabularInline):
    model = DmsAttempt
    extra = 0
    can_delete = False
    ordering = ("-number",)
    fields = ("number", "version", "started_at", "duration_ms", "outcome", "status_code", "reason", "error")
    readonly_fields = fields
    max_num = 0

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(DmsPush)
class DmsPushAdmin(DealerScopedAdmin):
    dealer_path = "dealer"
    list_display = (
        "order",
        "dealer",
        "state",
        "version",
        "pushed_version",
        "attempts",
        "next_attempt_at",
        "updated_at",
    )
    list_filter = ("status", PausedFilter)
    list_select_related = ("repair_order", "dealer")
    search_fields = ("^repair_order__order_number",)
    raw_id_fields = ("repair_order", "dealer")
    readonly_fields = (
        "order",
        "dealer",
        "status",
        "version",
        "pushed_version",
        "dms_order_uuid",
        "attempts",
        "next_attempt_at",
        "lease_until",
        "pending_since",
        "last_error",
        "created_at",
        "updated_at",
    )
    fields = readonly_fields
    inlines = [DmsAttemptInline]
    actions = ["resend"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # an order's write makes its push

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="order", ordering="repair_order__order_number")
    def order(self, push: DmsPush) -> str:
        url = reverse("admin:orders_repairorder_change", args=[push.repair_order_id])
        return format_html('<a href="{}">{}</a>', url, push.repair_order.order_number)

    @admin.display(description="status", ordering="status")
    def state(self, push: DmsPush) -> str:
        return dms_badge(push.status)

    @admin.action(description="Resend", permissions=["change"])
    def resend(self, request: HttpRequest, queryset: QuerySet[DmsPush]) -> None:
        resend_pushes(self, request, queryset)


@admin.register(DmsCircuit)
class DmsCircuitAdmin(DealerScopedAdmin):
    dealer_path = "dealer"
    list_display = ("dealer", "consecutive_failures", "open_until", "pauses", "reason", "updated_at")
    list_select_related = ("dealer",)
    readonly_fields = ("dealer", "consecutive_failures", "open_until", "pauses", "reason", "updated_at")
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PartsOrderPush)
class PartsOrderPushAdmin(DealerScopedAdmin):
    dealer_path = "dealer"
    list_display = ("parts_order", "dealer", "stage", "status", "attempts", "next_attempt_at", "updated_at")
    list_filter = ("status", "stage")
    list_select_related = ("parts_order", "dealer")
    readonly_fields = (
        "parts_order",
        "dealer",
        "stage",
        "status",
        "attempts",
        "quiet_polls",
        "next_attempt_at",
        "lease_until",
        "last_error",
        "created_at",
        "updated_at",
    )
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@dashboard_item
def dms_push_counts(request: HttpRequest) -> list[DashboardItem]:
    """Pushes that gave up (FAILED) and pushes of a DMS that is paused."""
    pushes = scope_to_dealer(DmsPush.objects.order_by(), request, "dealer")
    base = reverse("admin:dms_adapters_dmspush_changelist")
    return [
        DashboardItem(
            "DMS pushes FAILED",
            pushes.filter(status=OutboxStatus.FAILED).count(),
            f"{base}?status__exact={OutboxStatus.FAILED}",
            "error",
        ),
        DashboardItem(
            "DMS pushes paused (the DMS's circuit is open)",
            pushes.filter(paused_q()).count(),
            f"{base}?paused=yes",
        ),
    ]
