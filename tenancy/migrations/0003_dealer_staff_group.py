"""The "Dealer staff" group with the permissions a workshop needs (``tenancy.staff``, copied literally:
a migration must not change when the code does; ``tenancy/tests/test_admin_staff_group.py`` keeps them equal).

Django creates permissions after the migrations ran (post_migrate); on a fresh database this migration
creates them first, so the group gets every one of them.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Dealer staff"
PERMISSIONS = {
    "orders.repairorder": ("view", "change"),
    "orders.job": ("view", "change"),
    "orders.partline": ("view", "change"),
    "orders.orderhistory": ("view",),
    "orders.customer": ("view", "add", "change"),
    "orders.vehicle": ("view", "add", "change"),
    "orders.servicepackage": ("view",),
    "orders.packageprice": ("view", "add", "change"),
    "parts.part": ("view", "add", "change"),
    "parts.stock": ("view", "add", "change"),
    "parts.customerdiscount": ("view", "add", "change", "delete"),
    "parts.surcharge": ("view", "change"),
    "parts.partsorder": ("view", "change"),
    "parts.partsorderline": ("view", "change"),
    "parts.partsorderstatuschange": ("view",),
    "dms_adapters.dmspush": ("view", "change"),
    "dms_adapters.dmsattempt": ("view",),
    "dms_adapters.dmscircuit": ("view",),
    "dms_adapters.partsorderpush": ("view",),
    "notifications.subscription": ("view",),
    "notifications.subscriptionnotice": ("view",),
    "notifications.delivery": ("view", "change"),
    "notifications.deliveryattempt": ("view",),
    "tenancy.department": ("view",),
}


def create_group(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    wanted = []
    for model, actions in PERMISSIONS.items():
        app_label, model_name = model.split(".")
        for action in actions:
            wanted.append(
                Permission.objects.get(content_type__app_label=app_label, codename=f"{action}_{model_name}")
            )
    group.permissions.set(wanted)


def drop_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("tenancy", "0002_dealer_dms_password_encrypted"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("orders", "0004_packageuse_description"),
        ("parts", "0004_parts_order_version"),
        ("dms_adapters", "0002_parts_order_push"),
        ("notifications", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_group, drop_group)]
