"""The list filters of parts orders (``GET parts-orders``), as a FilterSet (``orma.filters``).

``customerId`` is a customer's UUID, ``orderStatus`` one of seed 002's order statuses; a value that
does not parse is a FIELD_INVALID problem naming the parameter and the value sent, every one at once.
"""

from __future__ import annotations

import uuid

from orma.filters import ParsedFilter, RuleFilterSet

from .choices import PartsOrderStatus
from .rules import not_one_of


def _order_status(raw: str) -> str:
    if raw not in PartsOrderStatus.values:
        raise ValueError(raw)
    return raw


class PartsOrderFilterSet(RuleFilterSet):
    """The filters of the parts-order list, named by their query parameters."""

    customerId = ParsedFilter(
        field_name="customer__uuid", label="customerId", parse=uuid.UUID, message="customerId must be a UUID"
    )
    orderStatus = ParsedFilter(
        field_name="status",
        label="orderStatus",
        parse=_order_status,
        message=lambda raw: not_one_of(raw, PartsOrderStatus),
    )
