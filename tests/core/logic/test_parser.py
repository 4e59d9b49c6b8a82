"""parser.py: the tree each piece of logic parses to, and the errors it refuses with."""

from __future__ import annotations

import pytest

from worker.core.logic import LogicSyntaxError, MappingContext, parse
from worker.core.logic.nodes import (
    Binary,
    Boolean,
    Call,
    FieldRef,
    Logical,
    Node,
    Number,
    SmartVariable,
    String,
    Unary,
)
from worker.core.logic.parser import MAX_DEPTH, MAX_NESTING, parse_node


def tree(text: str) -> Node:
    return parse(text).node


A, B, C, D = (FieldRef(name) for name in "abcd")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5", Number(5.0)),
        ("2.50", Number(2.5)),
        ("'x'", String("x")),
        ('"x"', String("x")),
        ("''", String("")),
        ("true", Boolean(True)),
        ("FALSE", Boolean(False)),
        ("-5", Unary("-", Number(5.0))),
        ("+5", Unary("+", Number(5.0))),
        ("[a]", A),
        ("([a])", A),
    ],
)
def test_values(text: str, expected: Node) -> None:
    assert tree(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[a]", FieldRef("a")),
        ("[a:value]", FieldRef("a")),
        ("[visit_arm_1][a]", FieldRef("a", event="visit_arm_1")),
        ("[race(2)]", FieldRef("race", code="2")),
        ("[race(-1)]", FieldRef("race", code="-1")),
        ("[race(UNK)]", FieldRef("race", code="UNK")),
        ("[race(2):value]", FieldRef("race", code="2")),
        ("[e_arm_1][race(2)]", FieldRef("race", event="e_arm_1", code="2")),
        ("[a][2]", FieldRef("a", instance=2)),
        ("[a][current-instance]", FieldRef("a", instance="current-instance")),
        ("[a][previous-instance]", FieldRef("a", instance="previous-instance")),
        ("[a][next-instance]", FieldRef("a", instance="next-instance")),
        ("[a][first-instance]", FieldRef("a", instance="first-instance")),
        ("[a][last-instance]", FieldRef("a", instance="last-instance")),
        ("[e_arm_1][a][3]", FieldRef("a", event="e_arm_1", instance=3)),
        ("[e_arm_1][race(2)][last-instance]", FieldRef("race", "e_arm_1", "2", "last-instance")),
        ("[event-name][a]", FieldRef("a", event="event-name")),
        ("[previous-event-name][a]", FieldRef("a", event="previous-event-name")),
        ("[1_month_arm_1][a]", FieldRef("a", event="1_month_arm_1")),
        ("[record-name]", SmartVariable("record-name")),
        ("[event-name]", SmartVariable("event-name")),
        ("[current-instance]", SmartVariable("current-instance")),
    ],
)
def test_references(text: str, expected: Node) -> None:
    assert tree(text) == expected


def test_brackets_must_touch_to_form_one_reference() -> None:
    with pytest.raises(LogicSyntaxError, match="expected an operator"):
        parse("[visit_arm_1] [a]")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # `and` binds tighter than `or`.
        ("[a] or [b] and [c]", Logical("or", (A, Logical("and", (B, C))))),
        ("[a] and [b] or [c]", Logical("or", (Logical("and", (A, B)), C))),
        ("([a] or [b]) and [c]", Logical("and", (Logical("or", (A, B)), C))),
        # Chains stay flat; parenthesised groups stay nested, as written.
        ("[a] or [b] or [c] or [d]", Logical("or", (A, B, C, D))),
        ("([a] or [b]) or [c]", Logical("or", (Logical("or", (A, B)), C))),
        # Comparisons bind tighter than and/or, arithmetic tighter than comparisons.
        (
            "[a] = 1 and [b] <> 2",
            Logical("and", (Binary("=", A, Number(1.0)), Binary("<>", B, Number(2.0)))),
        ),
        (
            "[a] + 1 > [b] * 2",
            Binary(">", Binary("+", A, Number(1.0)), Binary("*", B, Number(2.0))),
        ),
        ("[a] - [b] - [c]", Binary("-", Binary("-", A, B), C)),
        ("[a] / [b] * [c]", Binary("*", Binary("/", A, B), C)),
        ("[a] - ([b] - [c])", Binary("-", A, Binary("-", B, C))),
        # PHP: relational binds tighter than equality, so this is (a < b) = c.
        ("[a] < [b] = [c]", Binary("=", Binary("<", A, B), C)),
        # Powers: only (x)^(y); right-associative; tighter than unary minus.
        ("(2)^(3)", Binary("^", Number(2.0), Number(3.0))),
        (
            "(2)^(3)^(2)",
            Binary("^", Number(2.0), Binary("^", Number(3.0), Number(2.0))),
        ),
        ("-(2)^(2)", Unary("-", Binary("^", Number(2.0), Number(2.0)))),
        # PHP: `!` binds tighter than comparisons.
        ("not [a] = '1'", Binary("=", Unary("not", A), String("1"))),
        ("not([a] = '1')", Unary("not", Binary("=", A, String("1")))),
        ("-[a] * 2", Binary("*", Unary("-", A), Number(2.0))),
        ("- -[a]", Unary("-", Unary("-", A))),
    ],
)
def test_precedence(text: str, expected: Node) -> None:
    assert tree(text) == expected


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("[a] == [b]", "[a] = [b]"),
        ("[a] != [b]", "[a] <> [b]"),
        ("[a] && [b]", "[a] and [b]"),
        ("[a] AND [b]", "[a] and [b]"),
        ("[a] || [b]", "[a] or [b]"),
        ("[a] OR [b]", "[a] or [b]"),
        ("![a]", "not [a]"),
        ("NOT [a]", "not [a]"),
        ("IF([a], 1, 2)", "if([a], 1, 2)"),
        ("[a]='1'and[b]='2'", "[a] = '1' and [b] = '2'"),
    ],
)
def test_alternative_spellings_give_the_same_tree(spelling: str, canonical: str) -> None:
    assert tree(spelling) == tree(canonical)


