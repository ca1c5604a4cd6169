"""The value rules of seed 001's fields: one pure function per kind, each answering the normalised value.

A rule raises :class:`FieldRuleError` with the error code and a message; the body walker adds the field's
path. Money is ``Decimal``, never float; dates and times are real calendar values.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from orma.api.errors import ErrorCode

CODE_MAX = 50  # numbers, codes and ids
NAME_MAX = 200
TEXT_MAX = 4000  # descriptions, comments, complaint/cause/correction

# The patterns are matched whole (``fullmatch``) with ASCII digits, as the OpenAPI schema's (ECMA) patterns
# read: in Python, ``$`` also matches before a trailing newline and ``\d`` matches any Unicode digit.
_MONEY = re.compile(r"\d{1,10}(\.\d{1,2})?", re.ASCII)
_HOURS = re.compile(r"\d{1,6}(\.\d{1,2})?", re.ASCII)
_QUANTITY = re.compile(r"\d{1,8}(\.\d{1,2})?", re.ASCII)
_ORDER_NUMBER = re.compile(r"^[a-zA-Z0-9\-#_\s]*$")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_TIME = re.compile(r"\d{2}:\d{2}:\d{2}", re.ASCII)
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", re.ASCII)
_WHOLE = re.compile(r"\d{1,9}", re.ASCII)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
TWO_PLACES = Decimal("0.01")


class FieldRuleError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _string(value: Any, hint: str) -> str:
    if not isinstance(value, str):
        raise FieldRuleError(ErrorCode.FIELD_INVALID, f"must be a string{hint}")
    return value


def _text(limit: int) -> Callable[[Any], str]:
    def rule(value: Any) -> str:
        text = _string(value, "")
        if len(text) > limit:
            raise FieldRuleError(ErrorCode.FIELD_TOO_LONG, f"is {len(text)} characters long; at most {limit} allowed")
        if "\x00" in text:
            raise FieldRuleError(ErrorCode.FIELD_INVALID, "must not contain NUL characters")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise FieldRuleError(ErrorCode.FIELD_INVALID, "must be valid Unicode (no lone surrogates)") from None
        return text

    return rule


code = _text(CODE_MAX)
name = _text(NAME_MAX)
text = _text(TEXT_MAX)


def _decimal(pattern: re.Pattern[str], example: str, what: str) -> Callable[[Any], Decimal]:
    def rule(value: Any) -> Decimal:
        raw = _string(value, f' like "{example}"')
        if not pattern.fullmatch(raw):
            raise FieldRuleError(ErrorCode.FIELD_INVALID, f'must be {what} like "{example}", not {raw[:60]!r}')
        return Decimal(raw).quantize(TWO_PLACES)

    return rule


money = _decimal(_MONEY, "12.56", "a non-negative amount with at most 2 decimals (at most 10 digits before the point)")
hours = _decimal(_HOURS, "1.50", "a number of hours with at most 2 decimals")
quantity = _decimal(_QUANTITY, "2", "a non-negative quantity with at most 2 decimals")


def positive_quantity(value: Any) -> Decimal:
    result = quantity(value)
    if result <= 0:
        raise FieldRuleError(ErrorCode.FIELD_INVALID, "must be greater than 0")
    return result


def whole_number(value: Any) -> int:
    raw = _string(value, ' like "12345"')
    if not _WHOLE.fullmatch(raw):
        raise FieldRuleError(ErrorCode.FIELD_INVALID, f"must be a whole non-negative number, not {raw[:60]!r}")
    return int(raw)


def count(value: Any) -> int:
    """A whole non-negative number given as a JSON integer (a vehicle's mileage)."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 10**9:
        raise FieldRuleError(ErrorCode.FIELD_INVALID, "must be a whole number between 0 and 999999999")
    return value


def model_year(value: Any) -> int:
    year = count(value)
    if not 1900 <= year <= 2100:
        raise FieldRuleError(ErrorCode.FIELD_INVALID, "must be a year between 1900 and 2100")
    return year


def country_code(value: Any) -> str:
    raw = _string(value, ' like "DE"')
    if not re.fullmatch(r"[A-Za-z]{2}", raw):
        raise FieldRuleError(ErrorCode.FIELD_INVALID, 'must be an ISO 3166-1 alpha-2 code like "DE"')
    return raw.upper()


def date(value: Any) -> dt.date:
    raw = _string(value, ' in yyyy-MM-dd format like "2024-02-01"')
    try:
        if not _DATE.fullmatch(raw):
            raise ValueError
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise FieldRuleError(
            ErrorCode.FIELD_INVALID, f"must be a real date in yyyy-MM-dd format, not {raw[:60]!r}"
        ) from None


def time(value: Any) -> dt.time:
    raw = _string(value, ' in HH:mm:ss format like "08:30:00"')
    try:
        if not _TIME.fullmatch(raw):
            raise ValueError
        return dt.time.fromisoformat(raw)
    except ValueError:
        raise FieldRuleError(
            ErrorCode.FIELD_INVALID, f"must be a real time in HH:mm:ss format, not {raw[:60]!r}"
        ) from None


def date_time(value: Any) -> dt.datetime:
    raw = _string(value, ' in "yyyy-MM-dd HH:mm:ss" format')
    try:
        if not _DATETIME.fullmatch(raw):
            raise ValueError
        return dt.datetime.fromisoformat(raw).replace(tzinfo=dt.UTC)
    except ValueError:
        raise FieldRuleError(
            ErrorCode.FIELD_INVALID, f'must be a real date and time in "yyyy-MM-dd HH:mm:ss" format, not {raw[:60]!r}'
        ) from None


def yes_no(value: Any) -> str:
    if value not in ("Y", "N"):
        raise FieldRuleError(ErrorCode.FIELD_INVALID, 'must be "Y" or "N"')
    return value


def order_number(value: Any) -> str:
    raw = code(value)
    if not raw.strip():
        raise FieldRuleError(ErrorCode.FIELD_REQUIRED, "must not be empty")
    if not _ORDER_NUMBER.match(raw):
        raise FieldRuleError(ErrorCode.FIELD_INVALID, "may contain only letters, digits, '-', '#', '_' and spaces")
    return raw


def email(value: Any) -> str:
    raw = name(value)
    if raw and not _EMAIL.fullmatch(raw):
        raise FieldRuleError(ErrorCode.FIELD_INVALID, "must be an e-mail address")
    return raw


def one_of(*choices: str) -> Callable[[Any], str]:
    def rule(value: Any) -> str:
        if not isinstance(value, str) or value not in choices:
            raise FieldRuleError(ErrorCode.FIELD_INVALID, f"must be one of {', '.join(choices)}")
        return value

    rule.choices = choices  # type: ignore[attr-defined]  # the OpenAPI enum
    return rule


def uuid_text(value: Any) -> str:
    import uuid

    raw = _string(value, " holding a UUID")
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise FieldRuleError(ErrorCode.FIELD_INVALID, f"must be a UUID, not {raw[:60]!r}") from None


class Kind(enum.Enum):
    """How a field is documented in the OpenAPI schema (and which rule checks it)."""

    STRING = "string"
    MONEY = "money"
    DECIMAL = "decimal"
    DATE = "date"
    TIME = "time"
    DATETIME = "datetime"
    UUID = "uuid"


RULE_KIND: dict[Callable[[Any], Any], Kind] = {
    money: Kind.MONEY,
    hours: Kind.DECIMAL,
    quantity: Kind.DECIMAL,
    positive_quantity: Kind.DECIMAL,
    date: Kind.DATE,
    time: Kind.TIME,
    date_time: Kind.DATETIME,
    uuid_text: Kind.UUID,
}


def render(value: Any) -> Any:
    """A normalised value as it is answered in JSON: money with exactly two decimals, ISO dates."""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, int):
        return str(value)
    return value
