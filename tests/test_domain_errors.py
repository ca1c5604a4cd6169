"""Domain errors (orma.errors) and the one place that answers them: each code's status, every problem kept."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from orma.api.errors import STATUS_OF_CODE, api_error_from_exception, status_of
from orma.errors import DomainError, ErrorCode, Problem, Warning


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (ErrorCode.FIELD_INVALID, 400),
        (ErrorCode.UNKNOWN_CUSTOMER, 400),
        (ErrorCode.NOT_FOUND, 404),
        (ErrorCode.DUPLICATE_ORDER, 409),
        (ErrorCode.DUPLICATE_VEHICLE, 409),
        (ErrorCode.ORDER_CLOSED, 409),
        (ErrorCode.VERSION_MISMATCH, 412),
        (ErrorCode.PAYLOAD_TOO_LARGE, 413),
        (ErrorCode.UNPROCESSABLE, 422),
    ],
)
def test_each_code_is_answered_with_its_status(code, status):
    assert status_of(DomainError.of(code, "why")) == status


def test_every_problem_and_warning_reaches_the_answer():
    problems = [Problem(ErrorCode.FIELD_REQUIRED, "a is required", "a"), Problem(ErrorCode.FIELD_INVALID, "b", "b", 1)]
    warning = Warning(1004, "Unknown fields were ignored: x")

    answer = api_error_from_exception(DomainError(problems, [warning]))

    assert answer is not None
    assert (answer.status, list(answer.problems), list(answer.warnings)) == (400, problems, [warning])


def test_a_domain_error_is_a_django_validation_error_with_its_messages():
    error = DomainError([Problem(ErrorCode.FIELD_INVALID, "one"), Problem(ErrorCode.FIELD_REQUIRED, "two")])
    assert isinstance(error, ValidationError)
    assert error.messages == ["one", "two"]
    assert str(error) == "one; two"
    assert error.code == "FIELD_INVALID"


def test_a_domain_error_needs_a_problem():
    with pytest.raises(ValueError):
        DomainError([])


def test_only_refusals_have_a_status_of_their_own():
    assert all(status in (404, 409, 412, 413, 422) for status in STATUS_OF_CODE.values())
