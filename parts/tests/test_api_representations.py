"""The JSON builders of the parts family (``parts.api.representations``): money as seed 002's numbers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from parts import rules
from parts.api.representations import _timestamp, number, price_json

D = Decimal


class TestMoney:
    def test_a_price_answers_numbers(self):  # was rules' test_as_json_answers_numbers: the JSON left the rules
        assert price_json(rules.Price.of(D("100"), D("20"), "EUR")) == {
            "netValue": 100,
            "grossValue": 120,
            "taxValue": 20,
            "taxRate": 20,
            "currencyCode": "EUR",
        }
        assert price_json(rules.Price.of(D("9.99"), D("19"), "EUR"))["grossValue"] == 11.89

    @pytest.mark.parametrize(
        "value, expected", [("100.0000", 100), ("0", 0), ("87.50", 87.5), ("7.250", 7.25), ("1105.5", 1105.5)]
    )
    def test_whole_values_are_integers_others_exact_floats(self, value, expected):
        answered = number(D(value))

        assert answered == expected
        assert type(answered) is type(expected)


def test_timestamps_are_utc_with_milliseconds():
    moment = dt.datetime(2019, 7, 21, 19, 32, 28, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2)))

    assert _timestamp(moment) == "2019-07-21T17:32:28.123Z"
