"""Dealer scoping of the whole admin, walked from the admin registry: a model registered later is covered
the day it is registered (and fails here if its admin forgets the mixin).

Two dealers, Alpha and Bravo, each with a row of every model; a staff user of Alpha must never see, open,
pick, filter by or autocomplete a row of Bravo, and Bravo's ids must answer exactly like missing ones.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib import admin
from django.contrib.admin.filters import RelatedFieldListFilter
from django.db import models
from django.urls import reverse

from dms_adapters.models import DmsPush
from orders.models import Customer
from orma.admin import (
    SHARED_MODELS,
    DealerScopedAdmin,
    SharedCatalogueAdmin,
    SuperuserOnlyAdmin,
    dealer_path_of,
)
from orma.outbox import OutboxStatus

from .admin_world import make_world, staff_user, superuser

pytestmark = pytest.mark.django_db

# Django's and django-axes' own admins (users, groups, login attempts): the "Dealer staff" group holds no
# permission on them (test_staff_reach_no_superuser_only_or_django_admin checks staff get 403).
THIRD_PARTY_APPS = {"auth", "axes"}
MISSING_ID = 987654321


def label(model: type[models.Model]) -> str:
    return model._meta.label_lower


def registry() -> list[tuple[type[models.Model], admin.ModelAdmin]]:
    return sorted(admin.site._registry.items(), key=lambda item: label(item[0]))


def scoped_admins() -> list[tuple[type[models.Model], admin.ModelAdmin]]:
    return [(m, a) for m, a in registry() if isinstance(a, DealerScopedAdmin)]


def url(model: type[models.Model], view: str, *args: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def rows_of(model: type[models.Model], dealer: Any) -> set[Any]:
    """The primary keys of ``dealer``'s rows of ``model`` (by the path its admin declares)."""
    path = dealer_path_of(model)
    assert path is not None, f"{label(model)} has no way to its dealer"
    lookup = {"pk": dealer.pk} if path == "pk" else {path: dealer}
    return set(model._default_manager.filter(**lookup).values_list("pk", flat=True))


@pytest.fixture
def worlds() -> tuple[Any, Any]:
    return make_world("Alpha", vin_serial=1), make_world("Bravo", vin_serial=2)


@pytest.fixture
def alpha_staff(worlds: Any, client: Any) -> Any:
    client.force_login(staff_user(worlds[0].dealer, "alpha-staff"))
    return client


class TestTheRegistry:
    def test_it_holds_only_scoped_shared_or_superuser_only_admins(self) -> None:
        kinds = (DealerScopedAdmin, SharedCatalogueAdmin, SuperuserOnlyAdmin)
        forgotten = [
            label(model)
            for model, model_admin in registry()
            if not isinstance(model_admin, kinds) and model._meta.app_label not in THIRD_PARTY_APPS
        ]
        assert forgotten == []

    def test_the_worlds_give_bravo_a_row_of_every_scoped_model(self, worlds: Any) -> None:
        # without a row of Bravo a scoping check below would pass without checking anything
        empty = [label(model) for model, _ in scoped_admins() if not rows_of(model, worlds[1].dealer)]
        assert empty == []


class TestChangelists:
    def test_staff_see_their_dealers_rows_and_none_of_the_other(self, worlds: Any, alpha_staff: Any) -> None:
        alpha, bravo = worlds
        for model, _ in scoped_admins():
            response = alpha_staff.get(url(model, "changelist"))
            assert response.status_code == 200, label(model)
            shown = {row.pk for row in response.context["cl"].result_list}
            assert shown & rows_of(model, bravo.dealer) == set(), label(model)
            assert rows_of(model, alpha.dealer) <= shown, label(model)

    def test_the_superuser_sees_both_dealers(self, worlds: Any, client: Any) -> None:
        alpha, bravo = worlds
        client.force_login(superuser())
        for model, _ in scoped_admins():
            response = client.get(url(model, "changelist"))
            assert response.status_code == 200, label(model)
            shown = {row.pk for row in response.context["cl"].result_list}
            assert rows_of(model, alpha.dealer) | rows_of(model, bravo.dealer) <= shown, label(model)

    def test_staff_reach_no_superuser_only_or_django_admin(self, worlds: Any, alpha_staff: Any) -> None:
        for model, model_admin in registry():
            if isinstance(model_admin, DealerScopedAdmin | SharedCatalogueAdmin):
                continue
            assert alpha_staff.get(url(model, "changelist")).status_code == 403, label(model)
            assert alpha_staff.get(url(model, "add")).status_code == 403, label(model)

    def test_the_shared_catalogue_is_readable_and_not_changeable(self, worlds: Any, alpha_staff: Any) -> None:
        for model in SHARED_MODELS:
            row = worlds[1].rows[model]
            assert alpha_staff.get(url(model, "changelist")).status_code == 200
            page = alpha_staff.get(url(model, "change", row.pk))
            assert page.status_code == 200 and not page.context["has_change_permission"]
            assert alpha_staff.post(url(model, "change", row.pk), {}).status_code == 403


