"""REDCap's special functions: which names exist, how many arguments each takes, and what
each computes.

The names are REDCap 15.7's allowed list (docs/redcap-api-behaviour.md §4.3); anything else
is a syntax error, as in REDCap. Functions never raise on odd input: like REDCap they give
NaN (blank) or false.
``if`` has no implementation here because the evaluator runs only the branch it needs.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal, InvalidOperation

from worker.core.logic import dates
from worker.core.logic.nodes import Node, String
from worker.core.logic.protocol import LogicContext, missing_codes
from worker.core.logic.values import (
    NAN,
    Value,
    as_number,
    is_blank,
    power,
    strict_number,
    to_text,
)

Impl = Callable[[list[Value], LogicContext], Value]
# Checks literal arguments at parse time: (index of the bad argument, problem) or None.
Check = Callable[[tuple[Node, ...]], tuple[int, str] | None]


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    name: str
    min_args: int
    max_args: int | None  # None: any number
    impl: Impl | None
    check: Check | None = None

    def arity(self) -> str:
        if self.max_args is None:
            return f"at least {self.min_args} argument{'s' if self.min_args != 1 else ''}"
        if self.min_args == self.max_args:
            return f"{self.min_args} argument{'s' if self.min_args != 1 else ''}"
        return f"{self.min_args} to {self.max_args} arguments"


FUNCTIONS: dict[str, FunctionSpec] = {}


def _function(
    name: str, min_args: int, max_args: int | None, check: Check | None = None
) -> Callable[[Impl], Impl]:
    def register(impl: Impl) -> Impl:
        FUNCTIONS[name] = FunctionSpec(name, min_args, max_args, impl, check)
        return impl

    return register


FUNCTIONS["if"] = FunctionSpec("if", 3, 3, None)


# --- dates -------------------------------------------------------------------------------


def _check_unit(index: int) -> Check:
    def check(args: tuple[Node, ...]) -> tuple[int, str] | None:
        unit = args[index] if index < len(args) else None
        if isinstance(unit, String) and unit.value not in dates.UNIT_SECONDS:
            return index, f"unit {unit.value!r} is not one of 'y', 'M', 'd', 'h', 'm', 's'"
        return None

    return check


def _check_datediff(args: tuple[Node, ...]) -> tuple[int, str] | None:
    problem = _check_unit(2)(args)
    if problem is None and len(args) == 5:
        fmt = args[3]
        if isinstance(fmt, String) and fmt.value.lower() not in dates.DATE_FORMATS:
            return 3, f"the 4th of 5 arguments is 'ymd', 'mdy' or 'dmy', not {fmt.value!r}"
    return problem


@_function("datediff", 3, 5, _check_datediff)
def _datediff(args: list[Value], ctx: LogicContext) -> Value:
    return dates.datediff(args, ctx)


@_function("calcdate", 3, 3, _check_unit(2))
def _calcdate(args: list[Value], ctx: LogicContext) -> Value:
    offset = as_number(args[1])
    return "" if offset is None else dates.calcdate(args[0], offset, args[2], ctx)


@_function("year", 1, 1)
def _year(args: list[Value], ctx: LogicContext) -> Value:
    return dates.date_part(args[0], "year", ctx)


@_function("month", 1, 1)
def _month(args: list[Value], ctx: LogicContext) -> Value:
    return dates.date_part(args[0], "month", ctx)


@_function("day", 1, 1)
def _day(args: list[Value], ctx: LogicContext) -> Value:
    return dates.date_part(args[0], "day", ctx)


# --- numbers -----------------------------------------------------------------------------


def _round_with(mode: str) -> Impl:
    def impl(args: list[Value], ctx: LogicContext) -> Value:
        number = as_number(args[0])
        places = as_number(args[1]) if len(args) > 1 else 0.0
        if number is None or places is None or not math.isfinite(places):
            return NAN
        return _round(number, int(places), mode)

    return impl


def _round(number: float, places: int, mode: str) -> float:
    """Decimal rounding of the printed value, as PHP's round() does: round(2.675, 2) is 2.68
    (binary floating point would give 2.67). Half away from zero."""
    if not math.isfinite(number) or places > 300:
        return number
    if places < -330:
        return 0.0
    try:
        return float(Decimal(repr(number)).quantize(Decimal(1).scaleb(-places), rounding=mode))
    except InvalidOperation:  # more digits than Decimal's precision: nothing left to round
        return number


FUNCTIONS["round"] = FunctionSpec("round", 1, 2, _round_with(ROUND_HALF_UP))
FUNCTIONS["roundup"] = FunctionSpec("roundup", 1, 2, _round_with(ROUND_UP))
FUNCTIONS["rounddown"] = FunctionSpec("rounddown", 1, 2, _round_with(ROUND_DOWN))


def _unary_math(func: Callable[[float], float]) -> Impl:
    def impl(args: list[Value], ctx: LogicContext) -> Value:
        number = as_number(args[0])
        if number is None:
            return NAN
        try:
            return func(number)
        except (ValueError, OverflowError):
            return NAN

    return impl


FUNCTIONS["abs"] = FunctionSpec("abs", 1, 1, _unary_math(abs))
FUNCTIONS["sqrt"] = FunctionSpec(
    "sqrt", 1, 1, _unary_math(lambda x: math.sqrt(x) if x >= 0 else NAN)
)
FUNCTIONS["exponential"] = FunctionSpec(
    "exponential", 1, 1, _unary_math(lambda x: math.exp(x) if x < 710 else math.inf)
)


@_function("pow", 2, 2)
def _pow(args: list[Value], ctx: LogicContext) -> Value:
    base, exponent = as_number(args[0]), as_number(args[1])
    return NAN if base is None or exponent is None else power(base, exponent)


@_function("mod", 2, 2)
def _mod(args: list[Value], ctx: LogicContext) -> Value:
    dividend, divisor = as_number(args[0]), as_number(args[1])
    if dividend is None or divisor is None or divisor == 0 or math.isinf(dividend):
        return NAN
    return math.fmod(dividend, divisor)


@_function("log", 1, 2)
def _log(args: list[Value], ctx: LogicContext) -> Value:
    number = as_number(args[0])
    base = as_number(args[1]) if len(args) > 1 else math.e
    if number is None or base is None or number <= 0 or base <= 0 or base == 1:
        return NAN
    return math.log(number, base)


def _aggregate(func: Callable[[list[float]], float], minimum: int = 1) -> Impl:
    """min/max/sum/...: blank and non-numeric arguments are skipped; NaN when too few remain."""

    def impl(args: list[Value], ctx: LogicContext) -> Value:
        numbers = [n for n in map(strict_number, args) if n is not None]
        if len(numbers) < minimum:
            return NAN
        try:
            return float(func(numbers))
        except (ValueError, OverflowError, ArithmeticError):
            return NAN

    return impl


def _fsum(numbers: list[float]) -> float:
    try:
        return math.fsum(numbers)
    except (OverflowError, ValueError):  # beyond float range: plain addition gives inf/NaN
        return sum(numbers)


FUNCTIONS["sum"] = FunctionSpec("sum", 1, None, _aggregate(_fsum))
FUNCTIONS["min"] = FunctionSpec("min", 1, None, _aggregate(min))
FUNCTIONS["max"] = FunctionSpec("max", 1, None, _aggregate(max))
FUNCTIONS["mean"] = FunctionSpec("mean", 1, None, _aggregate(lambda ns: _fsum(ns) / len(ns)))
FUNCTIONS["median"] = FunctionSpec("median", 1, None, _aggregate(statistics.median))


def _stdev(numbers: list[float]) -> float:
    """Sample standard deviation (n - 1), so it needs two numbers; NaN with infinities."""
    mean = _fsum(numbers) / len(numbers)
    if not math.isfinite(mean):
        return NAN
    return math.sqrt(_fsum([(n - mean) ** 2 for n in numbers]) / (len(numbers) - 1))


FUNCTIONS["stdev"] = FunctionSpec("stdev", 1, None, _aggregate(_stdev, minimum=2))


_INTEGER = re.compile(r"[+-]?(?:0|[1-9][0-9]*)")


@_function("isnumber", 1, 1)
def _isnumber(args: list[Value], ctx: LogicContext) -> Value:
    value = args[0]
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, bool):
        return False
    text = value.strip()
    # REDCap rejects leading zeros ("012"), which PHP's is_numeric accepts.
    return strict_number(text) is not None and re.match(r"[+-]?0[0-9]", text) is None


@_function("isinteger", 1, 1)
def _isinteger(args: list[Value], ctx: LogicContext) -> Value:
    value = args[0]
    if isinstance(value, float):
        return math.isfinite(value) and value.is_integer()
    if isinstance(value, bool):
        return False
    return _INTEGER.fullmatch(value.strip()) is not None


# --- missing-data codes ------------------------------------------------------------------


def _is_missing_code(value: Value, ctx: LogicContext) -> bool:
    return not is_blank(value) and to_text(value) in missing_codes(ctx)


@_function("isblankormissingcode", 1, 1)
def _isblankormissingcode(args: list[Value], ctx: LogicContext) -> Value:
    return is_blank(args[0]) or _is_missing_code(args[0], ctx)


@_function("isblanknotmissingcode", 1, 1)
def _isblanknotmissingcode(args: list[Value], ctx: LogicContext) -> Value:
    return is_blank(args[0])


@_function("ismissingcode", 1, 1)
def _ismissingcode(args: list[Value], ctx: LogicContext) -> Value:
    return _is_missing_code(args[0], ctx)


@_function("hasmissingcode", 2, 2)
def _hasmissingcode(args: list[Value], ctx: LogicContext) -> Value:
    listed = {code.strip() for code in to_text(args[1]).split(",")}
    return _is_missing_code(args[0], ctx) and to_text(args[0]) in listed


# --- text --------------------------------------------------------------------------------


def _text_test(test: Callable[[str, str], bool]) -> Impl:
    """contains/starts_with/...: case-insensitive, on the values as text."""

    def impl(args: list[Value], ctx: LogicContext) -> Value:
        return test(to_text(args[0]).casefold(), to_text(args[1]).casefold())

    return impl


FUNCTIONS["contains"] = FunctionSpec("contains", 2, 2, _text_test(lambda h, n: n in h))
FUNCTIONS["not_contain"] = FunctionSpec("not_contain", 2, 2, _text_test(lambda h, n: n not in h))
FUNCTIONS["starts_with"] = FunctionSpec("starts_with", 2, 2, _text_test(str.startswith))
FUNCTIONS["ends_with"] = FunctionSpec("ends_with", 2, 2, _text_test(str.endswith))


def _count(value: Value) -> int | None:
    number = as_number(value)
    if number is None or not math.isfinite(number):
        return None
    return max(0, int(number))


@_function("left", 2, 2)
def _left(args: list[Value], ctx: LogicContext) -> Value:
    count = _count(args[1])
    return "" if count is None else to_text(args[0])[:count]


@_function("right", 2, 2)
def _right(args: list[Value], ctx: LogicContext) -> Value:
    count = _count(args[1])
    return "" if not count else to_text(args[0])[-count:]


@_function("mid", 3, 3)
def _mid(args: list[Value], ctx: LogicContext) -> Value:
    start, count = _count(args[1]), _count(args[2])
    if start is None or count is None:
        return ""
    begin = max(start, 1) - 1
    return to_text(args[0])[begin : begin + count]


@_function("find", 2, 2)
def _find(args: list[Value], ctx: LogicContext) -> Value:
    """1-based position of the needle (first argument), 0 if absent; case-insensitive."""
    return float(to_text(args[1]).casefold().find(to_text(args[0]).casefold()) + 1)


@_function("length", 1, 1)
def _length(args: list[Value], ctx: LogicContext) -> Value:
    return float(len(to_text(args[0])))


@_function("concat", 1, None)
def _concat(args: list[Value], ctx: LogicContext) -> Value:
    return "".join(map(to_text, args))


@_function("concat_ws", 2, None)
def _concat_ws(args: list[Value], ctx: LogicContext) -> Value:
    """Joined with the separator; blank values are skipped."""
    parts = [to_text(a) for a in args[1:]]
    return to_text(args[0]).join(p for p in parts if p != "")


@_function("upper", 1, 1)
def _upper(args: list[Value], ctx: LogicContext) -> Value:
    return to_text(args[0]).upper()


@_function("lower", 1, 1)
def _lower(args: list[Value], ctx: LogicContext) -> Value:
    return to_text(args[0]).lower()


@_function("trim", 1, 1)
def _trim(args: list[Value], ctx: LogicContext) -> Value:
    return to_text(args[0]).strip()


@_function("replace_text", 3, 3)
def _replace_text(args: list[Value], ctx: LogicContext) -> Value:
    haystack, search, replacement = (to_text(a) for a in args)
    return haystack.replace(search, replacement) if search else haystack


@_function("calctext", 1, 1)
def _calctext(args: list[Value], ctx: LogicContext) -> Value:
    return to_text(args[0])


def call(name: str, args: Sequence[Value], ctx: LogicContext) -> Value:
    impl = FUNCTIONS[name].impl
    if impl is None:
        raise ValueError(f"{name}() is evaluated by the evaluator, not called")
    return impl(list(args), ctx)
