"""The workshop's back office: repair orders, customers, vehicles, service packages and their prices.

A repair order is saved through ``orders.services.repair_order_update``, the API's write path (version,
history with channel ADMIN, the DMS push, notifications); its form is ``orders.admin_forms.RepairOrderForm``.
Everything is scoped to the staff user's dealer by ``orma.admin``.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from orma.actors import Actor
from orma.admin import (
    CheckboxListField,
    DashboardItem,
    DealerScopedAdmin,
    DealerScopedInline,
    SharedCatalogueAdmin,
    dashboard_item,
    scope_to_dealer,
    staff_dealer,
)
from orma.errors import DomainError, ErrorCode
from tenancy.choices import Brand

from .admin_forms import RepairOrderForm
from .choices import DmsStatus, RepairOrderStatus
from .models import (
    Customer,
    OrderHistory,
    PackageLabourLine,
    PackagePartLine,
    PackagePrice,
    PartLine,
    RepairOrder,
    ServicePackage,
    Vehicle,
)
from .rules import customer_has_name
from .services import repair_order_update
from .vins import serviced_brand

DMS_COLOURS: dict[str, str] = {
    DmsStatus.PENDING: "#b25c00",
    DmsStatus.SYNCED: "#2e7d32",
    DmsStatus.REJECTED: "#ba2121",
    DmsStatus.FAILED: "#ba2121",
}
SALE_COLUMNS = ("labor_sale", "parts_sale", "misc_sale", "lube_sale", "sublet_sale")
# A search matches at most this many customers, vehicles or part lines before it narrows to orders.
SEARCH_MATCH_CAP = 1000
PENDING_TOO_LONG = timedelta(hours=1)
OPEN_TOO_LONG = timedelta(days=30)


def dms_badge(status: str) -> str:
    """The DMS status as a coloured label (list and change page)."""
    return format_html(
        '<span class="dms-status dms-{}" style="color: #fff; background: {}; padding: 1px 6px; border-radius: 3px">'
        "{}</span>",
        status.lower(),
        DMS_COLOURS.get(status, "#666"),
        status,
    )


class AttentionFilter(admin.SimpleListFilter):
    """What the dashboard counts: orders waiting at the DMS for over an hour, open for over 30 days."""

    title = "needs attention"
    parameter_name = "attention"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("dms_pending", "PENDING at the DMS for over an hour"), ("open_long", "Open for over 30 days")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[RepairOrder]) -> QuerySet[RepairOrder]:
        return queryset.filter(attention_q(self.value())) if self.value() in ATTENTION else queryset


ATTENTION = ("dms_pending", "open_long")


def attention_q(kind: str | None) -> Q:
    """The orders the dashboard's count of ``kind`` stands for."""
    now = timezone.now()
    if kind == "dms_pending":
        return Q(dms_status=DmsStatus.PENDING, updated_at__lt=now - PENDING_TOO_LONG)
    return Q(status=RepairOrderStatus.OPENED, created_instant__lt=now - OPEN_TOO_LONG)


class OrderHistoryInline(DealerScopedInline, admin.TabularInline):
    model = OrderHistory
    extra = 0
    can_delete = False
    verbose_name_plural = "history (who, when, through which channel, what)"
    fields = ("version", "at", "channel", "actor", "what")
    readonly_fields = fields
    ordering = ("-version", "-id")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="what changed")
    def what(self, entry: OrderHistory) -> str:
        changes = entry.changes or []
        shown = changes[:12]
        rows = format_html_join(
            "",
            "<li><code>{}</code>: {} → {}</li>",
            ((change.get("field"), _short(change.get("old")), _short(change.get("new"))) for change in shown),
        )
        more = f" … and {len(changes) - len(shown)} more" if len(changes) > len(shown) else ""
        return format_html('<ul style="margin: 0">{}</ul>{}', rows, more)


def _short(value: Any) -> str:
    text = "—" if value is None else str(value)
    return text if len(text) <= 80 else text[:77] + "…"