class TestObjectPages:
    @pytest.mark.parametrize("view", ["change", "delete", "history"])
    def test_another_dealers_id_answers_like_a_missing_one(self, worlds: Any, alpha_staff: Any, view: str) -> None:
        _, bravo = worlds
        for model, _ in scoped_admins():
            if model in SHARED_MODELS:
                continue
            theirs = alpha_staff.get(url(model, view, sorted(rows_of(model, bravo.dealer))[0]))
            missing = alpha_staff.get(url(model, view, MISSING_ID))
            assert (theirs.status_code, theirs.get("Location")) == (missing.status_code, missing.get("Location")), (
                label(model),
                view,
            )
            assert theirs.status_code in (302, 403), (label(model), view)
            if theirs.status_code == 302:
                assert theirs["Location"] == reverse("admin:index")

    def test_forms_offer_no_choice_of_the_other_dealer(self, worlds: Any, alpha_staff: Any) -> None:
        alpha, bravo = worlds
        checked = 0
        for model, _ in scoped_admins():
            pages = [url(model, "change", sorted(rows_of(model, alpha.dealer))[0])]
            if alpha_staff.get(url(model, "add")).status_code == 200:
                pages.append(url(model, "add"))
            for page in pages:
                response = alpha_staff.get(page)
                assert response.status_code == 200, page
                for form in _forms_of(response.context):
                    for name, field in form.fields.items():
                        queryset = getattr(field, "queryset", None)
                        if queryset is None or name == form._meta.model._meta.pk.name:
                            continue  # an inline row's own hidden id: Django looks it up in the inline's rows
                        checked += 1
                        related = queryset.model
                        if related in SHARED_MODELS:
                            continue
                        if dealer_path_of(related) is None:
                            assert not queryset.exists(), (page, name)
                            continue
                        offered = set(queryset.values_list("pk", flat=True))
                        assert offered & rows_of(related, bravo.dealer) == set(), (page, name)
        assert checked > 10  # the customer, vehicle, part, department ... choices were really looked at

    def test_filters_offer_no_choice_of_the_other_dealer(self, worlds: Any, alpha_staff: Any) -> None:
        _, bravo = worlds
        checked = 0
        for model, _ in scoped_admins():
            response = alpha_staff.get(url(model, "changelist"))
            for spec in response.context["cl"].filter_specs:
                if isinstance(spec, RelatedFieldListFilter):
                    checked += 1
                    offered = {pk for pk, _ in spec.lookup_choices}
                    assert offered & rows_of(spec.field.related_model, bravo.dealer) == set(), label(model)
        assert checked >= 3


class TestAutocomplete:
    def test_it_answers_nothing_of_the_other_dealer(self, worlds: Any, alpha_staff: Any) -> None:
        alpha, bravo = worlds
        checked = []
        for model, model_admin in scoped_admins():
            sources = [(model, name) for name in model_admin.autocomplete_fields]
            for inline in model_admin.inlines:
                sources += [(inline.model, name) for name in inline.autocomplete_fields]
            for source, field_name in sources:
                target = source._meta.get_field(field_name).related_model
                query = urlencode(
                    {
                        "app_label": source._meta.app_label,
                        "model_name": source._meta.model_name,
                        "field_name": field_name,
                    }
                )
                response = alpha_staff.get(f"/admin/autocomplete/?{query}&term=")
                assert response.status_code == 200, (label(source), field_name)
                answered = {int(result["id"]) for result in response.json()["results"]}
                if target not in SHARED_MODELS:
                    assert answered & rows_of(target, bravo.dealer) == set(), (label(source), field_name)
                    assert answered & rows_of(target, alpha.dealer), (label(source), field_name)
                checked.append((label(source), field_name))
        assert ("orders.repairorder", "customer") in checked and ("parts.stock", "department") in checked

    def test_the_superuser_gets_both_dealers(self, worlds: Any, client: Any) -> None:
        alpha, bravo = worlds
        client.force_login(superuser())
        query = urlencode({"app_label": "orders", "model_name": "repairorder", "field_name": "customer"})
        answered = {int(r["id"]) for r in client.get(f"/admin/autocomplete/?{query}&term=").json()["results"]}
        assert rows_of(Customer, alpha.dealer) | rows_of(Customer, bravo.dealer) <= answered


class TestActions:
    def test_an_action_on_another_dealers_row_touches_nothing(self, worlds: Any, alpha_staff: Any) -> None:
        _, bravo = worlds
        push = DmsPush.objects.get(repair_order=bravo.repair_order)
        DmsPush.objects.filter(pk=push.pk).update(status=OutboxStatus.FAILED, attempts=7)

        response = alpha_staff.post(
            url(DmsPush, "changelist"), {"action": "resend", "_selected_action": [push.pk], "index": 0}
        )

        assert response.status_code == 302
        push.refresh_from_db()
        assert (push.status, push.attempts) == (OutboxStatus.FAILED, 7)


def _forms_of(context: Any) -> list[Any]:
    """The change page's form and every form of its inlines."""
    forms = [context["adminform"].form]
    for inline in context.get("inline_admin_formsets", []):
        forms.extend(inline.formset.forms)
        forms.append(inline.formset.empty_form)
    return forms
