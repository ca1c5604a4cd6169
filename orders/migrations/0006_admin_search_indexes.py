"""Indexes behind the back office's searches and its dashboard filter (PostgreSQL only).

The admin searches each field from its start, case-insensitively: Django writes that as
``UPPER(col::text) LIKE UPPER('term%')``, which a plain b-tree cannot serve; an expression index on
``UPPER(col) text_pattern_ops`` can (an index scan whatever the collation). SQLite (the embedded default)
has no operator classes and small tables: nothing to do there. ``orders/tests/test_admin_performance.py``
checks with EXPLAIN that each search is an index scan over 100,000 orders.
"""

from django.db import migrations

INDEXES = {
    "ro_number_upper_prefix": "orders_repairorder (UPPER(order_number::text) text_pattern_ops)",
    "ro_vin_upper_prefix": "orders_repairorder (UPPER(vin::text) text_pattern_ops)",
    "ro_dms_status_updated": "orders_repairorder (dms_status, updated_at)",
    "customer_family_upper_prefix": "orders_customer (UPPER(family_name::text) text_pattern_ops)",
    "customer_company_upper_prefix": "orders_customer (UPPER(company_name::text) text_pattern_ops)",
    "customer_given_upper_prefix": "orders_customer (UPPER(given_name::text) text_pattern_ops)",
    "vehicle_plate_upper_prefix": "orders_vehicle (UPPER(license_plate::text) text_pattern_ops)",
    "vehicle_vin_upper_prefix": "orders_vehicle (UPPER(vin::text) text_pattern_ops)",
    "partline_number_upper_prefix": "orders_partline (UPPER(part_number::text) text_pattern_ops)",
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, target in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("orders", "0005_repair_order_customer_index")]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
