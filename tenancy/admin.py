"""Admin of tenancy: dealers with their departments, partners with their grants, dealer staff."""

from django.contrib import admin

from .models import Dealer, DealerStaff, Department, Grant, Partner


class DepartmentInline(admin.TabularInline):
    model = Department
    extra = 0
    fields = ("name", "type", "dms_id", "uuid")
    readonly_fields = ("uuid",)


@admin.register(Dealer)
class DealerAdmin(admin.ModelAdmin):
    list_display = ("name", "country", "dms_kind", "dms_mode", "uuid")
    list_filter = ("dms_kind", "dms_mode", "country")
    search_fields = ("name", "uuid")
    readonly_fields = ("uuid", "created_at")
    inlines = [DepartmentInline]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("name", "dealer", "type", "uuid")
    list_filter = ("type",)
    list_select_related = ("dealer",)
    search_fields = ("name", "uuid", "dealer__name")
    readonly_fields = ("uuid", "created_at")
    raw_id_fields = ("dealer",)


class GrantInline(admin.TabularInline):
    model = Grant
    extra = 0
    raw_id_fields = ("department",)


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ("username", "name", "is_active", "previous_secret_valid_until", "uuid")
    list_filter = ("is_active",)
    search_fields = ("username", "name", "uuid")
    readonly_fields = ("uuid", "created_at", "previous_secret_valid_until")
    exclude = ("secret_hash", "previous_secret_hash")
    inlines = [GrantInline]


@admin.register(DealerStaff)
class DealerStaffAdmin(admin.ModelAdmin):
    list_display = ("user", "dealer")
    list_select_related = ("user", "dealer")
    raw_id_fields = ("user", "dealer")
