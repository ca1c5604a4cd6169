"""Webhooks in the back office: partners' subscriptions and the delivery log, with "Redeliver".

Staff see the subscriptions covering one of their dealer's departments and the deliveries of their
dealer's events, read-only; "Redeliver" puts deliveries back on the outbox with the same ``webhook-id``
(``notifications.delivery.deliveries_requeue``). Secrets are never shown.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse

from orma.admin import DashboardItem, DealerScopedAdmin, DealerScopedInline, dashboard_item, scope_to_dealer

from .models import Delivery, DeliveryAttempt, Subscription, SubscriptionNotice


def failing_or_disabled() -> Q:
    """Subscriptions that need a look: failing since their last success, or disabled."""
    return Q(failing_since__isnull=False) | Q(enabled=False)


class HealthFilter(admin.SimpleListFilter):
    title = "health"
    parameter_name = "health"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("attention", "Failing or disabled"), ("failing", "Failing"), ("disabled", "Disabled")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> QuerySet[Subscription]:
        value = self.value()
        if value == "attention":
            return queryset.filter(failing_or_disabled())
        if value == "failing":
            return queryset.filter(enabled=True, failing_since__isnull=False)
        if value == "disabled":
            return queryset.filter(enabled=False)
        return queryset


class NoticeInline(DealerScopedInline, admin.TabularInline):
    model = SubscriptionNotice
    extra = 0
    can_delete = False
    fields = ("at", "kind", "message")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Subscription)
class SubscriptionAdmin(DealerScopedAdmin):
    dealer_path = "departments__dealer"  # many departments: scoped through a subquery (no repeated rows)
    list_display = ("url", "partner", "event_types", "payload_form", "enabled", "failing_since", "last_success_at")
    list_filter = ("enabled", "payload_form", HealthFilter)
    list_select_related = ("partner",)
    search_fields = ("^url", "=uuid", "^partner__username")
    fields = (
        "uuid",
        "partner",
        "url",
        "event_types",
        "departments",
        "payload_form",
        "enabled",
        "disabled_at",
        "disabled_reason",
        "last_success_at",
        "failing_since",
        "previous_secret_until",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields  # the partner's own (its API); the signing secret is never shown
    inlines = [NoticeInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AttemptInline(DealerScopedInline, admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ("number", "started_at", "duration_ms", "status_code", "succeeded", "error", "response_excerpt")
    readonly_fields = fields
    ordering = ("-number",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="response (start)")
    def response_excerpt(self, attempt: DeliveryAttempt) -> str:
        return attempt.response_body[:300]


@admin.register(Delivery)
class DeliveryAdmin(DealerScopedAdmin):
    dealer_path = "event__department__dealer"
    list_display = ("webhook_id", "event_type", "subject_key", "subscription", "status", "attempts", "created_at")
    list_filter = ("status", "event_type")
    list_select_related = ("subscription", "event")
    search_fields = ("=subject_key", "=uuid")
    search_help_text = "The object (order:<uuid>, parts_order:<uuid>) or the delivery's UUID, exactly."
    fields = (
        "uuid",
        "event",
        "subscription",
        "event_type",
        "subject_key",
        "status",
        "attempts",
        "next_attempt_at",
        "pending_since",
        "delivered_at",
        "last_error",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields
    inlines = [AttemptInline]
    actions = ["redeliver"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Redeliver (same webhook-id)", permissions=["change"])
    def redeliver(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        from .delivery import deliveries_requeue

        chosen = queryset.count()
        queued = deliveries_requeue(queryset)
        text = f"Queued {queued} deliver{'y' if queued == 1 else 'ies'} again."
        if chosen > queued:
            text += f" {chosen - queued} being sent right now were left alone."
        self.message_user(request, text, messages.SUCCESS if queued else messages.WARNING)


@dashboard_item
def subscription_counts(request: HttpRequest) -> list[DashboardItem]:
    """Subscriptions failing or disabled."""
    subscriptions = scope_to_dealer(Subscription.objects.order_by(), request, "departments__dealer")
    url = reverse("admin:notifications_subscription_changelist") + "?health=attention"
    return [
        DashboardItem("Subscriptions failing or disabled", subscriptions.filter(failing_or_disabled()).count(), url)
    ]
