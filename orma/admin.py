"""The back office's scoping, in one place: what a dealer's staff see and change in the admin.

Every ModelAdmin of OrMa is one of three kinds, and a test walks the admin registry to keep it so:

- :class:`DealerScopedAdmin`: rows of one dealer (``dealer_path`` names the way from the row to its dealer).
  A staff user (``tenancy.DealerStaff``) sees and changes only their dealer's rows: the changelist, the
  change, delete and history pages (another dealer's id answers exactly like a missing one, because the
  object is looked up in the scoped queryset), the actions (they run on the scoped changelist), the choices
  of every foreign key and many-to-many field, the autocomplete answers (Django asks the target admin's
  ``get_queryset``) and the filter choices (:class:`ScopedRelatedFilter`). Rows they add get their dealer.
- :class:`SharedCatalogueAdmin`: rows no dealer owns (the OEM's service packages): every staff user may
  read them, only superusers change them.
- :class:`SuperuserOnlyAdmin`: dealers, partners, grants, staff: the OEM operator's alone.

Superusers (the OEM operator) see everything. ``orma`` imports no domain app but ``tenancy``; the apps' own
``admin.py`` modules register their admins here and add their counts to the dashboard (:func:`dashboard_item`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.filters import RelatedFieldListFilter
from django.core.paginator import Paginator
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

from tenancy.models import Dealer, DealerStaff

# --- who is asking --------------------------------------------------------------------------------


def staff_dealer(request: HttpRequest) -> Dealer | None:
    """The dealer whose rows this staff user works on (None: a superuser, or staff tied to no dealer).

    Looked up once per request: every admin, inline and filter of a page asks."""
    if not hasattr(request, "_orma_staff_dealer"):
        user = request.user
        dealer = None
        if user.is_authenticated and not user.is_superuser:
            staff = DealerStaff.objects.select_related("dealer").filter(user_id=user.pk).first()
            dealer = staff.dealer if staff else None
        request._orma_staff_dealer = dealer  # type: ignore[attr-defined]
    return request._orma_staff_dealer  # type: ignore[attr-defined]


def sees_everything(request: HttpRequest) -> bool:
    """The OEM operator: a superuser sees every dealer's rows."""
    return bool(request.user.is_active and request.user.is_superuser)


# Which way leads from a model's rows to their dealer, filled by the scoped admins as they are declared, so
# that a foreign key to any scoped model can be limited to the user's dealer wherever it appears.
DEALER_PATHS: dict[type[models.Model], str] = {Dealer: "pk"}
SHARED_MODELS: set[type[models.Model]] = set()


def dealer_path_of(model: type[models.Model]) -> str | None:
    """The lookup from ``model``'s rows to their dealer's primary key side (``"department__dealer"``)."""
    return DEALER_PATHS.get(model)


def scope_to_dealer(queryset: QuerySet[Any], request: HttpRequest, path: str | None = None) -> QuerySet[Any]:
    """``queryset`` as the user may see it: all of it for a superuser, their dealer's rows for staff, none
    for staff tied to no dealer. ``path`` defaults to the model's known path; a shared model is all visible."""
    if sees_everything(request):
        return queryset
    model = queryset.model
    if model in SHARED_MODELS:
        return queryset
    path = path or dealer_path_of(model)
    dealer = staff_dealer(request)
    if path is None or dealer is None:
        return queryset.none()
    if path == "pk":
        return queryset.filter(pk=dealer.pk)
    if _crosses_many(model, path):  # a many-valued path would repeat rows: a semi-join instead
        return queryset.filter(pk__in=model._default_manager.filter(**{path: dealer}).values("pk"))
    return queryset.filter(**{path: dealer})


def _crosses_many(model: type[models.Model], path: str) -> bool:
    """Whether a lookup path walks a many-to-many or reverse foreign key (one row, several matches)."""
    for name in path.split("__"):
        field = model._meta.get_field(name)
        if field.many_to_many or field.one_to_many:
            return True
        if field.related_model is None:
            return False
        model = field.related_model
    return False


# --- large tables ----------------------------------------------------------------------------------


class CappedCountPaginator(Paginator):
    """Counts at most ``CAP`` + 1 rows (``SELECT COUNT(*) FROM (… LIMIT n)``): a changelist of a huge table
    costs one bounded query for its page count instead of counting every row; pages past the cap are
    reached by narrowing the filters."""

    CAP = 10_000

    @cached_property
    def count(self) -> int:  # type: ignore[override]
        rows: Any = self.object_list
        if hasattr(rows, "order_by"):
            rows = rows.order_by()  # counting needs no order
        return rows[: self.CAP + 1].count()


