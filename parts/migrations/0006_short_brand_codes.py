"""seed 002's short brand codes (V, N, A, S, E, C) in place of the long names (VW, VWN, AUDI, SKODA, SEAT, CUPRA),
on parts and on customers' brand discounts. partIds are the dealer's data and stay as they are."""

from django.db import migrations, models

SHORT = {"VW": "V", "VWN": "N", "AUDI": "A", "SKODA": "S", "SEAT": "E", "CUPRA": "C"}


def _recode(apps, mapping):
    for model_name in ("Part", "CustomerDiscount"):
        model = apps.get_model("parts", model_name)
        for old, new in mapping.items():
            model.objects.filter(brand_code__iexact=old).update(brand_code=new)


def to_short(apps, schema_editor):
    _recode(apps, SHORT)


def to_long(apps, schema_editor):
    _recode(apps, {short: long for long, short in SHORT.items()})


class Migration(migrations.Migration):
    dependencies = [
        ("parts", "0005_parts_order_number"),
    ]

    operations = [
        migrations.AlterField(
            model_name="part",
            name="brand_code",
            field=models.CharField(
                help_text="seed 002's short brand code: V VW, N VWN, A AUDI, S SKODA, E SEAT, C CUPRA", max_length=20
            ),
        ),
        migrations.RunPython(to_short, to_long),
    ]
