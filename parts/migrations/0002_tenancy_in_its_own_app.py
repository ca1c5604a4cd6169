"""Foreign keys to the tenancy models, now in the tenancy app (the same tables): state only."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('parts', '0001_initial'),
        ('tenancy', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='part',
                    name='dealer',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='parts', to='tenancy.dealer'),
                ),
                migrations.AlterField(
                    model_name='partsorder',
                    name='department',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='parts_orders', to='tenancy.department'),
                ),
                migrations.AlterField(
                    model_name='partsorder',
                    name='partner',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='tenancy.partner'),
                ),
                migrations.AlterField(
                    model_name='stock',
                    name='department',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='parts_stock', to='tenancy.department'),
                ),
                migrations.AlterField(
                    model_name='surcharge',
                    name='dealer',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='parts_surcharges', to='tenancy.dealer'),
                ),
            ],
            database_operations=[],
        ),
    ]
