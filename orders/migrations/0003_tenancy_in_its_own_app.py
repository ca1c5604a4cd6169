"""The tenancy models leave the orders app for tenancy (their tables stay, with their rows): state only."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0002_job_servicepackage_customer_gogline_commentline_and_more'),
        ('orma', '0002_partner_in_tenancy'),
        ('parts', '0002_tenancy_in_its_own_app'),
        ('tenancy', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='packageprice',
                    name='dealer',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='package_prices', to='tenancy.dealer'),
                ),
                migrations.RemoveField(
                    model_name='department',
                    name='dealer',
                ),
                migrations.AlterField(
                    model_name='vehicle',
                    name='dealer',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='vehicles', to='tenancy.dealer'),
                ),
                migrations.RemoveField(
                    model_name='dealerstaff',
                    name='dealer',
                ),
                migrations.AlterField(
                    model_name='customer',
                    name='dealer',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='customers', to='tenancy.dealer'),
                ),
                migrations.RemoveField(
                    model_name='dealerstaff',
                    name='user',
                ),
                migrations.AlterField(
                    model_name='repairorder',
                    name='department',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='repair_orders', to='tenancy.department'),
                ),
                migrations.RemoveField(
                    model_name='grant',
                    name='department',
                ),
                migrations.RemoveField(
                    model_name='grant',
                    name='partner',
                ),
                migrations.AlterField(
                    model_name='repairorder',
                    name='created_by',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='tenancy.partner'),
                ),
                migrations.AlterField(
                    model_name='orderhistory',
                    name='partner',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='tenancy.partner'),
                ),
                migrations.DeleteModel(
                    name='Dealer',
                ),
                migrations.DeleteModel(
                    name='DealerStaff',
                ),
                migrations.DeleteModel(
                    name='Department',
                ),
                migrations.DeleteModel(
                    name='Grant',
                ),
                migrations.DeleteModel(
                    name='Partner',
                ),
            ],
            database_operations=[],
        ),
    ]
