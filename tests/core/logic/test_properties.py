"""Properties over generated input (hypothesis):

1. ``parse`` raises only ``LogicSyntaxError``, on arbitrary text and on mutated valid logic;
2. ``parse(unparse(tree)) == tree`` for generated trees (so ``unparse`` is canonical);
3. arithmetic and comparison of numeric literals agree with Python's operators;
4. evaluating any tree against any values never raises.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from datetime import date, datetime

from hypothesis import given
from hypothesis import strategies as st

from tests.support.examples import examples
from tests.support.logic_trees import compound
from worker.core.logic import LogicSyntaxError, MappingContext, parse, unparse
from worker.core.logic.nodes import (
    EVENT_SMART_VARIABLES,
    INSTANCE_SMART_VARIABLES,
    STANDALONE_SMART_VARIABLES,
    Binary,
    Boolean,
    FieldRef,
    Node,
    Number,
    SmartVariable,
    String,
    Unary,
    walk,
)
from worker.core.logic.unparser import reference_text

SETTINGS = examples(200)

# --- 1. parse raises only LogicSyntaxError ---------------------------------------------------

VALID_LOGIC = [
    "[pg_outcome] <> '1' and [pg_outcome] <> ''",
    "[pg_outcome] = '2' or [pg_outcome] = '5'",
    "[icf_signed] = '1'",
    "[baseline_arm_1][race(2)] = '1' and [visit][w][last-instance] >= 10",
    "datediff([dob], 'today', 'y', true) >= 18 && ![consent]",
    'if([a] > 1, sum([b], [c]) / 2, round(-(3)^(2), 1)) <> "x"',
    "// comment\n[a] == 1 || ([b] != 2 AND [c] < 3)\n# another\n",
    "contains([name], 'smith') or [record-name] = '101' or [x:value][2] > 0",
]
LOGIC_ALPHABET = "[]()'\"=<>!&|+-*/^,.:_ \n#/abcdefnortuyADNOR0123456789"


def assert_parse_raises_only_syntax_errors(text: str) -> None:
    error: LogicSyntaxError | None = None
    try:
        expr = parse(text, source="generated")
    except LogicSyntaxError as caught:  # anything else fails the test
        error = caught
    if error is not None:
        assert error.source == "generated"
        assert error.line >= 1
        assert error.column >= 1
    else:
        # Whatever parses also prints and parses back to the same tree.
        assert parse(str(expr)) == expr


@SETTINGS
@given(st.text())
def test_parse_arbitrary_text(text: str) -> None:
    assert_parse_raises_only_syntax_errors(text)


@SETTINGS
@given(st.text(alphabet=LOGIC_ALPHABET, max_size=60))
def test_parse_text_made_of_logic_characters(text: str) -> None:
    assert_parse_raises_only_syntax_errors(text)


@st.composite
def mutated_logic(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(VALID_LOGIC))
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, len(text)))
        end = draw(st.integers(start, min(len(text), start + 6)))
        kind = draw(st.sampled_from(["delete", "insert", "replace", "duplicate"]))
        filler = draw(st.text(alphabet=LOGIC_ALPHABET, min_size=1, max_size=4))
        if kind == "delete":
            text = text[:start] + text[end:]
        elif kind == "insert":
            text = text[:start] + filler + text[start:]
        elif kind == "replace":
            text = text[:start] + filler + text[end:]
        else:
            text = text[:end] + text[start:end] + text[end:]
    return text


@SETTINGS
@given(mutated_logic())
def test_parse_mutated_valid_logic(text: str) -> None:
    assert_parse_raises_only_syntax_errors(text)


# --- 2. round trip -----------------------------------------------------------------------

names = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)
events = names.map(lambda n: f"{n}_arm_1") | st.sampled_from(sorted(EVENT_SMART_VARIABLES))
codes = st.from_regex(r"-?[0-9]{1,3}|[A-Za-z][A-Za-z0-9._]{0,3}", fullmatch=True)
instances = st.integers(1, 999) | st.sampled_from(sorted(INSTANCE_SMART_VARIABLES))
field_refs = st.builds(
    FieldRef,
    field=names,
    event=st.none() | events,
    code=st.none() | codes,
    instance=st.none() | instances,
)
numbers = (
    st.integers(0, 10**6).map(float)
    | st.floats(0, 1e30, allow_nan=False, allow_infinity=False).map(abs)
).map(Number)
strings = st.text(max_size=8).filter(lambda s: not ("'" in s and '"' in s)).map(String)
leaves: st.SearchStrategy[Node] = st.one_of(
    field_refs,
    numbers,
    strings,
    st.builds(Boolean, st.booleans()),
    st.sampled_from(sorted(STANDALONE_SMART_VARIABLES)).map(SmartVariable),
)


trees = st.recursive(leaves, compound, max_leaves=20)


@SETTINGS
@given(trees)
def test_unparse_then_parse_gives_the_same_tree(node: Node) -> None:
    text = unparse(node)
    expr = parse(text)
    assert expr.node == node
    assert unparse(expr.node) == text  # and the text is canonical
    assert parse(str(parse(text))) == parse(text)


# --- 3. differential: numeric literals against Python --------------------------------------

literals = (
    st.integers(-1000, 1000).map(float)
    | st.decimals(-1000, 1000, places=2, allow_nan=False, allow_infinity=False).map(float)
    | st.sampled_from([0.0, 0.1, 0.2, 0.3, 1e-9, 123456.789])
)
ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
}
COMPARISON: dict[str, Callable[[float, float], bool]] = {
    "=": operator.eq,
    "<>": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def literal(value: float) -> Node:
    return Unary("-", Number(-value)) if math.copysign(1, value) < 0 else Number(value)


arithmetic_trees = st.recursive(
    literals.map(literal),
    lambda children: (
        st.builds(Binary, st.sampled_from(sorted(ARITHMETIC)), children, children)
        | st.builds(Unary, st.just("-"), children)
    ),
    max_leaves=8,
)


def python_value(node: Node) -> float | None:
    """Python's own arithmetic; None where Python divides by zero (REDCap: blank)."""
    match node:
        case Number(value=value):
            return value
        case Unary(operand=operand):
            inner = python_value(operand)
            return None if inner is None else -inner
        case Binary(op=op, left=left, right=right):
            a, b = python_value(left), python_value(right)
            if a is None or b is None:
                return None
            try:
                return ARITHMETIC[op](a, b)
            except ZeroDivisionError:
                return None
    raise AssertionError(node)


