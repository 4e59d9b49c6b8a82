"""values.py: how REDCap compares and combines values (docs/redcap-api-behaviour.md §4.4)."""

from __future__ import annotations

import math

import pytest

from worker.core.logic.values import (
    NAN,
    Value,
    arithmetic,
    as_number,
    chk_null,
    compare,
    format_number,
    is_blank,
    numeric_string,
    to_text,
    truthy,
)


@pytest.mark.parametrize(
    ("op", "left", "right", "expected"),
    [
        # NaN is a blank numeric field: only <> is true against a number (4.4).
        (">", NAN, 5.0, False),
        ("<", NAN, 5.0, False),
        ("=", NAN, 0.0, False),
        ("<>", NAN, 5.0, True),
        (">=", NAN, 5.0, False),
        ("<=", NAN, 5.0, False),
        ("<", 5.0, NAN, False),
        (">", 5.0, NAN, False),
        # Blank equals blank, whether NaN or "" (so `[x] = ''` is a blank test for any field).
        ("=", NAN, "", True),
        ("<>", NAN, "", False),
        ("=", "", "", True),
        ("=", NAN, NAN, True),
        ("<>", "", "x", True),
        ("=", "", "0", False),
        ("=", NAN, "0", False),
        # Order comparisons with a blank side are false, text included.
        ("<", "", "b", False),
        (">=", "", "", False),
        ("<=", NAN, NAN, False),
        # Numbers and numeric strings compare as numbers.
        ("=", 1.0, "1", True),
        ("=", "1.0", "1", True),
        ("=", "01", "1", True),
        ("=", " 1", "1", True),
        ("=", "1e3", "1000", True),
        ("<", "9", "10", True),
        (">", 10.0, "9", True),
        ("<>", 2.0, "2.0", False),
        # Otherwise strings, byte by byte (PHP 8: a number is printed, then compared).
        ("<", "10", "9a", True),
        ("=", 5.0, "5 apples", False),
        ("<", "2000-01-01", "2000-01-02", True),
        (">", "2024-12-31", "2024-02-01", True),
        ("=", "abc", "ABC", False),
        ("<", "ABC", "abc", True),
        ("=", "1.5", 1.5, True),
        # Booleans compare by truthiness.
        ("=", True, "1", True),
        ("=", False, "0", True),
        ("=", True, 2.0, True),
        ("<", False, True, True),
    ],
)
def test_compare(op: str, left: Value, right: Value, expected: bool) -> None:
    assert compare(op, left, right) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", True), (NAN, True), (" ", False), ("0", False), (0.0, False), (False, False)],
)
def test_is_blank(value: Value, expected: bool) -> None:
    assert is_blank(value) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", 12.0),
        ("-3.5", -3.5),
        ("+4", 4.0),
        (".5", 0.5),
        ("5.", 5.0),
        ("1e3", 1000.0),
        ("  7 ", 7.0),
        ("007", 7.0),
        ("", None),
        ("nan", None),
        ("inf", None),
        ("1_000", None),
        ("5 apples", None),
        ("2024-01-01", None),
        ("12:30", None),
        ("0x1A", None),
        ("١٢", None),  # non-ASCII digits are not numbers to PHP
    ],
)
def test_numeric_string_follows_php_is_numeric(text: str, expected: float | None) -> None:
    assert numeric_string(text) == expected


def test_as_number() -> None:
    assert as_number(NAN) is None
    assert as_number("") is None
    assert as_number(True) == 1.0
    assert as_number("2.5") == 2.5


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("", NAN), ("4", 4.0), ("4.50", 4.5), ("-1", -1.0), ("UNK", "UNK"), ("12abc", "12abc")],
)
def test_chk_null_blank_is_nan_numbers_are_floats_and_other_text_is_kept(
    raw: str, expected: Value
) -> None:
    result = chk_null(raw)
    if isinstance(expected, float) and math.isnan(expected):
        assert isinstance(result, float)
        assert math.isnan(result)
    else:
        assert result == expected
        assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5.0, "5"),
        (-5.0, "-5"),
        (2.5, "2.5"),
        (0.1 + 0.2, "0.3"),  # PHP prints 14 significant digits
        (1e20, "1.0E+20"),
        (1.5e-7, "1.5E-7"),
        (NAN, ""),
        (math.inf, "INF"),
        (True, "1"),
        (False, ""),
        ("text", "text"),
    ],
)
def test_to_text_prints_values_as_php_does(value: Value, expected: str) -> None:
    assert to_text(value) == expected


def test_format_number_keeps_large_integers_whole() -> None:
    assert format_number(123456789012345.0) == "123456789012345"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        (1.0, True),
        (0.0, False),
        (-0.5, True),
        (NAN, False),  # a blank number is never true
        ("", False),
        ("0", False),
        ("0.0", True),  # PHP: only "" and "0" are false strings
        ("a", True),
    ],
)
def test_truthy(value: Value, expected: bool) -> None:
    assert truthy(value) is expected


@pytest.mark.parametrize(
    ("op", "left", "right", "expected"),
    [
        ("+", 2.0, "3", 5.0),
        ("-", "10", 4.0, 6.0),
        ("*", 2.5, 2.0, 5.0),
        ("/", 7.0, 2.0, 3.5),
        ("^", 2.0, 10.0, 1024.0),
        ("+", True, 1.0, 2.0),
    ],
)
def test_arithmetic(op: str, left: Value, right: Value, expected: float) -> None:
    assert arithmetic(op, left, right) == expected


@pytest.mark.parametrize(
    ("op", "left", "right"),
    [
        ("+", NAN, 1.0),  # a blank operand blanks the result (unlike sum())
        ("+", "", 1.0),
        ("*", "abc", 2.0),
        ("/", 1.0, 0.0),  # division by zero is blank, not an error
        ("^", -8.0, 1 / 3),  # no real result
        ("^", 0.0, -1.0),
    ],
)
def test_arithmetic_without_a_result_is_nan(op: str, left: Value, right: Value) -> None:
    assert math.isnan(arithmetic(op, left, right))


def test_power_overflow_keeps_its_sign() -> None:
    assert arithmetic("^", 10.0, 400.0) == math.inf
    assert arithmetic("^", -10.0, 401.0) == -math.inf