def test_function_calls() -> None:
    assert tree("datediff([dob], 'today', 'y', true)") == Call(
        "datediff", (FieldRef("dob"), String("today"), String("y"), Boolean(True))
    )
    assert tree("sum([a], [b], 3)") == Call("sum", (A, B, Number(3.0)))
    assert tree("if([a] = 1, 'yes', if([b], 'b', 'none'))") == Call(
        "if",
        (
            Binary("=", A, Number(1.0)),
            String("yes"),
            Call("if", (B, String("b"), String("none"))),
        ),
    )


def test_comments_are_ignored() -> None:
    assert tree("// show for adults\n[age] >= 18") == tree("[age] >= 18")


SOURCE = "branching logic of field pg_end_date"


@pytest.mark.parametrize(
    ("text", "problem", "column"),
    [
        ("", "the logic is empty", 1),
        ("// only a comment", "the logic is empty", 18),
        ("[a] =", "expected a value after '=', found the end of the logic", 6),
        ("[a] = = 1", "expected a value after '=', found '='", 7),
        ("[a] = 1 and", "expected a value after 'and', found the end of the logic", 12),
        ("([a] = 1", "expected ')' or an operator, found the end of the logic", 9),
        ("[a] = 1)", "')' has no matching '('", 8),
        (
            "[a] [b]",
            "expected an operator (=, <>, and, or, ...) or the end of the logic, found '[b]'",
            5,
        ),
        (
            "[a] = 1 2",
            "expected an operator (=, <>, and, or, ...) or the end of the logic, found '2'",
            9,
        ),
        (
            "[a] = yes",
            "unexpected word 'yes': field names go in square brackets ([yes]) "
            "and text in quotes ('yes')",
            7,
        ),
        ("and [a]", "expected a value before 'and'", 1),
        ("[a] And [b]", "REDCap does not recognise 'And'; write 'and' or 'AND'", 5),
        ("Not [a]", "REDCap does not recognise 'Not'; write 'not' or 'NOT'", 1),
        ("foo([a])", "unknown function 'foo'", 1),
        (
            "[a] = 1 = 2",
            "comparisons cannot be chained ('=' after a comparison); add parentheses or use 'and'",
            9,
        ),
        (
            "1 < [a] < 5",
            "comparisons cannot be chained ('<' after a comparison); add parentheses or use 'and'",
            9,
        ),
        ("4^3", "write powers as (x)^(y), with both sides in parentheses", 2),
        ("(4)^3", "expected '(' after '^' (write powers as (x)^(y)), found '3'", 5),
        ("round()", "round() takes 1 to 2 arguments, got 0", 1),
        ("if([a], 1)", "if() takes 3 arguments, got 2", 1),
        ("sum()", "sum() takes at least 1 argument, got 0", 1),
        ("round(1 2)", "expected ',' or ')' in the arguments of round(), found '2'", 9),
        ("sum(1,,2)", "expected a value after ',', found ','", 7),
        (
            "datediff([a], [b], 'D')",
            "in datediff(): unit 'D' is not one of 'y', 'M', 'd', 'h', 'm', 's'",
            1,
        ),
        (
            "datediff([a], [b], 'd', 'x', true)",
            "in datediff(): the 4th of 5 arguments is 'ymd', 'mdy' or 'dmy', not 'x'",
            1,
        ),
        ("[2]", "instance [2] must follow a field", 1),
        ("[a][0]", "instance numbers start at 1", 4),
        ("[a][1234567890]", "instance number 1234567890 is too large", 4),
        (
            "[a][b][c]",
            "expected an instance number or [current-instance]-style suffix, found '[c]'",
            7,
        ),
        ("[a][2][3]", "unexpected '[3]' after the instance", 7),
        ("[a(1)][b]", "expected a unique event name before the field, found '[a(1)]'", 1),
        ("[user-name] = 'x'", "unsupported smart variable [user-name]", 1),
        ("[a:label]", "unsupported ':label' in [a:label]; only ':value' is allowed in logic", 1),
        (
            "[a b]",
            "expected a field name like [age] or a checkbox like [race(2)], found '[a b]'",
            1,
        ),
        ("1e999", "the number 1e999 is too large", 1),
    ],
)
def test_syntax_errors(text: str, problem: str, column: int) -> None:
    with pytest.raises(LogicSyntaxError) as caught:
        parse(text, source=SOURCE)
    error = caught.value
    assert error.problem == problem
    assert error.column == column
    assert error.source == SOURCE
    assert str(error).startswith(f"Syntax error in {SOURCE} at line 1, column {column}: {problem}")


