"""Dealer, Department, Partner, Grant and DealerStaff move here from the orders app. Their tables
keep their names and rows: this migration only tells Django's state where the models now live, and moves
their content types (so permissions granted on them stay granted)."""

import django.core.validators
import django.db.models.deletion
import uuid
from django.conf import settings
from django.db import migrations, models


MODELS = ("dealer", "department", "partner", "grant", "dealerstaff")


def _relabel(apps, old_label, new_label):
    content_types = apps.get_model("contenttypes", "ContentType")
    taken = content_types.objects.filter(app_label=new_label, model__in=MODELS).values_list("model", flat=True)
    content_types.objects.filter(app_label=old_label, model__in=MODELS).exclude(model__in=list(taken)).update(
        app_label=new_label
    )


def _move_content_types(apps, schema_editor):
    _relabel(apps, "orders", "tenancy")


def _move_content_types_back(apps, schema_editor):
    _relabel(apps, "tenancy", "orders")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('orders', '0002_job_servicepackage_customer_gogline_commentline_and_more'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Dealer',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('uuid', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                        ('name', models.CharField(max_length=200)),
                        ('country', models.CharField(default='DE', help_text='ISO 3166-1 alpha-2', max_length=2)),
                        ('brands', models.JSONField(default=list, help_text='Brand codes, a subset of VW, VWN, AUDI, SKODA, SEAT, CUPRA')),
                        ('dms_kind', models.CharField(choices=[('sandbox', 'Sandbox (built-in)'), ('mykaarma', 'myKaarma'), ('keyloop', 'Keyloop')], default='sandbox', max_length=20)),
                        ('dms_base_url', models.URLField(blank=True)),
                        ('dms_username', models.CharField(blank=True, max_length=200)),
                        ('dms_password', models.CharField(blank=True, max_length=200)),
                        ('dms_mode', models.CharField(choices=[('sync', 'Synchronous'), ('async', 'Asynchronous')], default='sync', max_length=10)),
                        ('parts_order_retention_days', models.PositiveIntegerField(default=365, validators=[django.core.validators.MinValueValidator(1)])),
                        ('parts_order_reference_required', models.BooleanField(default=False)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        'db_table': 'orders_dealer',
                        'ordering': ['name'],
                    },
                ),
                migrations.CreateModel(
                    name='Partner',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('uuid', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                        ('name', models.CharField(max_length=200)),
                        ('username', models.CharField(max_length=150, unique=True)),
                        ('secret_hash', models.CharField(editable=False, max_length=64)),
                        ('previous_secret_hash', models.CharField(blank=True, editable=False, max_length=64)),
                        ('previous_secret_valid_until', models.DateTimeField(blank=True, editable=False, null=True)),
                        ('is_active', models.BooleanField(default=True)),
                        ('rate_limit_per_minute', models.PositiveIntegerField(blank=True, help_text='Requests per minute; empty means the server default', null=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        'db_table': 'orders_partner',
                        'ordering': ['username'],
                    },
                ),
                migrations.CreateModel(
                    name='DealerStaff',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('dealer', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='staff', to='tenancy.dealer')),
                        ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='dealer_staff', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'verbose_name_plural': 'dealer staff',
                        'db_table': 'orders_dealerstaff',
                    },
                ),
                migrations.CreateModel(
                    name='Department',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('uuid', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                        ('name', models.CharField(max_length=200)),
                        ('type', models.CharField(choices=[('SERVICE', 'Service'), ('PARTS', 'Parts'), ('SALES', 'Sales'), ('BODYSHOP', 'Body shop')], default='SERVICE', max_length=20)),
                        ('dms_id', models.CharField(blank=True, help_text="The department's id in the DMS; default its UUID", max_length=50)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('dealer', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='departments', to='tenancy.dealer')),
                    ],
                    options={
                        'db_table': 'orders_department',
                        'ordering': ['dealer__name', 'name'],
                    },
                ),
                migrations.CreateModel(
                    name='Grant',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('scopes', models.JSONField(default=list, help_text='Any of order.create, order.update, order.read, customer.write, customer.read, parts.read, parts.order, notification.manage')),
                        ('department', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='grants', to='tenancy.department')),
                        ('partner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='grants', to='tenancy.partner')),
                    ],
                    options={
                        'db_table': 'orders_grant',
                        'constraints': [models.UniqueConstraint(fields=('partner', 'department'), name='grant_partner_department')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(_move_content_types, _move_content_types_back),
    ]
