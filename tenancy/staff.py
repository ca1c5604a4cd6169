"""The "Dealer staff" role: what a workshop's people may do in the back office.

A migration (``tenancy/migrations/0003_dealer_staff_group.py``) creates the group with these permissions,
copied there literally (a migration must not change when this module does); a test keeps the three in step
(this spec, the migrated group, and the models: every model of OrMa's apps is either here or in
``NOT_FOR_STAFF``, so a model added later forces a decision). What staff *see* of each model is their
dealer's rows only (``orma.admin``), whatever these permissions say.
"""

from __future__ import annotations

DEALER_STAFF_GROUP = "Dealer staff"

# "app_label.model": the actions of Django's permissions (view, add, change, delete).
DEALER_STAFF_PERMISSIONS: dict[str, tuple[str, ...]] = {
    # the workshop's work: orders, their lines and history, customers and vehicles, package prices
    "orders.repairorder": ("view", "change"),
    "orders.job": ("view", "change"),
    "orders.partline": ("view", "change"),
    "orders.orderhistory": ("view",),
    "orders.customer": ("view", "add", "change"),
    "orders.vehicle": ("view", "add", "change"),
    "orders.servicepackage": ("view",),
    "orders.packageprice": ("view", "add", "change"),
    # the parts counter: catalogue, stock, discounts, parts orders and their line statuses
    "parts.part": ("view", "add", "change"),
    "parts.stock": ("view", "add", "change"),
    "parts.customerdiscount": ("view", "add", "change", "delete"),
    "parts.surcharge": ("view", "change"),
    "parts.partsorder": ("view", "change"),
    "parts.partsorderline": ("view", "change"),
    "parts.partsorderstatuschange": ("view",),
    # the DMS push: see it, resend it ("change")
    "dms_adapters.dmspush": ("view", "change"),
    "dms_adapters.dmsattempt": ("view",),
    "dms_adapters.dmscircuit": ("view",),
    "dms_adapters.partsorderpush": ("view",),
    # webhooks: see subscriptions and the delivery log, redeliver ("change")
    "notifications.subscription": ("view",),
    "notifications.subscriptionnotice": ("view",),
    "notifications.delivery": ("view", "change"),
    "notifications.deliveryattempt": ("view",),
    # their own departments, read-only
    "tenancy.department": ("view",),
}

# Models staff get no permission on, and why (the OEM operator's, or plumbing).
NOT_FOR_STAFF: dict[str, str] = {
    "tenancy.dealer": "the OEM operator's (DMS credentials, brands)",
    "tenancy.partner": "the OEM operator's (API consumers and their secrets)",
    "tenancy.grant": "the OEM operator's (what partners may do)",
    "tenancy.dealerstaff": "the OEM operator's (who works for which dealer)",
    "orma.idempotencyrecord": "API plumbing",
    "orders.gogline": "part of an order's document, edited on the order's page",
    "orders.techhoursline": "part of an order's document, edited on the order's page",
    "orders.commentline": "part of an order's document, edited on the order's page",
    "orders.labourline": "part of an order's document (a package's labour)",
    "orders.packageuse": "part of an order's document (a package's use)",
    "orders.mlsline": "part of an order's document, edited on the order's page",
    "orders.orderreference": "part of an order's document",
    "orders.packagelabourline": "the OEM's package catalogue",
    "orders.packagepartline": "the OEM's package catalogue",
    "notifications.event": "shown on each delivery's page",
}
