"""Enumerations of the parts app: seed 002's order types and status models, availability, units."""

from django.db import models


class PartsOrderType(models.TextChoices):
    """Seed 002's ``orderType``: the urgency of a parts order."""

    EMG = "EMG", "Emergency"
    VOR = "VOR", "Vehicle off road"
    STK = "STK", "Stock order"
    DPO = "DPO", "Daily parts order"
    COL = "COL", "Collection"


class PartsOrderLineStatus(models.TextChoices):
    """Seed 002's ``partsOrderLineStatus``."""

    OPEN = "OPEN", "Open (draft line in the DMS)"
    RESERVED = "RESERVED", "Reserved"
    ISSUED = "ISSUED", "Issued (picked)"
    BACKORDER = "BACKORDER", "Back order"
    PACKED = "PACKED", "Packed"
    INTRANSIT = "INTRANSIT", "In transit"
    DELIVERED = "DELIVERED", "Delivered"
    CANCELLED = "CANCELLED", "Cancelled"
    INVOICED = "INVOICED", "Invoiced"


class PartsOrderStatus(models.TextChoices):
    """Seed 002's ``orderStatus``, derived from the line statuses (``parts.rules.derive_order_status``)."""

    CREATED = "CREATED", "Created"
    CONFIRMED = "CONFIRMED", "Confirmed"
    INPROGRESS = "INPROGRESS", "In progress"
    SHIPPED = "SHIPPED", "Shipped"
    CLOSED = "CLOSED", "Closed"


class Availability(models.TextChoices):
    """How much of a requested quantity the store can supply now."""

    IN_STOCK = "IN_STOCK", "In stock"
    PARTIAL = "PARTIAL", "Partly in stock"
    BACKORDER = "BACKORDER", "Stocked, none available now"
    NOT_STOCKED = "NOT_STOCKED", "Not stocked in this store"
    NOT_FOUND = "NOT_FOUND", "Not in the dealer's catalogue (a basket's line)"


class UnitOfMeasure(models.TextChoices):
    """What one piece of a part is measured in (with ``unit_of_measure_value``: 5 LITRE)."""

    PIECE = "PIECE", "Piece"
    LITRE = "LITRE", "Litre"
    METRE = "METRE", "Metre"
    KILOGRAM = "KILOGRAM", "Kilogram"
    SET = "SET", "Set"
    PAIR = "PAIR", "Pair"


class WeightUnit(models.TextChoices):
    """The unit a part's weight is answered in."""

    KG = "KG", "Kilogram"


# Lines whose part has left the shelf: a reservation they held is consumed (on hand and reserved drop).
LEFT_THE_SHELF = frozenset(
    {
        PartsOrderLineStatus.ISSUED,
        PartsOrderLineStatus.PACKED,
        PartsOrderLineStatus.INTRANSIT,
        PartsOrderLineStatus.DELIVERED,
        PartsOrderLineStatus.INVOICED,
    }
)
# A line in one of these statuses never changes again.
FINAL_LINE_STATUSES = frozenset({PartsOrderLineStatus.CANCELLED, PartsOrderLineStatus.INVOICED})