@admin.register(RepairOrder)
class RepairOrderAdmin(DealerScopedAdmin):
    dealer_path = "department__dealer"
    form = RepairOrderForm
    change_form_template = "admin/orders/repairorder/change_form.html"
    list_display = (
        "order_number",
        "department",
        "customer",
        "vin_and_plate",
        "status",
        "dms",
        "total",
        "updated_at",
    )
    list_display_links = ("order_number",)
    list_filter = (
        "status",
        "dms_status",
        "department",
        ("created_instant", admin.DateFieldListFilter),
        AttentionFilter,
    )
    list_select_related = ("department__dealer", "customer", "vehicle")
    search_fields = (
        "order_number",
        "vin",
        "vehicle__license_plate",
        "customer__family_name",
        "jobs__parts__part_number",
    )
    search_help_text = "Order number, VIN, plate, customer name or part number (each from its start)."
    autocomplete_fields = ("customer", "vehicle")
    ordering = ("-created_instant", "-id")
    inlines = [OrderHistoryInline]
    readonly_fields = (
        "uuid",
        "department",
        "created_at",
        "updated_at",
        "current_version",
        "customer_card",
        "vehicle_card",
        "totals",
        "dms",
        "dms_order_number",
        "dms_errors_shown",
        "dms_attempts",
        "notifications_sent",
    )
    view_fields = ("order_number", "status", "created_instant", "customer", "vehicle", "advisor_number", "description")

    # --- the list ----------------------------------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet[RepairOrder]:
        queryset = super().get_queryset(request)
        match = getattr(request, "resolver_match", None)
        if match is not None and match.url_name and match.url_name.endswith("_changelist"):
            queryset = queryset.defer("document")  # the list never shows it: keep 100 rows light
        return queryset

    @admin.display(description="VIN / plate", ordering="vin")
    def vin_and_plate(self, repair_order: RepairOrder) -> str:
        plate = repair_order.vehicle.license_plate if repair_order.vehicle else ""
        return format_html("{}<br><small>{}</small>", repair_order.vin or "—", plate)

    @admin.display(description="DMS", ordering="dms_status")
    def dms(self, repair_order: RepairOrder) -> str:
        return dms_badge(repair_order.dms_status)

    @admin.display(description="total")
    def total(self, repair_order: RepairOrder) -> str:
        values = [getattr(repair_order, name) for name in SALE_COLUMNS if getattr(repair_order, name) is not None]
        return f"{sum(values, Decimal('0')):.2f}" if values else "—"

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Any], search_term: str) -> Any:
        """Each field from its start, each through its own index; the matches are combined on the order's
        own columns (number, VIN, customer, vehicle, id), so PostgreSQL ORs index scans of one table."""
        term = search_term.strip()
        if not term:
            return queryset, False
        dealer_customers = scope_to_dealer(Customer.objects.all(), request)
        dealer_vehicles = scope_to_dealer(Vehicle.objects.all(), request)
        customer_ids = list(
            dealer_customers.filter(
                Q(family_name__istartswith=term) | Q(company_name__istartswith=term) | Q(given_name__istartswith=term)
            )
            .order_by()
            .values_list("id", flat=True)[:SEARCH_MATCH_CAP]
        )
        vehicle_ids = list(
            dealer_vehicles.filter(license_plate__istartswith=term)
            .order_by()
            .values_list("id", flat=True)[:SEARCH_MATCH_CAP]
        )
        dealer_part_lines = scope_to_dealer(PartLine.objects.all(), request, "job__repair_order__department__dealer")
        order_ids = list(
            dealer_part_lines.filter(part_number__istartswith=term)
            .order_by()
            .values_list("job__repair_order_id", flat=True)[:SEARCH_MATCH_CAP]
        )
        matches = Q(order_number__istartswith=term) | Q(vin__istartswith=term)
        if customer_ids:
            matches |= Q(customer_id__in=customer_ids)
        if vehicle_ids:
            matches |= Q(vehicle_id__in=vehicle_ids)
        if order_ids:
            matches |= Q(pk__in=order_ids)
        return queryset.filter(matches), False

    # --- the change page ---------------------------------------------------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # orders come from partners (the API) and the DMS; the back office works them

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # an order's history and its DMS copy must not vanish from the hub

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        record = (
            "Record",
            {"fields": (("uuid", "department"), ("current_version", "created_at", "updated_at"))},
        )
        people = ("Customer and vehicle", {"fields": (("customer_card", "vehicle_card"),)})
        totals = ("Totals (computed from the lines)", {"fields": ("totals",)})
        dms = (
            "DMS",
            {"fields": (("dms", "dms_order_number"), "dms_errors_shown", "dms_attempts")},
        )
        sent = ("Notifications sent", {"fields": ("notifications_sent",)})
        if obj is not None and not self.has_change_permission(request, obj):
            return [(None, {"fields": self.view_fields}), record, people, totals, dms, sent]
        order = (
            None,
            {
                "fields": (
                    ("orderNumber", "status"),
                    ("createDate", "createTime"),
                    "customer",
                    "vehicle",
                    ("advisorNumber", "advisorName"),
                    ("promisedDate", "promisedTime"),
                    ("mileageIn", "mileageOut"),
                    "description",
                    "version",
                )
            },
        )
        return [order, record, people, totals, dms, sent]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None and not self.has_change_permission(request, obj):
            return (*self.readonly_fields, *self.view_fields)
        return self.readonly_fields

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        # The header fields are the form's own (document keys), not model fields: declare nothing to Django.
        kwargs["fields"] = ("customer", "vehicle")
        return super().get_form(request, obj, change, **kwargs)

    def save_model(self, request: HttpRequest, obj: RepairOrder, form: RepairOrderForm, change: bool) -> None:
        """Save through the API's write path, refusing a form opened at an older version (under the lock)."""
        assert form.validated is not None  # the form is valid only once the rules passed
        repair_order_update(
            repair_order=obj,
            validated=form.validated,
            actor=Actor.staff(request.user),
            expected_version=form.cleaned_data["version"],
        )
        for warning in form.warnings:
            self.message_user(request, warning, messages.WARNING)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Nothing to save: the write service wrote the lines, and the history inline is read-only."""
        for formset in formsets:  # what Django's change message reads of a saved formset
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as error:  # the write service refused under the lock (someone saved meanwhile)
            if error.code == ErrorCode.VERSION_MISMATCH:
                text = "This order changed while you were editing it. Nothing was saved: reload and try again."
            else:
                text = f"Nothing was saved: {error}"
            self.message_user(request, text, messages.ERROR)
            return HttpResponseRedirect(request.path)

    @admin.display(description="version")
    def current_version(self, repair_order: RepairOrder) -> int:
        return repair_order.version

    @admin.display(description="customer")
    def customer_card(self, repair_order: RepairOrder) -> str:
        customer = repair_order.customer
        address = ", ".join(p for p in (customer.street_name, f"{customer.postal_code} {customer.city}".strip()) if p)
        return format_html(
            "<strong>{}</strong>{}<br>{}<br>{} {}",
            str(customer),
            f" ({customer.company_name})" if customer.company_name and customer.family_name else "",
            address or "—",
            customer.phone,
            customer.email,
        )

    @admin.display(description="vehicle")
    def vehicle_card(self, repair_order: RepairOrder) -> str:
        vehicle = repair_order.vehicle
        if vehicle is None:
            return "no vehicle"
        return format_html(
            "<strong>{}</strong> {}<br>{} {} {}<br>{} km",
            vehicle.vin,
            vehicle.license_plate,
            vehicle.brand,
            vehicle.model,
            vehicle.model_year or "",
            vehicle.mileage if vehicle.mileage is not None else "—",
        )

    @admin.display(description="totals")
    def totals(self, repair_order: RepairOrder) -> str:
        header = (repair_order.document or {}).get("header", {})
        names = ("laborSale", "partsSale", "miscSale", "lubeSale", "subletSale", "soldHours", "partsCost")
        shown = [(name, header[name]) for name in names if name in header]
        if not shown:
            return "—"
        return format_html(
            '<table class="order-totals">{}</table>',
            format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", shown),
        )

    @admin.display(description="DMS errors")
    def dms_errors_shown(self, repair_order: RepairOrder) -> str:
        errors = repair_order.dms_errors or []
        if not errors:
            return "—"
        return format_html_join(
            "",
            "<div>{}: {}</div>",
            ((error.get("errorCode", ""), error.get("errorDescription", "")) for error in errors),
        )

    @admin.display(description="DMS attempts")
    def dms_attempts(self, repair_order: RepairOrder) -> str:
        push_model = _model("dms_adapters", "DmsPush")
        attempt_model = _model("dms_adapters", "DmsAttempt")
        if push_model is None or attempt_model is None:
            return "—"
        push = push_model.objects.filter(repair_order=repair_order).first()
        if push is None:
            return "no push (this dealer's DMS takes no repair orders)"
        attempts = list(attempt_model.objects.filter(push=push).order_by("-number")[:20])
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>v{}</td><td>{}</td><td>{}</td><td>{} ms</td><td>{}</td></tr>",
            (
                (
                    a.number,
                    f"{a.started_at:%Y-%m-%d %H:%M:%S}",
                    a.version,
                    a.outcome,
                    a.status_code or "",
                    a.duration_ms,
                    a.error[:200],
                )
                for a in attempts
            ),
        )
        link = reverse("admin:dms_adapters_dmspush_change", args=[push.pk])
        return format_html(
            '<a href="{}">push: {} (version {}, {} attempts)</a>'
            '<table class="dms-attempts"><tr><th>#</th><th>started</th><th>version</th><th>outcome</th>'
            "<th>HTTP</th><th>took</th><th>error</th></tr>{}</table>",
            link,
            push.status,
            push.version,
            push.attempts,
            rows,
        )

    @admin.display(description="notifications sent")
    def notifications_sent(self, repair_order: RepairOrder) -> str:
        delivery_model = _model("notifications", "Delivery")
        if delivery_model is None:
            return "—"
        deliveries = list(
            delivery_model.objects.filter(subject_key=f"order:{repair_order.uuid}")
            .select_related("subscription__partner")
            .order_by("-id")[:50]
        )
        if not deliveries:
            return "none"
        rows = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    reverse("admin:notifications_delivery_change", args=[d.pk]),
                    d.event_type,
                    d.subscription.partner.username,
                    d.status,
                    f"{d.created_at:%Y-%m-%d %H:%M:%S}",
                    d.attempts,
                )
                for d in deliveries
            ),
        )
        return format_html(
            '<table class="notifications-sent"><tr><th>event</th><th>partner</th><th>status</th><th>written</th>'
            "<th>attempts</th></tr>{}</table>",
            rows,
        )

    # --- actions -----------------------------------------------------------------------------------

    # Actions the apps built on orders add (``dms_adapters.admin``: "Resend to DMS"): the arrows point from
    # those apps to this one, so they register here instead of being imported.
    order_actions: list[Any] = []

    @classmethod
    def add_order_action(cls, action: Any) -> Any:
        """Offer ``action`` (an admin action function) on the repair orders' list."""
        cls.order_actions.append(action)
        return action

    def get_actions(self, request: HttpRequest) -> Any:
        actions = super().get_actions(request)
        if self.has_change_permission(request):  # every order action changes orders (their DMS state)
            for action in self.order_actions:
                actions[action.__name__] = (action, action.__name__, action.short_description)
        return actions