CTX = MappingContext(today=date(2026, 11, 26))


@SETTINGS
@given(arithmetic_trees)
def test_arithmetic_agrees_with_python(node: Node) -> None:
    expected = python_value(node)
    result = parse(unparse(node)).evaluate(CTX)
    assert isinstance(result, float)
    if expected is None:
        assert math.isnan(result)
    else:
        assert result == expected


@SETTINGS
@given(arithmetic_trees, st.sampled_from(sorted(COMPARISON)), arithmetic_trees)
def test_comparison_agrees_with_python(left: Node, op: str, right: Node) -> None:
    a, b = python_value(left), python_value(right)
    if a is None or b is None:
        # REDCap's blank rules: a blank equals only a blank; blank is never ordered.
        expected = {"=": a is b, "<>": a is not b}.get(op, False)
    else:
        expected = COMPARISON[op](a, b)
    text = f"{unparse(left)} {op} {unparse(right)}"
    assert parse(text).evaluate(CTX) is expected


@SETTINGS
@given(literals, st.sampled_from(sorted(COMPARISON)), literals)
def test_comparison_of_quoted_numbers_is_numeric(a: float, op: str, b: float) -> None:
    # '10' > '9' compares numbers, as PHP 8 compares numeric strings.
    text = f"'{a!r}' {op} '{b!r}'"
    assert parse(text).evaluate(CTX) is COMPARISON[op](a, b)


# --- 4. evaluation never raises --------------------------------------------------------------

RAW_VALUES = ["", "0", "1", "2.5", "-3", "abc", "2024-01-31", "2024-01-31 10:00", "12:30", "1e999"]


@SETTINGS
@given(trees, st.data())
def test_evaluating_any_tree_never_raises(node: Node, data: st.DataObject) -> None:
    refs = [n for n in walk(node) if isinstance(n, FieldRef)]
    values = {reference_text(ref): data.draw(st.sampled_from(RAW_VALUES)) for ref in refs}
    fields = sorted({ref.field for ref in refs})
    numeric = data.draw(st.frozensets(st.sampled_from(fields))) if fields else frozenset()
    ctx = MappingContext(
        values,
        numeric=numeric,
        today=date(2026, 11, 26),
        now=datetime(2026, 11, 26, 12, 0),
        missing_codes={"abc"},
        smart_variables={"record-name": "101", "current-instance": "2"},
    )
    result = parse(unparse(node)).evaluate(ctx)
    assert isinstance(result, float | str | bool)
