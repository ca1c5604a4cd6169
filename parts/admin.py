"""Admin of the parts catalogue, stock, discounts, surcharges and parts orders.

A parts order is the partner's: its page shows it readably (its identifier, the customer and delivery as
names and addresses, each line's prices) and lets staff change only its line statuses, each through
``parts.services.parts_order_line_status_change`` (stock, derived order status, history, the
``parts_order.status_changed`` event), never a bare save. Each outcome gets one message: a change that
cannot be made is refused on the form (a final line) or by the service (stock), and then no "changed
successfully" follows.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Exists, OuterRef, QuerySet
from django.forms import BaseInlineFormSet, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from orma.actors import Actor
from orma.admin import DashboardItem, DealerScopedAdmin, DealerScopedInline, dashboard_item, scope_to_dealer
from orma.errors import DomainError

from .choices import FINAL_LINE_STATUSES, PartsOrderLineStatus
from .models import CustomerDiscount, Part, PartsOrder, PartsOrderLine, PartsOrderStatusChange, Stock, Surcharge
from .services import parts_order_line_status_change


def parts_order_label(parts_order: PartsOrder) -> str:
    """A parts order as people say it: ``PO-000042`` (its number, seed 002's partsOrderId, once it has one;
    its row id until then), not a UUID over four lines."""
    return f"PO-{getattr(parts_order, 'number', None) or parts_order.pk:06d}"


class StockInline(DealerScopedInline, admin.TabularInline):
    model = Stock
    extra = 0
    autocomplete_fields = ("department",)
    fields = ("department", "on_hand", "reserved")
    readonly_fields = ("reserved",)


@admin.register(Part)
class PartAdmin(DealerScopedAdmin):
    list_display = ("part_id", "brand_code", "part_code", "description", "list_net_price", "currency_code", "dealer")
    list_filter = ("brand_code",)
    list_select_related = ("dealer",)
    search_fields = ("^part_id", "^part_code")
    search_help_text = "Part id or part code (from its start)."
    raw_id_fields = ("superseded_by", "alternatives")
    readonly_fields = ("created_at", "updated_at")
    inlines = [StockInline]


@admin.register(Stock)
class StockAdmin(DealerScopedAdmin):
    dealer_path = "department__dealer"
    list_display = ("part", "department", "on_hand", "reserved")
    list_select_related = ("part", "department__dealer")
    list_filter = ("department",)
    search_fields = ("^part__part_id",)
    autocomplete_fields = ("part", "department")
    readonly_fields = ("reserved",)


@admin.register(CustomerDiscount)
class CustomerDiscountAdmin(DealerScopedAdmin):
    dealer_path = "customer__dealer"
    list_display = ("customer", "brand_code", "discount_group", "percent")
    list_select_related = ("customer",)
    search_fields = ("^customer__family_name", "^customer__company_name")
    autocomplete_fields = ("customer",)


@admin.register(Surcharge)
class SurchargeAdmin(DealerScopedAdmin):
    list_display = ("dealer", "order_type", "percent", "fixed_net")
    list_filter = ("order_type",)
    list_select_related = ("dealer",)


class LineStatusFormSet(BaseInlineFormSet):
    """Line status changes: a final line is refused on the form; the rest go through the service."""

    def clean(self) -> None:
        super().clean()
        for form in self.forms:
            if "status" not in form.changed_data:
                continue
            stored = form.initial.get("status")
            if stored in FINAL_LINE_STATUSES:
                form.add_error(
                    "status", ValidationError(f"Line {form.instance.part_number} is {stored} and can no longer change.")
                )

    def save_existing(self, form: Any, line: PartsOrderLine, commit: bool = True) -> PartsOrderLine:
        if "status" not in form.changed_data:
            return line
        new_status, old_status = form.cleaned_data["status"], form.initial["status"]
        line.status = old_status  # the service compares against the stored status
        outcomes = self.request._orma_line_outcomes  # type: ignore[attr-defined]
        try:
            order = parts_order_line_status_change(line=line, status=new_status, actor=self.actor)
        except DomainError as error:  # the service refused (stock): say why, change nothing of this line
            outcomes["refused"].append(f"Line {line.part_number} stays {old_status}: {error}")
        else:
            outcomes["changed"].append(f"line {line.part_number}: {old_status} → {new_status}")
            outcomes["order_status"] = order.status
        return line


class PartsOrderLineInline(DealerScopedInline, admin.TabularInline):
    model = PartsOrderLine
    formset = LineStatusFormSet
    extra = 0
    can_delete = False
    verbose_name_plural = "lines (status editable; prices as ordered)"
    fields = (
        "position",
        "part_number",
        "superseded_part_number",
        "quantity",
        "status",
        "reserved_quantity",
        "list_net_price",
        "order_net_price",
        "surcharge_net",
        "tax_rate",
        "line_total",
    )
    readonly_fields = tuple(name for name in fields if name != "status")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        formset.actor = Actor.staff(request.user)
        formset.request = request
        return formset

    @admin.display(description="net total")
    def line_total(self, line: PartsOrderLine) -> str:
        total = line.order_net_price * line.quantity + (line.surcharge_net or 0)
        return f"{total:.2f} {line.currency_code}"


class StatusChangeInline(DealerScopedInline, admin.TabularInline):
    model = PartsOrderStatusChange
    extra = 0
    can_delete = False
    verbose_name_plural = "status history"
    fields = ("at", "change", "channel", "actor")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[PartsOrderStatusChange]:
        return super().get_queryset(request).select_related("line")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="change")
    def change(self, entry: PartsOrderStatusChange) -> str:
        """Each change with its own statuses (the line's current one would say nothing of this change)."""
        subject = f"Line {entry.line.position + 1} ({entry.line.part_number})" if entry.line_id else "Order"
        return f"{subject}: {entry.old_status or '—'} → {entry.new_status}"


class BackorderedFilter(admin.SimpleListFilter):
    """Orders with a line on back order (the dashboard's count)."""

    title = "back orders"
    parameter_name = "backordered"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "With a backordered line")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[PartsOrder]) -> QuerySet[PartsOrder]:
        if self.value() != "yes":
            return queryset
        backordered = PartsOrderLine.objects.filter(parts_order=OuterRef("pk"), status=PartsOrderLineStatus.BACKORDER)
        return queryset.filter(Exists(backordered))


