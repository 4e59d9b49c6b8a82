"""functions.py: each special function, including blank and odd inputs."""

from __future__ import annotations

import math

import pytest

from worker.core.logic import MappingContext, Value, parse
from worker.core.logic.functions import FUNCTIONS, call

VALUES = {"[a]": "4", "[b]": "", "[c]": "10", "[t]": "  Taylor ", "[miss]": "UNK", "[num]": "-99"}
CTX = MappingContext(VALUES, numeric={"a", "b", "c", "num"}, missing_codes={"UNK", "NASK", "-99"})


def ev(logic: str) -> Value:
    return parse(logic).evaluate(CTX)


def assert_value(actual: Value, expected: Value) -> None:
    if isinstance(expected, float) and math.isnan(expected):
        assert isinstance(actual, float)
        assert math.isnan(actual), actual
    else:
        assert actual == expected
        assert type(actual) is type(expected)


NAN = math.nan


@pytest.mark.parametrize(
    ("logic", "expected"),
    [
        # if
        ("if([a] > 3, 'big', 'small')", "big"),
        ("if([b] > 3, 'big', 'small')", "small"),
        ("if([b], 1, 0)", 0.0),
        # sum/min/max/mean/median/stdev skip blanks and non-numbers; NaN if none is left.
        ("sum([a], [b], [c])", 14.0),
        ("sum([b])", NAN),
        ("sum([a], 'x', true)", 4.0),
        ("min([a], [b], [c])", 4.0),
        ("max([a], [b], [c], -1)", 10.0),
        ("mean([a], [b], [c])", 7.0),
        ("median(1, 9, 3)", 3.0),
        ("median(1, 9, 3, 4)", 3.5),
        ("stdev(2, 4, 4, 4, 5, 5, 7, 9)", 2.138089935299395),
        ("stdev(5)", NAN),
        # rounding: half away from zero, on the decimal value (as PHP)
        ("round(14.384, 1)", 14.4),
        ("round(2.5)", 3.0),
        ("round(-2.5)", -3.0),
        ("round(2.675, 2)", 2.68),
        ("round(1234.5, -2)", 1200.0),
        ("round([b], 1)", NAN),
        ("round('abc')", NAN),
        ("roundup(14.381, 1)", 14.4),
        ("roundup(-14.381, 1)", -14.4),
        ("rounddown(14.389, 1)", 14.3),
        ("rounddown(-14.389, 1)", -14.3),
        ("roundup(2)", 2.0),
        # other maths
        ("abs(-7.1)", 7.1),
        ("abs([b])", NAN),
        ("sqrt(16)", 4.0),
        ("sqrt(-1)", NAN),
        ("pow(2, 3)", 8.0),
        ("mod(10, 4)", 2.0),
        ("mod(10, 0)", NAN),
        ("log(100, 10)", 2.0),
        ("log(0)", NAN),
        ("exponential(0)", 1.0),
        ("exponential(1000)", math.inf),
        # type tests
        ("isnumber([a])", True),
        ("isnumber([b])", False),
        ("isnumber('1.5')", True),
        ("isnumber(' 7 ')", True),
        ("isnumber('012')", False),
        ("isnumber('0.5')", True),
        ("isnumber('abc')", False),
        ("isnumber(true)", False),
        ("isinteger('12')", True),
        ("isinteger('12.5')", False),
        ("isinteger('012')", False),
        ("isinteger([a])", True),
        ("isinteger(4.5)", False),
        # text: case-insensitive tests
        ("contains([t], 'TAY')", True),
        ("contains([t], 'smith')", False),
        ("contains([t], '')", True),
        ("not_contain([t], 'smith')", True),
        ("starts_with('Robert', 'rob')", True),
        ("starts_with([t], 'tay')", False),  # leading spaces count
        ("ends_with('Taylor', 'LOR')", True),
        ("contains([a], '4')", True),  # numbers are tested as printed
        ("find('y', 'Taylor')", 3.0),
        ("find('z', 'Taylor')", 0.0),
        ("left('Taylor', 3)", "Tay"),
        ("right('Taylor', 4)", "ylor"),
        ("right('Taylor', 0)", ""),
        ("mid('Taylor', 2, 3)", "ayl"),
        ("length('Taylor')", 6.0),
        ("length([b])", 0.0),
        ("length([a])", 1.0),
        ("trim([t])", "Taylor"),
        ("upper('John Doe')", "JOHN DOE"),
        ("lower('John Doe')", "john doe"),
        ("concat('a', 1, [b], 2.5)", "a12.5"),
        ("concat_ws(' and ', 'Peas', [b], 'Carrots')", "Peas and Carrots"),
        ("replace_text('Taylor Taylor', 'Taylor', 'Harris')", "Harris Harris"),
        ("calctext([a] * 2)", "8"),
        ("calctext([b])", ""),
        # missing-data codes
        ("isblankormissingcode([b])", True),
        ("isblankormissingcode([miss])", True),
        ("isblankormissingcode([num])", True),
        ("isblankormissingcode([a])", False),
        ("isblanknotmissingcode([b])", True),
        ("isblanknotmissingcode([miss])", False),
        ("ismissingcode([miss])", True),
        ("ismissingcode([b])", False),
        ("hasmissingcode([miss], 'NASK,UNK')", True),
        ("hasmissingcode([miss], 'NASK')", False),
    ],
)
def test_functions(logic: str, expected: Value) -> None:
    assert_value(ev(logic), expected)


def test_missing_codes_are_optional_for_a_context() -> None:
    ctx = MappingContext({"[x]": "UNK"})
    assert parse("isblankormissingcode([x])").evaluate(ctx) is False
    assert parse("isblankormissingcode([y])").evaluate(ctx) is True


