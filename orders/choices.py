"""Enumerations of the orders app (tenancy, access scopes)."""

from django.db import models


class Scope(models.TextChoices):
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


class RepairOrderStatus(models.TextChoices):
    OPENED = "OPENED"
    PRE_INVOICED = "PRE-INVOICED"
    CLOSED = "CLOSED"


class DmsStatus(models.TextChoices):
    PENDING = "PENDING"
    SYNCED = "SYNCED"
    REJECTED = "REJECTED"
    FAILED = "FAILED"


class HistoryChannel(models.TextChoices):
    API = "API"
    ADMIN = "ADMIN"
    DMS = "DMS"
