"""Values while evaluating, and REDCap's rules for comparing and combining them.

REDCap turns logic into PHP 8 and runs it, so these follow PHP 8 loose comparison, with
REDCap's blank handling on top (docs/redcap-api-behaviour.md §4.4):

- A value is a ``float``, a ``str`` or a ``bool``. Blank is ``""`` for text and NaN for a
  numeric field (REDCap's ``chkNull``); both count as blank everywhere.
- ``=`` / ``<>``: blank equals blank and nothing else (so ``[x] = ''`` is a blank test for
  any field, and NaN ``<>`` a number is true). Otherwise two numbers, or numeric strings,
  compare as numbers (``"1.0" = '1'``); anything else compares as strings.
- ``<`` ``<=`` ``>`` ``>=``: false when either side is blank; otherwise as for ``=``.
- Arithmetic needs numbers on both sides; anything else gives NaN (blank).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from functools import lru_cache

Value = float | str | bool

NAN = math.nan

# PHP 8 is_numeric(): optional surrounding whitespace, sign, digits, decimals, exponent.
# Python's float() alone would also accept "nan", "inf" and "1_000".
_PHP_NUMERIC = re.compile(
    r"[ \t\n\r\v\f]*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[ \t\n\r\v\f]*"
)

_ORDER: dict[str, Callable[[int], bool]] = {
    "<": lambda c: c < 0,
    "<=": lambda c: c <= 0,
    ">": lambda c: c > 0,
    ">=": lambda c: c >= 0,
}


def is_blank(value: Value) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return math.isnan(value)
    return value == ""


# Stored values repeat (codes, common numbers) and are read on every row: look each up once.
@lru_cache(maxsize=4096)
def numeric_string(text: str) -> float | None:
    """The number a string holds by PHP's rules, or ``None``."""
    if _PHP_NUMERIC.fullmatch(text) is None:
        return None
    return float(text)


def as_number(value: Value) -> float | None:
    """A number for arithmetic and numeric comparison; ``None`` for blank or non-numeric."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, float):
        return None if math.isnan(value) else value
    return numeric_string(value)


def strict_number(value: Value) -> float | None:
    """Like ``as_number`` but booleans are not numbers (PHP ``is_numeric``); used by functions
    that skip non-numeric arguments, such as ``sum``."""
    return None if isinstance(value, bool) else as_number(value)


def chk_null(raw: str) -> Value:
    """REDCap's wrapper for numeric fields: blank -> NaN, a number -> float. A stored value that
    is not a number (an invalid entry, a missing-data code) stays text so it still compares."""
    if raw == "":
        return NAN
    number = numeric_string(raw)
    return raw if number is None else number


def to_text(value: Value) -> str:
    """A value as PHP would print it: blank is ``""``, ``5.0`` is ``"5"``, true is ``"1"``."""
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, float):
        return format_number(value)
    return value


def format_number(number: float) -> str:
    if math.isnan(number):
        return ""
    if math.isinf(number):
        return "INF" if number > 0 else "-INF"
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    # PHP prints floats with 14 significant digits (its `precision` setting).
    text = format(number, ".14G")
    if "E" in text:
        mantissa, exponent = text.split("E")
        if "." not in mantissa:
            mantissa += ".0"
        text = f"{mantissa}E{int(exponent):+d}"
    return text


def truthy(value: Value) -> bool:
    """PHP truthiness, except that NaN (a blank number) is false: blank is never true."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return not math.isnan(value) and value != 0.0
    return value not in ("", "0")


def _three_way(left: Value, right: Value) -> int:
    """PHP 8 ``<=>`` on two non-blank values."""
    if isinstance(left, bool) or isinstance(right, bool):
        a, b = truthy(left), truthy(right)
        return (a > b) - (a < b)
    x, y = as_number(left), as_number(right)
    if x is not None and y is not None:
        return (x > y) - (x < y)
    s, t = to_text(left), to_text(right)
    return (s > t) - (s < t)


def compare(op: str, left: Value, right: Value) -> bool:
    """``left op right`` for op in ``= <> < <= > >=``, with REDCap's blank rules."""
    left_blank, right_blank = is_blank(left), is_blank(right)
    if op in ("=", "<>"):
        if left_blank or right_blank:
            equal = left_blank and right_blank
        else:
            equal = _three_way(left, right) == 0
        return equal if op == "=" else not equal
    if left_blank or right_blank:
        return False
    return _ORDER[op](_three_way(left, right))


def constant_comparison(op: str, right: Value) -> Callable[[Value], bool]:
    """``lambda left: compare(op, left, right)`` for a constant ``right`` (a literal in the
    logic), with what depends only on ``right`` worked out once."""
    if isinstance(right, bool):
        return lambda left: compare(op, left, right)
    right_blank = is_blank(right)
    right_number = as_number(right)
    right_text = to_text(right)
    right_truthy = truthy(right)
    equality = op in ("=", "<>")
    order = None if equality else _ORDER[op]

    def three_way(left: Value) -> int:  # _three_way(left, right)
        if isinstance(left, bool):
            a = left
            return (a > right_truthy) - (a < right_truthy)
        x = as_number(left)
        if x is not None and right_number is not None:
            return (x > right_number) - (x < right_number)
        s = to_text(left)
        return (s > right_text) - (s < right_text)

    def compare_to_constant(left: Value) -> bool:
        left_blank = is_blank(left)
        if order is None:
            if left_blank or right_blank:
                equal = left_blank and right_blank
            else:
                equal = three_way(left) == 0
            return equal if op == "=" else not equal
        if left_blank or right_blank:
            return False
        return order(three_way(left))

    return compare_to_constant


_ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
}


def arithmetic(op: str, left: Value, right: Value) -> float:
    """``left op right`` for op in ``+ - * / ^``; NaN when a side is not a number, when
    dividing by zero, or when the power has no real result."""
    x, y = as_number(left), as_number(right)
    if x is None or y is None:
        return NAN
    if op == "/":
        return NAN if y == 0 else x / y
    if op == "^":
        return power(x, y)
    return _ARITHMETIC[op](x, y)


def power(x: float, y: float) -> float:
    try:
        return math.pow(x, y)
    except OverflowError:
        negative = x < 0 and float(y).is_integer() and y % 2 == 1
        return -math.inf if negative else math.inf
    except ValueError:  # negative base with a fractional exponent, or 0 to a negative power
        return NAN
