"""The move of tenancy out of the orders app changed no table and lost no row: a database migrated before
the move keeps its dealers, partners and grants, and the permissions granted on them."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE_THE_MOVE = [
    ("contenttypes", "0002_remove_content_type_name"),
    ("auth", "0012_alter_user_first_name_max_length"),
    ("orders", "0002_job_servicepackage_customer_gogline_commentline_and_more"),
    ("parts", "0001_initial"),
    ("orma", "0001_initial"),
    ("tenancy", None),
]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state([node for node in targets if node[1] is not None]).apps


def test_rows_and_permissions_survive_the_move():
    old = migrate(BEFORE_THE_MOVE)
    dealer = old.get_model("orders", "Dealer").objects.create(name="Autohaus Alt", brands=["VW"])
    department = old.get_model("orders", "Department").objects.create(dealer=dealer, name="Service", dms_id="S")
    partner = old.get_model("orders", "Partner").objects.create(name="Alt", username="alt", secret_hash="0" * 64)
    old.get_model("orders", "Grant").objects.create(partner=partner, department=department, scopes=["order.read"])
    # Before the move the content type is the orders app's (migrating back relabels it too).
    content_type, _ = old.get_model("contenttypes", "ContentType").objects.get_or_create(
        app_label="orders", model="dealer"
    )
    old.get_model("auth", "Permission").objects.get_or_create(
        content_type=content_type, codename="view_dealer", defaults={"name": "Can view dealer"}
    )

    new = migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    moved = new.get_model("tenancy", "Grant").objects.select_related("partner", "department__dealer").get()
    assert (moved.partner.username, moved.department.name, moved.department.dealer.name, moved.scopes) == (
        "alt",
        "Service",
        "Autohaus Alt",
        ["order.read"],
    )
    permission = new.get_model("auth", "Permission").objects.select_related("content_type").get(codename="view_dealer")
    assert (permission.content_type.app_label, permission.content_type.model) == ("tenancy", "dealer")
    assert new.get_model("tenancy", "Dealer")._meta.db_table == "orders_dealer"
