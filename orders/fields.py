"""The value rules of seed 001's fields: one :class:`ValueRule` per kind, answering the normalised value.

A rule raises :class:`FieldRuleError` with the error code and a message; the body walker adds the field's
path. Each rule also carries what the OpenAPI schema says of it (pattern, maximum length, example,
choices, bounds), which ``orders.api.serializers`` reads, so the documented rule and the applied one
have one home. Money, hours and quantities are :class:`DecimalFormat` s: the request pattern, the
schema pattern, the largest value and the model columns' digits all derive from them. Money is
``Decimal``, never float; dates and times are real calendar values.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

from orma.errors import ErrorCode

from .choices import OrderType, YesNo

T = TypeVar("T")

CODE_MAX = 50  # numbers, codes and ids
NAME_MAX = 200
TEXT_MAX = 4000  # descriptions, comments, complaint/cause/correction
WHOLE_DIGITS = 9  # mileages and counts
COUNT_MAX = 10**WHOLE_DIGITS - 1
MODEL_YEARS = (1900, 2100)


@dataclass(frozen=True)
class DecimalFormat:
    """A kind of decimal: at most ``digits`` digits before the point and ``places`` after it.

    The one home of money, hours and quantities: the request's regex, the schema's pattern, the largest
    value a column holds (``limit``) and the model column's ``max_digits``/``decimal_places``.
    """

    digits: int
    places: int = 2

    def __post_init__(self) -> None:
        if not 0 < self.places < self.digits:
            raise ValueError("a format has fewer places after the point than digits before it")

    @property
    def regex(self) -> str:
        """The value's syntax, unanchored (matched whole)."""
        return rf"\d{{1,{self.digits}}}(?:\.\d{{1,{self.places}}})?"

    @property
    def schema_pattern(self) -> str:
        """The OpenAPI pattern; "" (an absent value) matches too."""
        return rf"^(?:{self.regex})?$"

    @property
    def answer_pattern(self) -> str:
        """The OpenAPI pattern of a value as OrMa answers it: always exactly ``places`` decimals."""
        return rf"^\d{{1,{self.digits}}}\.\d{{{self.places}}}$"

    @property
    def positive_schema_pattern(self) -> str:
        """The OpenAPI pattern of a value greater than zero (written for two places); "" matches too."""
        assert self.places == 2, "the non-zero fraction below is spelled for two places"
        most = self.digits - 1
        return rf"^(?:0{{0,{most}}}[1-9]\d{{0,{most}}}(?:\.\d{{1,2}})?|0{{1,{self.digits}}}\.(?:0[1-9]|[1-9]\d?))?$"

    @property
    def limit(self) -> Decimal:
        """The largest value: 9999999999.99 for money."""
        return Decimal(f"{'9' * self.digits}.{'9' * self.places}")

    @property
    def quantum(self) -> Decimal:
        """The step values are rounded to: 0.01."""
        return Decimal(1).scaleb(-self.places)

    @property
    def max_digits(self) -> int:
        """The model column's ``max_digits`` (its ``decimal_places`` is ``places``)."""
        return self.digits + self.places


MONEY = DecimalFormat(10)
HOURS = DecimalFormat(6)
QUANTITY = DecimalFormat(8)

# The patterns are matched whole (``fullmatch``) with ASCII digits, as the OpenAPI schema's (ECMA) patterns
# read: in Python, ``$`` also matches before a trailing newline and ``\d`` matches any Unicode digit.
_ORDER_NUMBER = re.compile(r"^[a-zA-Z0-9\-#_\s]*$")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_TIME = re.compile(r"\d{2}:\d{2}:\d{2}", re.ASCII)
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", re.ASCII)
_WHOLE = rf"\d{{1,{WHOLE_DIGITS}}}"
_COUNTRY = r"[A-Za-z]{2}"
_EMAIL = r"[^@\s]+@[^@\s]+\.[^@\s]+"

_YEAR = r"(?:[1-9]\d{3}|0[1-9]\d{2}|00[1-9]\d|000[1-9])"
_LEAP_YEAR = r"(?:\d{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
# Real calendar dates only, as the rules check them (no 2024-02-30, 2023-02-29 or year 0).
DATE_PATTERN = (
    rf"(?:{_YEAR}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)"
    rf"|02-(?:0[1-9]|1\d|2[0-8]))|{_LEAP_YEAR}-02-29)"
)
TIME_PATTERN = r"(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d"


