"""Periodic tasks of the plumbing (thin: each calls one function)."""

from __future__ import annotations

import logging

from celery import shared_task

from .idempotency import purge_expired

logger = logging.getLogger(__name__)


@shared_task(name="orma.purge_idempotency_keys", acks_late=True)
def purge_idempotency_keys() -> int:
    """Delete Idempotency-Key records past their 72 hours (run hourly by beat)."""
    purged = purge_expired()
    logger.info("purged %s expired idempotency key(s)", purged)
    return purged
