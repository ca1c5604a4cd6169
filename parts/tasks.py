"""Periodic tasks of the parts app (thin: each calls one service)."""

from __future__ import annotations

import logging

from celery import shared_task

from .services import parts_orders_purge

logger = logging.getLogger(__name__)


@shared_task(name="parts.purge_parts_orders", acks_late=True)
def purge_parts_orders() -> int:
    """Delete closed parts orders past their dealer's retention period (run daily by beat)."""
    purged = parts_orders_purge()
    logger.info("purged %s closed parts order(s) past retention", purged)
    return purged
