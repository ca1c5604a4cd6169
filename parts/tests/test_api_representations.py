"""The JSON builders of the parts family (``parts.api.representations``): money as seed 002's numbers."""

from __future__ import annotations

import datetime as dt
import json
import random
from decimal import Decimal

import pytest

from parts import rules
from parts.api.representations import _number_text, _timestamp, number, price_json

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


class TestNumberText:
    """The basket's text writes each number as json.dumps writes ``number(value)``, mostly from the decimal's own
    digits; where those could differ from the float's repr it asks the float."""

    @pytest.mark.parametrize(
        "value",
        [
            "0", "0.00", "0.0000", "100", "100.0000", "87.50", "7.250", "0.35", "0.001", "0.0001", "0.00005",
            "1E+2", "1.5E-7", "0E-8", "-0.00", "-12.50", "999999999999.9999", "123456789012.345", "12345678901234.5",
            "9999999999999999", "99999999999999999999.5", "1105.5", "19.00", "7.5", "12.5",
        ],
    )  # fmt: skip
    def test_it_writes_what_json_dumps_writes(self, value):
        assert _number_text(D(value)) == json.dumps(number(D(value)))

    def test_random_prices_alike(self):
        chance = random.Random(12)
        for _ in range(20_000):
            places = chance.randint(0, 4)
            value = D(chance.randint(0, 10 ** chance.randint(1, 16))).scaleb(-places)

            assert _number_text(value) == json.dumps(number(value)), value