class FieldRuleError(Exception):
    """A value broke its rule; the walker names the field (the path) and turns this into a Problem."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ValueRule(Generic[T]):
    """A value rule: ``rule(value)`` answers the normalised value or raises :class:`FieldRuleError`.

    The attributes say how the OpenAPI schema documents it: ``pattern`` (None: any text without NUL),
    ``max_length``, ``choices`` (an enum), ``minimum``/``maximum`` (an integer), ``schema_format``
    ("uuid"), ``example`` (the value the schema shows and the messages quote). ``is_text``: "" is a
    value (an empty text), not an absent one (as an empty amount or date is).
    """

    __slots__ = (
        "check",
        "pattern",
        "max_length",
        "example",
        "choices",
        "minimum",
        "maximum",
        "schema_format",
        "is_text",
    )

    def __init__(
        self,
        check: Callable[[Any], T],
        *,
        pattern: str | None = None,
        max_length: int | None = None,
        example: str | None = None,
        choices: Iterable[str] | None = None,
        minimum: int | None = None,
        maximum: int | None = None,
        schema_format: str | None = None,
        is_text: bool = False,
    ) -> None:
        self.check = check
        self.pattern = pattern
        self.max_length = max_length
        self.example = example
        self.choices = tuple(choices) if choices is not None else None
        self.minimum = minimum
        self.maximum = maximum
        self.schema_format = schema_format
        self.is_text = is_text

    def __call__(self, value: Any) -> T:
        return self.check(value)

    def __repr__(self) -> str:
        return f"ValueRule({getattr(self.check, '__name__', self.check)!r})"


def value_rule(**schema: Any) -> Callable[[Callable[[Any], T]], ValueRule[T]]:
    """Make a function a :class:`ValueRule` with these schema attributes."""

    def wrap(check: Callable[[Any], T]) -> ValueRule[T]:
        return ValueRule(check, **schema)

    return wrap


def _string(value: Any, hint: str) -> str:
    if not isinstance(value, str):
        raise FieldRuleError(ErrorCode.FIELD_INVALID, f"must be a string{hint}")
    return value


def _text(limit: int) -> ValueRule[str]:
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

    return ValueRule(rule, max_length=limit, is_text=True)


code = _text(CODE_MAX)
name = _text(NAME_MAX)
text = _text(TEXT_MAX)


def _decimal(number: DecimalFormat, example: str, what: str) -> ValueRule[Decimal]:
    syntax = re.compile(number.regex, re.ASCII)

    def rule(value: Any) -> Decimal:
        raw = _string(value, f' like "{example}"')
        if not syntax.fullmatch(raw):
            raise FieldRuleError(ErrorCode.FIELD_INVALID, f'must be {what} like "{example}", not {raw[:60]!r}')
        return Decimal(raw).quantize(number.quantum)

    return ValueRule(rule, pattern=number.schema_pattern, example=example)


money = _decimal(
    MONEY,
    "12.56",
    f"a non-negative amount with at most {MONEY.places} decimals (at most {MONEY.digits} digits before the point)",
)
hours = _decimal(HOURS, "1.50", f"a number of hours with at most {HOURS.places} decimals")
quantity = _decimal(QUANTITY, "2", f"a non-negative quantity with at most {QUANTITY.places} decimals")


@value_rule(pattern=QUANTITY.positive_schema_pattern, example="1")
def positive_quantity(value: Any) -> Decimal:
    result = quantity(value)
    if result <= 0:
        raise FieldRuleError(ErrorCode.FIELD_INVALID, "must be greater than 0")
    return result


_WHOLE_SYNTAX = re.compile(_WHOLE, re.ASCII)


@value_rule(pattern=rf"^(?:{_WHOLE})?$", example="12345")
def whole_number(value: Any) -> int:
    raw = _string(value, f' like "{whole_number.example}"')
    if not _WHOLE_SYNTAX.fullmatch(raw):
        raise FieldRuleError(ErrorCode.FIELD_INVALID, f"must be a whole non-negative number, not {raw[:60]!r}")
    return int(raw)


@value_rule(minimum=0, maximum=COUNT_MAX)
def count(value: Any) -> int:
    """A whole non-negative number given as a JSON integer (a vehicle's mileage)."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= COUNT_MAX:
        raise FieldRuleError(ErrorCode.FIELD_INVALID, f"must be a whole number between 0 and {COUNT_MAX}")
    return value


@value_rule(minimum=MODEL_YEARS[0], maximum=MODEL_YEARS[1])
def model_year(value: Any) -> int:
    year = count(value)
    first, last = MODEL_YEARS
    if not first <= year <= last:
        raise FieldRuleError(ErrorCode.FIELD_INVALID, f"must be a year between {first} and {last}")
    return year


@value_rule(pattern=rf"^(?:{_COUNTRY})?$", example="DE")
def country_code(value: Any) -> str:
    raw = _string(value, f' like "{country_code.example}"')
    if not re.fullmatch(_COUNTRY, raw):
        raise FieldRuleError(
            ErrorCode.FIELD_INVALID, f'must be an ISO 3166-1 alpha-2 code like "{country_code.example}"'
        )
    return raw.upper()


@value_rule(pattern=rf"^(?:{DATE_PATTERN})?$", example="2024-02-01")
def date(value: Any) -> dt.date:
    raw = _string(value, f' in yyyy-MM-dd format like "{date.example}"')
    try:
        if not _DATE.fullmatch(raw):
            raise ValueError
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise FieldRuleError(
            ErrorCode.FIELD_INVALID, f"must be a real date in yyyy-MM-dd format, not {raw[:60]!r}"
        ) from None


@value_rule(pattern=rf"^(?:{TIME_PATTERN})?$", example="08:30:00")
def time(value: Any) -> dt.time:
    raw = _string(value, f' in HH:mm:ss format like "{time.example}"')
    try:
        if not _TIME.fullmatch(raw):
            raise ValueError
        return dt.time.fromisoformat(raw)
    except ValueError:
        raise FieldRuleError(
            ErrorCode.FIELD_INVALID, f"must be a real time in HH:mm:ss format, not {raw[:60]!r}"
        ) from None


@value_rule(pattern=rf"^(?:{DATE_PATTERN} {TIME_PATTERN})?$", example="2024-02-01 08:30:00")
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


@value_rule(
    pattern=r"^[a-zA-Z0-9\-#_\s]*[a-zA-Z0-9\-#_][a-zA-Z0-9\-#_\s]*$",
    max_length=CODE_MAX,
    example="RO-1234",
    is_text=True,
)
def order_number(value: Any) -> str:
    raw = code(value)
    if not raw.strip():
        raise FieldRuleError(ErrorCode.FIELD_REQUIRED, "must not be empty")
    if not _ORDER_NUMBER.match(raw):
        raise FieldRuleError(ErrorCode.FIELD_INVALID, "may contain only letters, digits, '-', '#', '_' and spaces")
    return raw


_EMAIL_SYNTAX = re.compile(_EMAIL)


@value_rule(pattern=r"^(?:[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+)?$", max_length=NAME_MAX, is_text=True)
def email(value: Any) -> str:
    raw = name(value)
    if raw and not _EMAIL_SYNTAX.fullmatch(raw):
        raise FieldRuleError(ErrorCode.FIELD_INVALID, "must be an e-mail address")
    return raw


def one_of(choices: Iterable[str]) -> ValueRule[str]:
    """A rule admitting exactly these strings (an enum of the schema)."""
    allowed = tuple(choices)

    def rule(value: Any) -> str:
        if not isinstance(value, str) or value not in allowed:
            raise FieldRuleError(ErrorCode.FIELD_INVALID, f"must be one of {', '.join(allowed)}")
        return value

    return ValueRule(rule, choices=allowed)


order_type = one_of(OrderType.values)


@value_rule(choices=YesNo.values)
def yes_no(value: Any) -> str:
    if value not in YesNo.values:
        raise FieldRuleError(ErrorCode.FIELD_INVALID, 'must be "Y" or "N"')
    return value


@value_rule(schema_format="uuid")
def uuid_text(value: Any) -> str:
    raw = _string(value, " holding a UUID")
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise FieldRuleError(ErrorCode.FIELD_INVALID, f"must be a UUID, not {raw[:60]!r}") from None


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
