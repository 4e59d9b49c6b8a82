"""evaluate.py: what logic evaluates to, with REDCap's blank and type rules
(docs/redcap-api-behaviour.md §4.4)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import pytest

from worker.core.logic import Expression, LogicReferenceError, MappingContext, Value, parse
from worker.core.logic.nodes import SmartVariable

# Field kinds used below: `age`, `score`, `code` are numeric (chkNull'd by REDCap);
# `name`, `dob`, `note` are text.
NUMERIC = {"age", "score", "code"}


def ev(logic: str, values: Mapping[str, str] | None = None) -> Value:
    return parse(logic).evaluate(MappingContext(values or {}, numeric=NUMERIC))


def is_true(logic: str, values: Mapping[str, str] | None = None) -> bool:
    return parse(logic).is_true(MappingContext(values or {}, numeric=NUMERIC))


BLANK: dict[str, str] = {}


@pytest.mark.parametrize(
    ("logic", "values", "expected"),
    [
        # The cases spelled out in docs/redcap-api-behaviour.md §4.4, age blank:
        ("[age] > 5", BLANK, False),
        ("[age] < 5", BLANK, False),
        ("[age] = 0", BLANK, False),
        ("[age] <> 5", BLANK, True),
        ("[age] >= 0", BLANK, False),
        ("[age] <= 0", BLANK, False),
        ("[age] != 5", BLANK, True),
        # ... and filled.
        ("[age] > 5", {"[age]": "7"}, True),
        ("[age] < 5", {"[age]": "7"}, False),
        ("[age] = 0", {"[age]": "0"}, True),
        ("[age] <> 5", {"[age]": "5"}, False),
        # `= ''` is a blank test for numeric and text fields alike.
        ("[age] = ''", BLANK, True),
        ('[age] = ""', BLANK, True),
        ("[name] = ''", BLANK, True),
        ("[age] <> ''", BLANK, False),
        ("[name] <> ''", BLANK, False),
        ("[age] = ''", {"[age]": "0"}, False),
        ("[age] <> ''", {"[age]": "0"}, True),
        ("[name] <> ''", {"[name]": "Ann"}, True),
        ("'' = [age]", BLANK, True),
        # Order comparisons with a blank side are false, text too.
        ("[name] < 'b'", BLANK, False),
        ("[dob] < '2000-01-01'", BLANK, False),
        ("[dob] >= ''", BLANK, False),
        # `=` compares as numbers when both sides are numbers.
        ("[age] = '1'", {"[age]": "1.0"}, True),
        ("[note] = '1'", {"[note]": "1.0"}, True),
        ("[note] = 1", {"[note]": "1.0"}, True),
        ("[age] = 1", {"[age]": "1"}, True),
        ("[age] > '10'", {"[age]": "9"}, False),
        ("[note] > '10'", {"[note]": "9"}, False),
        # Text compares as text: dates in YYYY-MM-DD order correctly.
        ("[dob] > '2000-01-01'", {"[dob]": "2001-05-01"}, True),
        ("[dob] > '2000-01-01'", {"[dob]": "1999-12-31"}, False),
        ("[dob] = '2000-01-01'", {"[dob]": "2000-01-01"}, True),
        ("[name] = 'ann'", {"[name]": "Ann"}, False),
        # Two numeric fields, both blank: equal, but not ordered.
        ("[age] = [score]", BLANK, True),
        ("[age] <> [score]", BLANK, False),
        ("[age] >= [score]", BLANK, False),
        ("[age] < [score]", {"[score]": "5"}, False),
        ("[age] > [score]", {"[age]": "5"}, False),
        # An invalid entry in a numeric field stays text and still compares.
        ("[age] = 'abc'", {"[age]": "abc"}, True),
        ("[age] > 5", {"[age]": "abc"}, True),  # PHP 8: "abc" > "5" as strings
        ("[age] = ''", {"[age]": "abc"}, False),
    ],
)
def test_blank_and_type_semantics(logic: str, values: Mapping[str, str], expected: bool) -> None:
    assert ev(logic, values) is expected


def test_a_blank_numeric_field_evaluates_to_nan_and_a_blank_text_field_to_empty() -> None:
    age = ev("[age]")
    assert isinstance(age, float)
    assert math.isnan(age)
    assert ev("[name]") == ""
    assert ev("[age]", {"[age]": "42"}) == 42.0
    assert ev("[name]", {"[name]": "42"}) == "42"


@pytest.mark.parametrize(
    ("logic", "expected"),
    [
        ("1 + 2", 3.0),
        ("7 - 10", -3.0),
        ("2 * 3.5", 7.0),
        ("7 / 2", 3.5),
        ("1 + 2 * 3", 7.0),
        ("(1 + 2) * 3", 9.0),
        ("10 - 4 - 3", 3.0),
        ("12 / 3 / 2", 2.0),
        ("-3 + 5", 2.0),
        ("-(3 + 5)", -8.0),
        ("+'4'", 4.0),
        ("(2)^(10)", 1024.0),
        ("(4)^(0.5)", 2.0),
        ("-(2)^(2)", -4.0),
        ("(-2)^(2)", 4.0),
        ("'3' + '4'", 7.0),
        ("[score] * 2", 84.0),
    ],
)
def test_arithmetic(logic: str, expected: float) -> None:
    assert ev(logic, {"[score]": "42"}) == expected


@pytest.mark.parametrize("logic", ["[age] + 1", "1 / 0", "[name] * 2", "'a' + 1", "-[age]"])
def test_arithmetic_without_a_number_is_blank(logic: str) -> None:
    result = ev(logic, {"[name]": "Ann"})
    assert isinstance(result, float)
    assert math.isnan(result)


@pytest.mark.parametrize(
    ("logic", "expected"),
    [
        ("1 = 1", True),
        ("1 == 1", True),
        ("1 <> 1", False),
        ("1 != 2", True),
        ("1 < 2", True),
        ("2 <= 2", True),
        ("3 > 2", True),
        ("2 >= 3", False),
        ("'a' < 'b'", True),
        ("true", True),
        ("false", False),
        ("true and false", False),
        ("true && true", True),
        ("false or true", True),
        ("false || false", False),
        ("not false", True),
        ("!true", False),
        # `and` binds tighter than `or`.
        ("true or false and false", True),
        ("(true or false) and false", False),
        ("false and false or true", True),
        ("false and (false or true)", False),
        # `not` binds tighter than `and`.
        ("not false and false", False),
        ("not (false and false)", True),
        # and/or/not use REDCap truthiness: blank and "0" are false.
        ("[age] or [name]", False),
        ("not [age]", True),
        ("'0' or 0", False),
        ("'x' and 1", True),
    ],
)
def test_comparison_and_logic_operators(logic: str, expected: bool) -> None:
    assert ev(logic) is expected


def test_not_binds_tighter_than_a_comparison_as_in_php() -> None:
    # (not [code]) = '1': for code 2 that is false = '1', i.e. false (write not([code] = '1')).
    assert ev("not [code] = '1'", {"[code]": "2"}) is False
    assert ev("not([code] = '1')", {"[code]": "2"}) is True
    assert ev("not [code] = '1'", {}) is True  # not NaN is true, and true = '1'


@pytest.mark.parametrize(
    ("values", "expected"),
    [({"[race(2)]": "1"}, True), ({"[race(2)]": "0"}, False), ({"[race(1)]": "1"}, False)],
)
def test_checkbox_option(values: Mapping[str, str], expected: bool) -> None:
    assert ev("[race(2)] = '1'", values) is expected


def test_a_checkbox_option_is_numeric_whatever_the_context_says() -> None:
    assert ev("[race(2)]", {"[race(2)]": "1"}) == 1.0


def test_event_and_instance_references_are_looked_up_as_written() -> None:
    values = {"[visit_arm_1][age]": "30", "[age][2]": "31", "[age][last-instance]": "32"}
    assert ev("[visit_arm_1][age] + [age][2] + [age][last-instance]", values) == 93.0


def test_if_evaluates_only_the_branch_taken() -> None:
    # The other branch names a smart variable the context cannot supply; it is never read.
    class NoSmartVariables:
        today = MappingContext().today
        now = MappingContext().now

        def read(self, ref: object) -> Value:
            return 1.0

    ctx = NoSmartVariables()
    assert parse("if([a] = 1, 'yes', [record-name])").evaluate(ctx) == "yes"
    with pytest.raises(LogicReferenceError, match=r"\[record-name\] is not available"):
        parse("if([a] = 2, 'yes', [record-name])").evaluate(ctx)


def test_smart_variables_come_from_the_context() -> None:
    ctx = MappingContext(smart_variables={"record-name": "101", "current-instance": "2"})
    assert Expression(SmartVariable("record-name")).evaluate(ctx) == "101"
    assert parse("[current-instance] = 2").evaluate(ctx) is True
    assert parse("[current-instance] - 1").evaluate(ctx) == 1.0


@pytest.mark.parametrize(
    ("logic", "expected"),
    [
        ("1", True),
        ("0", False),
        ("'0'", False),
        ("''", False),
        ("'no'", True),
        ("[age]", False),
        ("1 / 0", False),
        ("0.5", True),
    ],
)
def test_is_true(logic: str, expected: bool) -> None:
    assert is_true(logic) is expected