def _model(app_label: str, name: str) -> Any:
    """A model of an app built on orders (read, never imported: the arrows point from those apps to this)."""
    try:
        return apps.get_model(app_label, name)
    except LookupError:
        return None


# --- customers, vehicles, packages -------------------------------------------------------------------


class CustomerForm(forms.ModelForm):
    """A customer as the API's rule has it: a person with a family name, or a company with a name."""

    class Meta:
        model = Customer
        exclude = ("dealer",)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not customer_has_name(data.get("family_name", ""), data.get("company_name", "")):
            self.add_error("family_name", "A family name or a company name is required.")
        return data


@admin.register(Customer)
class CustomerAdmin(DealerScopedAdmin):
    form = CustomerForm
    list_display = ("__str__", "company_name", "email", "phone", "city", "updated_at")
    list_select_related = ("dealer",)
    search_fields = ("^family_name", "^company_name", "^given_name", "=email")
    search_help_text = "Family, company or given name (from its start), or the exact e-mail."
    readonly_fields = ("uuid", "created_at", "updated_at")
    ordering = ("family_name", "company_name", "id")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = [f for f in super().get_fields(request, obj) if f not in ("uuid", "created_at", "updated_at")]
        return [*fields, "uuid", "created_at", "updated_at"]


class VehicleForm(forms.ModelForm):
    """A vehicle as the API's rule has it: a VIN of a brand the dealer services (the brand comes from it),
    one per dealer."""

    class Meta:
        model = Vehicle
        exclude = ("dealer", "brand")

    def __init__(self, *args: Any, dealer: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.dealer = dealer

    def clean_vin(self) -> str:
        vin = (self.cleaned_data.get("vin") or "").strip().upper()
        dealer = self.dealer or getattr(self.instance, "dealer", None)
        if dealer is None:
            return vin
        try:
            self.instance.brand = serviced_brand(vin, dealer.brands)
        except Exception as error:  # noqa: BLE001 - FieldRuleError carries the rule's message
            raise forms.ValidationError(getattr(error, "message", str(error))) from None
        duplicate = Vehicle.objects.filter(dealer=dealer, vin=vin).exclude(pk=self.instance.pk).first()
        if duplicate is not None:
            raise forms.ValidationError(f"This dealer already has a vehicle with this VIN ({duplicate.uuid}).")
        return vin


@admin.register(Vehicle)
class VehicleAdmin(DealerScopedAdmin):
    form = VehicleForm
    list_display = ("vin", "license_plate", "brand", "model", "model_year", "customer", "updated_at")
    list_select_related = ("customer",)
    list_filter = ("brand",)
    search_fields = ("^vin", "^license_plate")
    search_help_text = "VIN or plate (from its start)."
    autocomplete_fields = ("customer",)
    readonly_fields = ("uuid", "brand", "created_at", "updated_at")

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        dealer = obj.dealer if obj is not None else staff_dealer(request)

        class ScopedVehicleForm(form):  # type: ignore[valid-type, misc]
            def __init__(self, *args: Any, **kw: Any) -> None:
                super().__init__(*args, dealer=dealer, **kw)

        return ScopedVehicleForm


class PackagePriceInline(DealerScopedInline, admin.TabularInline):
    model = PackagePrice
    dealer_path = "dealer"
    extra = 0
    fields = ("dealer", "price", "currency_code")
    raw_id_fields = ("dealer",)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser  # staff set their price on its own page (PackagePriceAdmin)

    has_add_permission = has_change_permission  # type: ignore[assignment]
    has_delete_permission = has_change_permission  # type: ignore[assignment]


class PackageLabourInline(admin.TabularInline):
    model = PackageLabourLine
    extra = 0


class PackagePartInline(admin.TabularInline):
    model = PackagePartLine
    extra = 0


class ServicePackageForm(forms.ModelForm):
    brands = CheckboxListField(choices=Brand.choices, required=False, help_text="none: every brand")

    class Meta:
        model = ServicePackage
        fields = ("code", "description", "brands", "models")


@admin.register(ServicePackage)
class ServicePackageAdmin(SharedCatalogueAdmin):
    form = ServicePackageForm
    list_display = ("code", "description", "brands", "your_price")
    search_fields = ("^code", "description")
    inlines = [PackageLabourInline, PackagePartInline, PackagePriceInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ServicePackage]:
        prices = scope_to_dealer(PackagePrice.objects.select_related("dealer"), request, "dealer")
        return super().get_queryset(request).prefetch_related(Prefetch("prices", prices, to_attr="visible_prices"))

    @admin.display(description="price (your dealer's)")
    def your_price(self, package: ServicePackage) -> str:
        prices = getattr(package, "visible_prices", [])
        return ", ".join(f"{price.price} {price.currency_code}" for price in prices) or "—"


@admin.register(PackagePrice)
class PackagePriceAdmin(DealerScopedAdmin):
    list_display = ("package", "price", "currency_code", "dealer")
    list_select_related = ("package", "dealer")
    search_fields = ("^package__code",)
    autocomplete_fields = ("package",)


# --- the dashboard -------------------------------------------------------------------------------------


@dashboard_item
def repair_order_counts(request: HttpRequest) -> list[DashboardItem]:
    """Orders the DMS rejected, orders waiting at the DMS for over an hour, orders open for over 30 days."""
    orders = scope_to_dealer(RepairOrder.objects.order_by(), request, RepairOrderAdmin.dealer_path)
    base = reverse("admin:orders_repairorder_changelist")
    return [
        DashboardItem(
            "Orders rejected by the DMS",
            orders.filter(dms_status=DmsStatus.REJECTED).count(),
            f"{base}?dms_status__exact={DmsStatus.REJECTED}",
            "error",
        ),
        DashboardItem(
            "Orders PENDING at the DMS for over an hour",
            orders.filter(attention_q("dms_pending")).count(),
            f"{base}?attention=dms_pending",
        ),
        DashboardItem(
            "Orders open for over 30 days",
            orders.filter(attention_q("open_long")).count(),
            f"{base}?attention=open_long",
        ),
    ]