def test_error_message_shows_where_in_the_logic() -> None:
    with pytest.raises(LogicSyntaxError) as caught:
        parse("[pg_outcome] <> '1' and\n[pg_outcome] <> )", source=SOURCE)
    error = caught.value
    assert (error.line, error.column, error.position) == (2, 17, 40)
    assert error.expected == "a value after '<>'"
    assert str(error) == (
        f"Syntax error in {SOURCE} at line 2, column 17: expected a value after '<>', "
        "found ')'; in: [pg_outcome] <> '1' and [pg_outcome] <> >>> )"
    )


def test_error_without_source() -> None:
    with pytest.raises(LogicSyntaxError, match=r"^Syntax error in REDCap logic at line 1"):
        parse("[a] =")


def test_long_logic_is_excerpted_around_the_error() -> None:
    text = " or ".join(f"[field_{i}] = '{i}'" for i in range(20)) + " or"
    with pytest.raises(LogicSyntaxError) as caught:
        parse(text)
    assert str(caught.value).endswith("; in: …field_18] = '18' or [field_19] = '19' or >>>")
    assert "…" in str(caught.value)


def test_deep_nesting_is_a_syntax_error_not_a_crash() -> None:
    with pytest.raises(LogicSyntaxError, match="nests more than"):
        parse("(" * (MAX_NESTING + 1) + "1" + ")" * (MAX_NESTING + 1))
    with pytest.raises(LogicSyntaxError, match="nests more than"):
        parse("not " * 5000 + "1")
    with pytest.raises(LogicSyntaxError, match="nested more than"):
        parse(" + ".join(["1"] * (MAX_DEPTH + 5)))


def test_long_and_or_chains_are_fine() -> None:
    text = " or ".join(f"[a] = '{i}'" for i in range(1000))
    node = tree(text)
    assert isinstance(node, Logical)
    assert len(node.operands) == 1000


def test_parse_results_are_cached() -> None:
    parse_node.cache_clear()
    first = parse("[x] = '1'", source="one")
    second = parse("[x] = '1'", source="two")
    assert first == second
    assert first.node is second.node
    assert parse_node.cache_info().hits == 1


def test_cached_failures_still_name_each_source() -> None:
    for source in ("rule A", "rule B"):
        with pytest.raises(LogicSyntaxError, match=f"in {source} at"):
            parse("[a] = ", source=source)


def test_logic_at_the_limits_still_evaluates_prints_and_compares() -> None:
    chain = parse(" + ".join(["1"] * MAX_DEPTH))
    nested = parse("(" * (MAX_NESTING - 1) + "1" + ")" * (MAX_NESTING - 1))
    negations = parse("-" * (MAX_NESTING - 1) + "1")
    ctx = MappingContext()
    assert chain.evaluate(ctx) == float(MAX_DEPTH)
    assert nested.evaluate(ctx) == 1.0
    assert negations.evaluate(ctx) == -1.0
    for expr in (chain, nested, negations):
        assert parse(str(expr)) == expr
        assert hash(parse(str(expr))) == hash(expr)
