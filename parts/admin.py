"""Admin of the parts catalogue, stock, discounts, surcharges and parts orders.

Line statuses are edited on the order's page; every change goes through
``parts.services.parts_order_line_status_change`` (stock, derived order status, history), never a bare save.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.forms import BaseInlineFormSet
from django.http import HttpRequest

from orma.actors import Actor
from orma.errors import DomainError

from .models import CustomerDiscount, Part, PartsOrder, PartsOrderLine, PartsOrderStatusChange, Stock, Surcharge
from .services import parts_order_line_status_change


class StockInline(admin.TabularInline):
    model = Stock
    extra = 0
    raw_id_fields = ("department",)
    fields = ("department", "on_hand", "reserved")
    readonly_fields = ("reserved",)


@admin.register(Part)
class PartAdmin(admin.ModelAdmin):
    list_display = ("part_id", "brand_code", "part_code", "description", "list_net_price", "currency_code", "dealer")
    list_filter = ("brand_code",)
    list_select_related = ("dealer",)
    search_fields = ("part_id", "part_code", "description")
    raw_id_fields = ("dealer", "superseded_by", "alternatives")
    readonly_fields = ("created_at", "updated_at")
    show_full_result_count = False
    inlines = [StockInline]


@admin.register(Stock)
class StockAdmin(admin.ModelAdmin):
    list_display = ("part", "department", "on_hand", "reserved")
    list_select_related = ("part", "department__dealer")
    search_fields = ("part__part_id",)
    raw_id_fields = ("part", "department")
    readonly_fields = ("reserved",)
    show_full_result_count = False


@admin.register(CustomerDiscount)
class CustomerDiscountAdmin(admin.ModelAdmin):
    list_display = ("customer", "brand_code", "discount_group", "percent")
    list_select_related = ("customer",)
    raw_id_fields = ("customer",)


@admin.register(Surcharge)
class SurchargeAdmin(admin.ModelAdmin):
    list_display = ("dealer", "order_type", "percent", "fixed_net")
    list_filter = ("order_type",)
    list_select_related = ("dealer",)


class LineStatusFormSet(BaseInlineFormSet):
    """Saves a changed line status through the service instead of writing the row."""

    def save_existing(self, form: Any, line: PartsOrderLine, commit: bool = True) -> PartsOrderLine:
        if "status" in form.changed_data:
            new_status = form.cleaned_data["status"]
            line.status = form.initial["status"]  # the service compares against the stored status
            try:
                parts_order_line_status_change(line=line, status=new_status, actor=self.actor)
            except DomainError as error:  # the service refused (stock, a final line): say why, keep the rest
                messages.error(self.request, f"{line.part_number}: {'; '.join(error.messages)}")
        return line


class PartsOrderLineInline(admin.TabularInline):
    model = PartsOrderLine
    formset = LineStatusFormSet
    extra = 0
    can_delete = False
    fields = ("position", "part_number", "superseded_part_number", "quantity", "status", "reserved_quantity")
    readonly_fields = ("position", "part_number", "superseded_part_number", "quantity", "reserved_quantity")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        formset.actor = Actor.staff(request.user)
        formset.request = request
        return formset


class StatusChangeInline(admin.TabularInline):
    model = PartsOrderStatusChange
    extra = 0
    can_delete = False
    fields = ("at", "line", "old_status", "new_status", "channel", "actor")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PartsOrder)
class PartsOrderAdmin(admin.ModelAdmin):
    list_display = ("uuid", "department", "customer", "order_type", "status", "dms_status", "created_at")
    list_filter = ("status", "order_type", "dms_status")
    list_select_related = ("department__dealer", "customer")
    search_fields = ("uuid", "order_reference", "customer__family_name", "customer__company_name")
    date_hierarchy = "created_at"
    raw_id_fields = ("department", "customer", "company", "partner")
    readonly_fields = (
        "uuid",
        "status",
        "version",
        "created_at",
        "updated_at",
        "closed_at",
        "dms_status",
        "dms_synced_at",
    )
    show_full_result_count = False
    inlines = [PartsOrderLineInline, StatusChangeInline]
