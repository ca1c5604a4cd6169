"""Logging filter that stamps each record with the current correlation id."""

import logging

from .context import current_correlation_id


class CorrelationIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = current_correlation_id() or "-"
        return True