@admin.register(PartsOrder)
class PartsOrderAdmin(DealerScopedAdmin):
    dealer_path = "department__dealer"
    list_display = ("label", "department_name", "customer_name", "order_type", "status", "dms_status", "created_at")
    list_display_links = ("label",)
    list_filter = ("status", "order_type", "dms_status", "department", BackorderedFilter)
    list_select_related = ("department__dealer", "customer")
    search_fields = ("=uuid", "^order_reference", "^customer__family_name", "^customer__company_name")
    search_help_text = "The order's UUID, its reference, or the customer's family or company name (from its start)."
    date_hierarchy = "created_at"
    fieldsets = (
        (None, {"fields": (("label", "uuid"), ("department", "partner"), ("order_type", "order_reference"))}),
        ("Status", {"fields": (("status", "version"), ("created_at", "updated_at", "closed_at"))}),
        ("Customer and delivery", {"fields": (("customer_shown", "company_shown"), ("contact_shown", "delivery"))}),
        ("DMS", {"fields": (("dms_status", "dms_order_number", "dms_synced_at"), "dms_errors")}),
    )
    readonly_fields = (
        "label",
        "uuid",
        "department",
        "partner",
        "order_type",
        "order_reference",
        "status",
        "version",
        "created_at",
        "updated_at",
        "closed_at",
        "customer_shown",
        "company_shown",
        "contact_shown",
        "delivery",
        "dms_status",
        "dms_order_number",
        "dms_synced_at",
        "dms_errors",
    )
    inlines = [PartsOrderLineInline, StatusChangeInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # partners place parts orders through the API

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # retention purges closed orders (orma_purge_parts_orders)

    @admin.display(description="order", ordering="pk")
    def label(self, parts_order: PartsOrder) -> str:
        return parts_order_label(parts_order)

    @admin.display(description="department", ordering="department__name")
    def department_name(self, parts_order: PartsOrder) -> str:
        return parts_order.department.name

    @admin.display(description="customer")
    def customer_name(self, parts_order: PartsOrder) -> str:
        return str(parts_order.customer)

    @admin.display(description="customer (invoice address)")
    def customer_shown(self, parts_order: PartsOrder) -> str:
        return _person(parts_order.customer)

    @admin.display(description="company")
    def company_shown(self, parts_order: PartsOrder) -> str:
        return _person(parts_order.company) if parts_order.company_id else "—"

    @admin.display(description="contact")
    def contact_shown(self, parts_order: PartsOrder) -> str:
        contact = parts_order.contact if isinstance(parts_order.contact, dict) else {}
        parts = [str(value) for value in contact.values() if isinstance(value, str | int) and value != ""]
        return ", ".join(parts) or "—"

    @admin.display(description="delivery address")
    def delivery(self, parts_order: PartsOrder) -> str:
        return format_html(
            "{}<br>{} {}<br>{}",
            parts_order.delivery_street_name or "—",
            parts_order.delivery_postal_code,
            parts_order.delivery_city,
            parts_order.delivery_country_code,
        )

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        request._orma_line_outcomes = {"changed": [], "refused": [], "order_status": None}  # type: ignore[attr-defined]
        parts_order = self.get_object(request, object_id) if object_id else None
        if parts_order is not None:  # the page's subtitle: the readable identifier, not str() (the UUID)
            extra_context = {**(extra_context or {}), "subtitle": parts_order_label(parts_order)}
        return super().changeform_view(request, object_id, form_url, extra_context)

    def response_change(self, request: HttpRequest, obj: PartsOrder) -> HttpResponse:
        """One message per outcome, instead of Django's "changed successfully" whatever happened."""
        outcomes = request._orma_line_outcomes  # type: ignore[attr-defined]
        for refusal in outcomes["refused"]:
            self.message_user(request, refusal, messages.ERROR)
        if outcomes["changed"]:
            text = "Changed " + "; ".join(outcomes["changed"]) + f". The order is now {outcomes['order_status']}."
            self.message_user(request, text, messages.SUCCESS)
        if not outcomes["refused"] and not outcomes["changed"]:
            self.message_user(request, "Nothing to change.", messages.INFO)
        if outcomes["refused"] or "_continue" in request.POST:
            return HttpResponseRedirect(request.path)
        return HttpResponseRedirect(reverse("admin:parts_partsorder_changelist"))


def _person(customer: Any) -> str:
    address = f"{customer.postal_code} {customer.city}".strip()
    return format_html(
        "<strong>{}</strong><br>{}<br>{} {}", str(customer), customer.street_name, address, customer.country_code
    )


@dashboard_item
def parts_counts(request: HttpRequest) -> list[DashboardItem]:
    """Parts lines on back order."""
    lines = scope_to_dealer(PartsOrderLine.objects.order_by(), request, "parts_order__department__dealer").filter(
        status=PartsOrderLineStatus.BACKORDER
    )
    url = reverse("admin:parts_partsorder_changelist") + "?backordered=yes"
    return [DashboardItem("Backordered parts lines", lines.count(), url)]
