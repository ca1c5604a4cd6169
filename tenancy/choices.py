"""Enumerations of tenancy: access scopes, department types, DMS connections and the brands served."""

from django.db import models


class Scope(models.TextChoices):
    """What a grant allows a partner on one department (DESIGN §3)."""

    ORDER_CREATE = "order.create"
    ORDER_UPDATE = "order.update"
    ORDER_READ = "order.read"
    CUSTOMER_WRITE = "customer.write"
    CUSTOMER_READ = "customer.read"
    PARTS_READ = "parts.read"
    PARTS_ORDER = "parts.order"
    NOTIFICATION_MANAGE = "notification.manage"


ALL_SCOPES: tuple[str, ...] = tuple(Scope.values)


class DepartmentType(models.TextChoices):
    SERVICE = "SERVICE", "Service"
    PARTS = "PARTS", "Parts"
    SALES = "SALES", "Sales"
    BODYSHOP = "BODYSHOP", "Body shop"


class DmsKind(models.TextChoices):
    """The protocol of a dealer's DMS: picks the adapter (``dms_adapters.registry``)."""

    SANDBOX = "sandbox", "Sandbox (built-in)"
    MYKAARMA = "mykaarma", "myKaarma"
    KEYLOOP = "keyloop", "Keyloop"


class DmsMode(models.TextChoices):
    SYNC = "sync", "Synchronous"
    ASYNC = "async", "Asynchronous"


class Brand(models.TextChoices):
    """Brands of seed 000, by the short codes dealers use."""

    VW = "VW", "Volkswagen passenger cars"
    VWN = "VWN", "Volkswagen commercial vehicles"
    AUDI = "AUDI", "Audi"
    SKODA = "SKODA", "Škoda"
    SEAT = "SEAT", "SEAT"
    CUPRA = "CUPRA", "CUPRA"


ALL_BRANDS: tuple[str, ...] = tuple(Brand.values)
