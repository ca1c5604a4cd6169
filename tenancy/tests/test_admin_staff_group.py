"""The "Dealer staff" group: made by its migration, equal to the role's spec, covering every model, and
enough for a workshop's day but nothing of the OEM operator's."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Group

from tenancy.staff import DEALER_STAFF_GROUP, DEALER_STAFF_PERMISSIONS, NOT_FOR_STAFF
from tests.admin_world import make_world, staff_user

pytestmark = pytest.mark.django_db

OURS = ("orma", "tenancy", "orders", "parts", "dms_adapters", "notifications")


def granted(group: Group) -> dict[str, set[str]]:
    held: dict[str, set[str]] = {}
    for permission in group.permissions.select_related("content_type"):
        action, _, model = permission.codename.partition("_")
        held.setdefault(f"{permission.content_type.app_label}.{model}", set()).add(action)
    return held


class TestTheGroup:
    def test_the_migration_made_it_with_exactly_the_roles_permissions(self) -> None:
        group = Group.objects.get(name=DEALER_STAFF_GROUP)

        assert granted(group) == {model: set(actions) for model, actions in DEALER_STAFF_PERMISSIONS.items()}

    def test_the_migration_copies_the_spec(self) -> None:
        migration = importlib.import_module("tenancy.migrations.0003_dealer_staff_group")

        assert migration.PERMISSIONS == DEALER_STAFF_PERMISSIONS and migration.GROUP == DEALER_STAFF_GROUP

    def test_every_model_of_orma_is_given_to_staff_or_kept_from_them(self) -> None:
        models = {model._meta.label_lower for app in OURS for model in apps.get_app_config(app).get_models()}

        assert models - DEALER_STAFF_PERMISSIONS.keys() - NOT_FOR_STAFF.keys() == set()  # a new model: decide
        assert DEALER_STAFF_PERMISSIONS.keys() & NOT_FOR_STAFF.keys() == set()
        assert (DEALER_STAFF_PERMISSIONS.keys() | NOT_FOR_STAFF.keys()) - models == set()  # nothing stale

    def test_the_demo_staff_user_is_a_member(self, run_json) -> None:
        from django.contrib.auth import get_user_model

        result = run_json("orma_seed_demo")
        user = get_user_model().objects.get(username=result["staff"]["username"])

        assert user.check_password(result["staff"]["password"])
        assert user.is_staff and not user.is_superuser
        assert user.groups.filter(name=DEALER_STAFF_GROUP).exists()
        assert str(user.dealer_staff.dealer.uuid) == result["dealerUUID"]


class TestWhatStaffCanDo:
    @pytest.fixture
    def world(self):
        return make_world("Alpha", vin_serial=1)

    @pytest.fixture
    def staff(self, world, client):
        client.force_login(staff_user(world.dealer, "alpha-staff"))
        return client

    @pytest.mark.parametrize(
        "path",
        [
            "/admin/",
            "/admin/orders/repairorder/",
            "/admin/orders/customer/",
            "/admin/orders/vehicle/",
            "/admin/orders/servicepackage/",
            "/admin/orders/packageprice/",
            "/admin/parts/part/",
            "/admin/parts/stock/",
            "/admin/parts/partsorder/",
            "/admin/dms_adapters/dmspush/",
            "/admin/notifications/subscription/",
            "/admin/notifications/delivery/",
        ],
    )
    def test_it_reaches_the_workshops_pages(self, staff, path) -> None:
        assert staff.get(path).status_code == 200

    def test_it_views_and_changes_orders_their_lines_and_parts_orders(self, world, staff) -> None:
        user = staff.get("/admin/").wsgi_request.user
        for permission in (
            "orders.view_repairorder",
            "orders.change_repairorder",
            "orders.change_job",
            "orders.change_partline",
            "parts.view_partsorder",
            "parts.change_partsorder",
            "parts.change_partsorderline",
        ):
            assert user.has_perm(permission), permission
        page = staff.get(f"/admin/orders/repairorder/{world.repair_order.pk}/change/")
        assert page.context["has_change_permission"]
        parts_order = next(row for model, row in world.rows.items() if model.__name__ == "PartsOrder")
        page = staff.get(f"/admin/parts/partsorder/{parts_order.pk}/change/")
        assert page.context["has_change_permission"]

    @pytest.mark.parametrize(
        "path",
        [
            "/admin/tenancy/partner/",
            "/admin/tenancy/grant/",
            "/admin/tenancy/dealer/",
            "/admin/tenancy/dealerstaff/",
            "/admin/tenancy/partner/add/",
            "/admin/auth/user/",
            "/admin/auth/group/",
        ],
    )
    def test_it_cannot_reach_partners_grants_or_dealers(self, staff, path) -> None:
        assert staff.get(path).status_code == 403

    def test_the_index_lists_no_partner_grant_or_dealer(self, staff) -> None:
        page = staff.get("/admin/").content.decode()

        assert "/admin/tenancy/partner/" not in page and "/admin/tenancy/dealer/" not in page
        assert "/admin/orders/repairorder/" in page
