"""as_money and as_int: every number that crosses a boundary goes through these."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pytest

from ato_desktop.core.coerce import as_int, as_money


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.0142, 0.0142),
        (3, 3.0),
        (0, 0.0),
        (-1.5, -1.5),  # credits pass through: coercion, not validation
        (Decimal("0.014200"), 0.0142),
        (Fraction(1, 4), 0.25),
        ("0.014200", 0.0142),
        ("  3  ", 3.0),
        ("1e-4", 0.0001),
        ("$0.01", 0.01),
        ("$ 2.50", 2.5),
        (b"1.5", 1.5),
        (bytearray(b"2"), 2.0),
        ("-0.5", -0.5),
    ],
)
def test_as_money_accepts_numbers_and_numeric_text(value: object, expected: float) -> None:
    result = as_money(value)
    assert isinstance(result, float)
    assert result == pytest.approx(expected)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "   ",
        "abc",
        "0.01 USD",
        "0,5",  # a comma decimal is ambiguous between locales: refuse rather than guess
        "1,234.50",
        "$",
        True,
        False,
        math.nan,
        math.inf,
        -math.inf,
        "nan",
        "NaN",
        "inf",
        "-Infinity",
        Decimal("NaN"),
        Decimal("sNaN"),
        Decimal("Infinity"),
        "1e999999",  # finite as a Decimal, infinite as a float
        10**400,
        b"\xff\xfe",
        "9" * 500,
        [1],
        {"usd": 1},
        object(),
    ],
)
def test_as_money_returns_none_for_anything_else(value: object) -> None:
    assert as_money(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (123, 123),
        (0, 0),
        (-4, -4),
        (123.0, 123),
        (Decimal("123"), 123),
        (Decimal("123.000"), 123),
        ("123", 123),
        (" 123 ", 123),
        ("123.0", 123),
        ("1e3", 1000),
        ("+7", 7),
        (b"42", 42),
        (Fraction(6, 3), 2),
        (10**30, 10**30),
    ],
)
def test_as_int_accepts_whole_numbers(value: object, expected: int) -> None:
    result = as_int(value)
    assert type(result) is int
    assert result == expected


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "twelve",
        "12.5",
        12.5,
        Decimal("0.1"),
        Fraction(1, 3),
        math.nan,
        math.inf,
        "inf",
        Decimal("NaN"),
        True,
        False,
        "1e999999",  # would expand to a million digits
        "9" * 500,
        [123],
        object(),
    ],
)
def test_as_int_returns_none_for_fractions_and_garbage(value: object) -> None:
    assert as_int(value) is None
