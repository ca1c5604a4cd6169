"""Enumerations of the orders app: the one home of each (body rules, serializers, filters and the schema's
enum names in ``SPECTACULAR_SETTINGS`` refer to these)."""

from django.db import models


class RepairOrderStatus(models.TextChoices):
    OPENED = "OPENED"
    PRE_INVOICED = "PRE-INVOICED"
    CLOSED = "CLOSED"


class DmsStatus(models.TextChoices):
    """Where an order stands with the dealer's DMS (repair orders and parts orders alike)."""

    PENDING = "PENDING"
    SYNCED = "SYNCED"
    REJECTED = "REJECTED"
    FAILED = "FAILED"


class ReferenceType(models.TextChoices):
    """WorkshopOrder 2.x ``order.references[].type``."""

    APPOINTMENT = "APPOINTMENT"
    BOOKING = "BOOKING"
    CLAIM = "CLAIM"
    PARTNER_ORDER_ID = "PARTNER_ORDER_ID"


class OrderType(models.TextChoices):
    """Seed 001's ``order.type``: a repair order."""

    RO = "RO"


class YesNo(models.TextChoices):
    """Seed 001's flags (``waiter``, ``rental``)."""

    Y = "Y"
    N = "N"
