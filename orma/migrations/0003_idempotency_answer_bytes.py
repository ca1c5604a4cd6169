"""Idempotency answers are kept as the bytes sent (a replay re-serialised the body): stored answers are
carried over as their JSON text, then the JSON column goes."""

import json

from django.db import migrations, models


def body_to_bytes(apps, schema_editor):
    IdempotencyRecord = apps.get_model("orma", "IdempotencyRecord")
    for record in IdempotencyRecord.objects.exclude(response_body=None).iterator():
        record.response_content = json.dumps(record.response_body, ensure_ascii=False).encode()
        record.response_headers = {"Content-Type": "application/json", **record.response_headers}
        record.save(update_fields=["response_content", "response_headers"])


class Migration(migrations.Migration):
    dependencies = [
        ("orma", "0002_partner_in_tenancy"),
    ]

    operations = [
        migrations.AddField(
            model_name="idempotencyrecord",
            name="response_content",
            field=models.BinaryField(blank=True, help_text="the answer's body, as sent", null=True),
        ),
        migrations.RunPython(body_to_bytes, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name="idempotencyrecord",
            name="response_body",
        ),
    ]
