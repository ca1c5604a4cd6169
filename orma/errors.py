"""OrMa's domain errors: what a rule or a service answers when it refuses something. No HTTP here.

Services and rules of every app raise :class:`DomainError` with one or more :class:`Problem` s, each
carrying an :class:`ErrorCode` of DESIGN §4/§5, the field path it concerns and the value sent. Only the
API layer (``orma.api.errors``) turns a code into a status and an envelope; the admin and the commands
show the same error as any Django validation failure, which it is (a subclass of Django's
``ValidationError``), so a rule raised inside a form's ``clean()`` lands on the form.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError


class ErrorCode(enum.StrEnum):
    """Every error code OrMa answers, in every family (DESIGN §4, §5)."""

    MALFORMED_JSON = "MALFORMED_JSON"
    FIELD_REQUIRED = "FIELD_REQUIRED"
    FIELD_INVALID = "FIELD_INVALID"
    FIELD_TOO_LONG = "FIELD_TOO_LONG"
    UNKNOWN_CUSTOMER = "UNKNOWN_CUSTOMER"
    UNKNOWN_VEHICLE = "UNKNOWN_VEHICLE"
    UNKNOWN_PACKAGE = "UNKNOWN_PACKAGE"
    UNKNOWN_PART = "UNKNOWN_PART"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    NOT_ACCEPTABLE = "NOT_ACCEPTABLE"
    DUPLICATE_ORDER = "DUPLICATE_ORDER"
    DUPLICATE_VEHICLE = "DUPLICATE_VEHICLE"
    ORDER_CLOSED = "ORDER_CLOSED"
    CONFLICT = "CONFLICT"
    VERSION_MISMATCH = "VERSION_MISMATCH"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    LENGTH_REQUIRED = "LENGTH_REQUIRED"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    UNPROCESSABLE = "UNPROCESSABLE"
    RATE_LIMITED = "RATE_LIMITED"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request: a code, a message, and the field path it concerns."""

    code: str
    description: str
    field: str | None = None
    value: Any = None


@dataclass(frozen=True)
class Warning:
    """A non-fatal remark on an accepted request (seed 001's warnings)."""

    code: int
    description: str


class DomainError(ValidationError):
    """A rule refused a request or a change: every problem found, each with its code (never a status)."""

    def __init__(self, problems: Iterable[Problem], warnings: Iterable[Warning] = ()) -> None:
        self.problems: list[Problem] = list(problems)
        self.warnings: list[Warning] = list(warnings)
        if not self.problems:
            raise ValueError("a DomainError needs at least one problem")
        super().__init__([ValidationError(problem.description, code=str(problem.code)) for problem in self.problems])

    @classmethod
    def of(cls, code: str, description: str, field: str | None = None, value: Any = None) -> DomainError:
        """The error of a single problem."""
        return cls([Problem(code, description, field, value)])

    @property
    def code(self) -> str:  # type: ignore[override]  # Django's ValidationError.code is per message
        """The first problem's code: the one that decides how the error is answered."""
        return str(self.problems[0].code)

    def __str__(self) -> str:
        return "; ".join(problem.description for problem in self.problems)