def test_the_registry_holds_redcaps_allowed_functions() -> None:
    # docs/redcap-api-behaviour.md §4.3, REDCap 15.7's list.
    assert set(FUNCTIONS) == {
        "if", "datediff", "calcdate", "calctext", "round", "roundup", "rounddown", "sqrt",
        "pow", "abs", "min", "max", "mean", "median", "sum", "stdev", "mod", "log",
        "exponential", "isnumber", "isinteger", "contains", "not_contain", "starts_with",
        "ends_with", "left", "right", "length", "mid", "find", "concat", "concat_ws", "upper",
        "lower", "trim", "replace_text", "year", "month", "day", "isblankormissingcode",
        "isblanknotmissingcode", "hasmissingcode", "ismissingcode",
    }  # fmt: skip


def test_if_is_not_callable_eagerly() -> None:
    with pytest.raises(ValueError, match="evaluator"):
        call("if", [True, 1.0, 2.0], CTX)


# What each function gives back, whatever it is given: text, true/false, or a number (NaN
# being REDCap's blank number).
TEXT_FUNCTIONS = {
    "calcdate", "calctext", "concat", "concat_ws", "left", "right", "mid", "lower", "upper",
    "trim", "replace_text",
}  # fmt: skip
TEST_FUNCTIONS = {
    "contains", "not_contain", "starts_with", "ends_with", "isnumber", "isinteger",
    "isblankormissingcode", "isblanknotmissingcode", "hasmissingcode", "ismissingcode",
}  # fmt: skip
# Functions of numbers and dates: whatever is not one reads as blank, so they are blank.
NUMBER_FUNCTIONS = {
    "abs", "exponential", "log", "max", "mean", "median", "min", "mod", "pow", "round",
    "rounddown", "roundup", "sqrt", "stdev", "sum", "datediff", "year", "month", "day",
}  # fmt: skip
DATE_FUNCTIONS = {"datediff", "year", "month", "day", "calcdate"}
ODD = ["", "abc", math.nan, math.inf, -math.inf, 1e308, -0.0, True, "2024-02-30", "1e999"]
# What each function gives for blank arguments (text "" or a blank number alike).
ON_BLANK: dict[str, Value] = {
    **dict.fromkeys(NUMBER_FUNCTIONS, NAN),
    **dict.fromkeys(TEXT_FUNCTIONS, ""),
    "length": 0.0,
    "find": 1.0,  # the empty text is found at once
    "contains": True,
    "starts_with": True,
    "ends_with": True,
    "not_contain": False,
    "isnumber": False,
    "isinteger": False,
    "isblankormissingcode": True,
    "isblanknotmissingcode": True,
    "ismissingcode": False,
    "hasmissingcode": False,
}


def argument_counts(name: str) -> list[int]:
    """The fewest arguments the function takes, and the most (or two more than the fewest)."""
    spec = FUNCTIONS[name]
    return [spec.min_args, spec.max_args if spec.max_args is not None else spec.min_args + 2]


def test_the_table_of_blank_results_names_every_function_but_if() -> None:
    assert set(ON_BLANK) == set(FUNCTIONS) - {"if"}
    assert TEXT_FUNCTIONS | TEST_FUNCTIONS | NUMBER_FUNCTIONS | {"length", "find"} == set(ON_BLANK)


@pytest.mark.parametrize("name", sorted(ON_BLANK))
@pytest.mark.parametrize("blank", ["", NAN])
def test_each_function_of_blank_arguments(name: str, blank: Value) -> None:
    for count in argument_counts(name):
        assert_value(call(name, [blank] * count, CTX), ON_BLANK[name])


@pytest.mark.parametrize("name", sorted(NUMBER_FUNCTIONS))
@pytest.mark.parametrize("text", ["abc", "2024-02-30", "1,5"])
def test_a_function_of_numbers_or_dates_is_blank_for_text_that_is_neither(
    name: str, text: str
) -> None:
    for count in argument_counts(name):
        assert_value(call(name, [text] * count, CTX), NAN)


@pytest.mark.parametrize("name", sorted(DATE_FUNCTIONS))
@pytest.mark.parametrize("argument", ODD)
def test_a_date_function_is_blank_for_anything_but_a_date(name: str, argument: Value) -> None:
    for count in argument_counts(name):
        assert_value(call(name, [argument] * count, CTX), "" if name in TEXT_FUNCTIONS else NAN)


@pytest.mark.parametrize("name", sorted(ON_BLANK))
@pytest.mark.parametrize("argument", ODD)
def test_every_function_gives_its_kind_of_value_for_odd_input(name: str, argument: Value) -> None:
    kind = str if name in TEXT_FUNCTIONS else bool if name in TEST_FUNCTIONS else float
    for count in argument_counts(name):
        assert type(call(name, [argument] * count, CTX)) is kind


@pytest.mark.parametrize("argument", ODD)
def test_no_odd_input_is_a_missing_code_and_only_a_blank_is_blank(argument: Value) -> None:
    blank = argument == "" or (isinstance(argument, float) and math.isnan(argument))
    for name, expected in [
        ("ismissingcode", False),
        ("hasmissingcode", False),
        ("isblankormissingcode", blank),
        ("isblanknotmissingcode", blank),
    ]:
        for count in argument_counts(name):
            assert call(name, [argument] * count, CTX) is expected


@pytest.mark.parametrize(
    ("argument", "number", "integer"),
    [(1e308, True, True), (-0.0, True, True), (math.inf, False, False), ("abc", False, False)],
)
def test_a_finite_number_is_a_number_and_infinity_is_not(
    argument: Value, number: bool, integer: bool
) -> None:
    assert call("isnumber", [argument], CTX) is number
    assert call("isinteger", [argument], CTX) is integer