class ScopedRelatedFilter(RelatedFieldListFilter):
    """A foreign-key filter offering only the user's dealer's rows (Django's offers the whole table)."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> Any:
        related = scope_to_dealer(field.related_model._default_manager.all(), request)
        # a row's label may name what it points to (a department names its dealer): one query for all
        related = related.select_related(*(f.name for f in related.model._meta.concrete_fields if f.many_to_one))
        ordering = self.field_admin_ordering(field, request, model_admin)
        if ordering:
            related = related.order_by(*ordering)
        return [(row.pk, str(row)) for row in related]


# --- the three kinds of admin ----------------------------------------------------------------------


class _ScopedFormFields:
    """Limits every foreign-key and many-to-many choice of a form to what the user may see."""

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]
        if field is not None and hasattr(field, "queryset"):
            field.queryset = scope_to_dealer(field.queryset, request)
        return field

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_manytomany(db_field, request, **kwargs)  # type: ignore[misc]
        if field is not None and hasattr(field, "queryset"):
            field.queryset = scope_to_dealer(field.queryset, request)
        return field


class DealerScopedAdmin(_ScopedFormFields, admin.ModelAdmin):
    """The admin of one dealer's rows: a staff user sees, changes, deletes and picks only their dealer's.

    Subclasses name ``dealer_path``, the lookup from a row to its dealer (``"dealer"``,
    ``"department__dealer"``); a model with a ``dealer`` field of its own gets it set on rows staff add.
    """

    dealer_path: str = "dealer"
    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = 50

    def __init__(self, model: type[models.Model], admin_site: Any) -> None:
        DEALER_PATHS.setdefault(model, self.dealer_path)
        super().__init__(model, admin_site)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return scope_to_dealer(super().get_queryset(request), request, self.dealer_path)

    def get_list_filter(self, request: HttpRequest) -> Any:
        return [_scoped_filter(self.model, entry) for entry in super().get_list_filter(request)]

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        exclude = list(super().get_exclude(request, obj) or ())
        if not sees_everything(request) and self._owns_dealer_field():
            exclude.append("dealer")  # staff work for one dealer: it is set for them (save_model)
        return exclude

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change and not sees_everything(request) and self._owns_dealer_field():
            obj.dealer = staff_dealer(request)
        super().save_model(request, obj, form, change)

    def _owns_dealer_field(self) -> bool:
        return self.dealer_path == "dealer"


class DealerScopedInline(_ScopedFormFields, admin.options.InlineModelAdmin):
    """An inline of a scoped admin: its rows and its choices are the user's dealer's too."""

    dealer_path: str | None = None  # None: the rows belong to the parent, which is scoped already

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        if self.dealer_path is None:
            return queryset
        return scope_to_dealer(queryset, request, self.dealer_path)


class SharedCatalogueAdmin(_ScopedFormFields, admin.ModelAdmin):
    """Rows no dealer owns (the OEM's catalogue): every staff user may read them, superusers change them."""

    show_full_result_count = False

    def __init__(self, model: type[models.Model], admin_site: Any) -> None:
        SHARED_MODELS.add(model)
        super().__init__(model, admin_site)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return sees_everything(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return sees_everything(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return sees_everything(request)


class SuperuserOnlyAdmin(admin.ModelAdmin):
    """The OEM operator's rows (dealers, partners, grants, staff): invisible to dealer staff, whatever their
    permissions say."""

    show_full_result_count = False

    def has_module_permission(self, request: HttpRequest) -> bool:
        return sees_everything(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return sees_everything(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return sees_everything(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return sees_everything(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return sees_everything(request)


def _scoped_filter(model: type[models.Model], entry: Any) -> Any:
    """A list_filter entry naming a foreign key becomes a :class:`ScopedRelatedFilter`."""
    if not isinstance(entry, str) or "__" in entry:
        return entry
    try:
        field = model._meta.get_field(entry)
    except Exception:  # noqa: BLE001 - not a field: a method or a filter class Django resolves itself
        return entry
    if field.is_relation and field.related_model is not None:
        return (entry, ScopedRelatedFilter)
    return entry


# --- the dashboard ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DashboardItem:
    """One count of the dashboard, linking to the changelist that lists what it counts."""

    label: str
    count: int
    url: str
    severity: str = "warning"  # "warning" or "error": how the count is coloured when it is not 0


DashboardSource = Callable[[HttpRequest], list[DashboardItem]]
DASHBOARD: list[DashboardSource] = []


def dashboard_item(source: DashboardSource) -> DashboardSource:
    """Register a function answering an app's dashboard counts for this request's user (their dealer's)."""
    DASHBOARD.append(source)
    return source


def dashboard_items(request: HttpRequest) -> list[DashboardItem]:
    """Every app's dashboard counts for this user, in the order the apps registered them."""
    return [item for source in DASHBOARD for item in source(request)]


# --- form fields -----------------------------------------------------------------------------------


class CheckboxListField(forms.MultipleChoiceField):
    """A JSON list of codes (a dealer's brands, a grant's scopes) edited as checkboxes, not as raw JSON."""

    widget = forms.CheckboxSelectMultiple

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, str):  # a JSONField's initial value may arrive serialised
            try:
                value = json.loads(value)
            except ValueError:
                return []
        return value
