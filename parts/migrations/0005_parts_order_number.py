"""seed 002's numeric partsOrderId: PartsOrder.number, unique, drawn by the database on insert.

Existing orders keep their id as their number; on PostgreSQL the numbers' own sequence starts after them.
"""

import uuid

from django.db import migrations, models

import parts.models

SEQUENCE = "parts_partsorder_number_seq"


def number_existing_orders(apps, schema_editor):
    table = apps.get_model("parts", "PartsOrder")._meta.db_table
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET number = id")
        if schema_editor.connection.vendor == "postgresql":
            cursor.execute(f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE} OWNED BY {table}.number")
            cursor.execute(f"SELECT setval('{SEQUENCE}', COALESCE((SELECT MAX(number) FROM {table}), 0) + 1, false)")


def drop_sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP SEQUENCE IF EXISTS {SEQUENCE}")


class Migration(migrations.Migration):
    dependencies = [
        ("parts", "0004_parts_order_version"),
    ]

    operations = [
        migrations.AddField(
            model_name="partsorder",
            name="number",
            field=parts.models.PartsOrderNumberField(editable=False, null=True, help_text="the API's partsOrderId"),
        ),
        migrations.RunPython(number_existing_orders, drop_sequence),
        migrations.AlterField(
            model_name="partsorder",
            name="number",
            field=parts.models.PartsOrderNumberField(editable=False, unique=True, help_text="the API's partsOrderId"),
        ),
        migrations.AlterField(
            model_name="partsorder",
            name="uuid",
            field=models.UUIDField(
                default=uuid.uuid4, editable=False, unique=True, help_text="OrMa's own id of the order"
            ),
        ),
    ]
