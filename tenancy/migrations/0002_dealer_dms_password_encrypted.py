"""Dealers' DMS passwords are encrypted at rest (orma.crypto): the column becomes text (a token is longer
than the password), then every password stored in the clear is written again, encrypted."""

from django.db import migrations

import orma.crypto


def encrypt_stored_passwords(apps, schema_editor):
    orma.crypto.reencrypt(apps.get_model("tenancy", "Dealer"), ["dms_password"])


def decrypt_stored_passwords(apps, schema_editor):
    Dealer = apps.get_model("tenancy", "Dealer")
    for dealer in Dealer.objects.exclude(dms_password="").iterator():
        # a plain UPDATE of the raw column: the field would encrypt again
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Dealer._meta.db_table} SET dms_password = %s WHERE id = %s",
                [dealer.dms_password, dealer.pk],
            )


class Migration(migrations.Migration):
    dependencies = [
        ("tenancy", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="dealer",
            name="dms_password",
            field=orma.crypto.EncryptedTextField(blank=True),
        ),
        migrations.RunPython(encrypt_stored_passwords, decrypt_stored_passwords),
    ]
