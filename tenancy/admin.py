"""Admin of tenancy: dealers with their departments, partners with their grants, dealer staff.

Dealers, partners, grants and staff are the OEM operator's (superusers only); a dealer's staff see their
own departments, read-only. Secrets never appear: a partner's is shown once, on the page that made it (on
creation, or by the "Rotate secret" action), and a dealer's DMS password is a write-only field.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from orma.admin import CheckboxListField, DealerScopedAdmin, SuperuserOnlyAdmin
from orma.crypto import generate_secret, hash_secret
from orma.errors import DomainError

from .choices import Brand, Scope
from .models import Dealer, DealerStaff, Department, Grant, Partner
from .services import partner_rotate_secret


def _https_urls(db_field: Any, **kwargs: Any) -> Any:
    """URL fields assume https when no scheme is typed (Django 6's default, asked for now)."""
    if isinstance(db_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return db_field.formfield(**kwargs)


class DealerForm(forms.ModelForm):
    """Brands as checkboxes; the DMS password can be replaced or cleared but is never shown."""

    brands = CheckboxListField(choices=Brand.choices, required=False)
    new_dms_password = forms.CharField(
        label="DMS password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only: leave empty to keep the stored password.",
    )
    clear_dms_password = forms.BooleanField(label="Clear the DMS password", required=False)

    class Meta:
        model = Dealer
        exclude = ("dms_password",)
        formfield_callback = _https_urls

    def save(self, commit: bool = True) -> Dealer:
        dealer = super().save(commit=False)
        if self.cleaned_data.get("clear_dms_password"):
            dealer.dms_password = ""
        elif self.cleaned_data.get("new_dms_password"):
            dealer.dms_password = self.cleaned_data["new_dms_password"]
        if commit:
            dealer.save()
        return dealer


class DepartmentInline(admin.TabularInline):
    model = Department
    extra = 0
    fields = ("name", "type", "dms_id", "uuid")
    readonly_fields = ("uuid",)


@admin.register(Dealer)
class DealerAdmin(SuperuserOnlyAdmin):
    form = DealerForm
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ("name", "country", "dms_kind", "dms_mode", "uuid")
    list_filter = ("dms_kind", "dms_mode", "country")
    search_fields = ("name", "uuid")
    readonly_fields = ("uuid", "created_at", "dms_password_set")
    fieldsets = (
        (None, {"fields": ("name", "country", "brands", "uuid", "created_at")}),
        (
            "DMS connection",
            {
                "fields": (
                    "dms_kind",
                    "dms_mode",
                    "dms_base_url",
                    "dms_username",
                    "dms_password_set",
                    "new_dms_password",
                    "clear_dms_password",
                )
            },
        ),
        ("Parts", {"fields": ("parts_order_retention_days", "parts_order_reference_required")}),
    )
    inlines = [DepartmentInline]

    @admin.display(description="DMS password stored", boolean=True)
    def dms_password_set(self, dealer: Dealer) -> bool:
        return bool(dealer.dms_password)


@admin.register(Department)
class DepartmentAdmin(DealerScopedAdmin):
    dealer_path = "dealer"
    list_display = ("name", "dealer", "type", "uuid")
    list_filter = ("type",)
    list_select_related = ("dealer",)
    search_fields = ("name", "uuid", "dealer__name")
    readonly_fields = ("uuid", "created_at")
    raw_id_fields = ("dealer",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if request.user.is_superuser:
            return self.readonly_fields
        return ("name", "type", "dms_id", "uuid", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser  # a department is where partners are granted access: the OEM's call

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser


class GrantForm(forms.ModelForm):
    """A grant's scopes as checkboxes."""

    scopes = CheckboxListField(choices=Scope.choices)

    class Meta:
        model = Grant
        fields = ("partner", "department", "scopes")


class GrantInline(admin.TabularInline):
    model = Grant
    form = GrantForm
    extra = 0
    raw_id_fields = ("department",)


def _secret_page(request: HttpRequest, rotated: list[tuple[Partner, str]], title: str) -> HttpResponse:
    """The one page that shows new secrets: never stored, never put in a message (a cookie)."""
    response = TemplateResponse(
        request,
        "admin/tenancy/partner/secret.html",
        {**admin.site.each_context(request), "title": title, "rotated": rotated, "opts": Partner._meta},
    )
    response["Cache-Control"] = "no-store"
    return response


@admin.register(Partner)
class PartnerAdmin(SuperuserOnlyAdmin):
    list_display = ("username", "name", "is_active", "previous_secret_valid_until", "uuid")
    list_filter = ("is_active",)
    search_fields = ("username", "name", "uuid")
    readonly_fields = ("uuid", "created_at", "previous_secret_valid_until")
    exclude = ("secret_hash", "previous_secret_hash")
    inlines = [GrantInline]
    actions = ["rotate_secret"]

    def save_model(self, request: HttpRequest, obj: Partner, form: Any, change: bool) -> None:
        if not change:  # a new partner gets a generated secret, shown once by response_add
            secret = generate_secret()
            obj.secret_hash = hash_secret(secret)
            request._orma_new_secret = secret  # type: ignore[attr-defined]
        super().save_model(request, obj, form, change)

    def response_add(self, request: HttpRequest, obj: Partner, post_url_continue: Any = None) -> HttpResponse:
        secret = getattr(request, "_orma_new_secret", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        return _secret_page(request, [(obj, secret)], "Partner created: its secret")

    @admin.action(description="Rotate secret (the old one stops working at once)")
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[Partner]) -> HttpResponse | None:
        rotated = []
        for partner in queryset:
            try:
                rotated_partner, secret, _ = partner_rotate_secret(username=partner.username)
            except DomainError as error:
                self.message_user(request, f"{partner.username}: {error}", messages.ERROR)
                continue
            rotated.append((rotated_partner, secret))
        if not rotated:
            return None
        return _secret_page(request, rotated, "New partner secrets")


@admin.register(Grant)
class GrantAdmin(SuperuserOnlyAdmin):
    form = GrantForm
    list_display = ("partner", "department", "scopes")
    list_select_related = ("partner", "department__dealer")
    search_fields = ("partner__username", "department__name")
    raw_id_fields = ("partner", "department")


@admin.register(DealerStaff)
class DealerStaffAdmin(SuperuserOnlyAdmin):
    list_display = ("user", "dealer")
    list_select_related = ("user", "dealer")
    raw_id_fields = ("user", "dealer")
