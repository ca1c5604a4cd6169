"""Logging filter that stamps each record with the current correlation id."""

import logging

from .context import current_correlation_id


class CorrelationIdFilter(logging.Filter):
    """``record.correlation_id``: the running request's or task's id.

    ``django.request`` logs a 4xx/5xx after the middleware chain has returned, when the request's context
    is gone; its records carry the request itself (``extra={"request": ...}``), which holds the id.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        record.correlation_id = current_correlation_id() or getattr(request, "correlation_id", None) or "-"
        return True
