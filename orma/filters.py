"""List filters read by the app's own rules: django-filter FilterSets whose refusals are domain errors.

Every list of the API narrows its queryset with a :class:`RuleFilterSet`. Each filter names its query
parameter and reads it with a ``parse`` function (None when absent); a value ``parse`` refuses is a
FIELD_INVALID problem with the filter's message, and :meth:`RuleFilterSet.filtered` raises every such
problem of a query at once as one :class:`~orma.errors.DomainError`. The admin and the commands can use
the same FilterSets: nothing here knows HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from orma.errors import DomainError, ErrorCode, Problem


class ParsedField(forms.Field):
    """A query parameter read by ``parse``; what ``parse`` refuses is ``message`` (or ``message(raw)``)."""

    def __init__(self, *, parse: Callable[[str], Any], message: str | Callable[[str], str] = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.parse = parse
        self.message = message

    def clean(self, value: Any) -> Any:
        if value is None:
            return None
        try:
            return self.parse(value)
        except (ValueError, OverflowError):
            message = self.message(value) if callable(self.message) else self.message
            raise ValidationError(message, code=ErrorCode.FIELD_INVALID) from None


class ParsedFilter(django_filters.Filter):
    """A filter on a :class:`ParsedField`; an empty parsed value filters nothing."""

    field_class = ParsedField


class RuleFilterSet(django_filters.FilterSet):
    """A FilterSet whose refusals are one DomainError naming every parameter that does not parse."""

    def filtered(self) -> QuerySet[Any]:
        """The rows these parameters select, or a DomainError naming each refused parameter and its value."""
        if not self.is_valid():
            raise DomainError(
                Problem(str(error.code), str(error.message), name, self.data.get(name))
                for name, errors in self.form.errors.as_data().items()
                for error in errors
            )
        return self.qs
