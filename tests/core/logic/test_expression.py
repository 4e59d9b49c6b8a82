"""expression.py and the package's public API: parse -> Expression -> evaluate/is_true."""

from __future__ import annotations

import dataclasses

import pytest

import worker.core.logic as logic
from worker.core.logic import Expression, LogicReferenceError, MappingContext, parse
from worker.core.logic.nodes import FieldRef


def test_public_names() -> None:
    assert {"parse", "unparse", "LogicSyntaxError", "Expression", "RecordContext"} <= set(
        logic.__all__
    )


def test_parse_gives_an_immutable_expression() -> None:
    expr = parse("[pg_outcome] <> '1' and [pg_outcome] <> ''", source="branching logic of x")
    assert isinstance(expr, Expression)
    assert expr.text == "[pg_outcome] <> '1' and [pg_outcome] <> ''"
    assert expr.source == "branching logic of x"
    with pytest.raises(dataclasses.FrozenInstanceError):
        expr.node = FieldRef("other")  # type: ignore[misc]


def test_expressions_compare_by_tree_only() -> None:
    a = parse("[a]=1 AND [b]=2", source="one")
    b = parse("[a] = 1 and [b] = 2", source="two")
    assert a == b
    assert hash(a) == hash(b)
    assert a != parse("[a] = 1 or [b] = 2")
    assert len({a, b}) == 1


def test_references() -> None:
    expr = parse(
        "[age] > 18 and [baseline_arm_1][race(2)] = '1' and [race(3)] = '1' "
        "or [visit][w][2] > [w][last-instance] or [previous-event-name][x] = [record-name]"
    )
    assert expr.references == frozenset(
        {
            (None, "age"),
            ("baseline_arm_1", "race"),
            (None, "race"),
            ("visit", "w"),
            (None, "w"),
            ("previous-event-name", "x"),
        }
    )
    assert FieldRef("race", event="baseline_arm_1", code="2") in expr.field_refs
    assert FieldRef("w", instance="last-instance") in expr.field_refs


def test_references_inside_functions() -> None:
    expr = parse("datediff([dob], if([alive] = '1', 'today', [dod]), 'y') >= 18")
    assert expr.references == frozenset({(None, "dob"), (None, "alive"), (None, "dod")})


def test_evaluate_and_is_true() -> None:
    expr = parse("[a] + 1")
    ctx = MappingContext({"[a]": "2"})
    assert expr.evaluate(ctx) == 3.0
    assert expr.is_true(ctx) is True
    assert parse("[a] - 2").is_true(ctx) is False


def test_evaluation_errors_name_the_source() -> None:
    class Strict(MappingContext):
        def lookup(self, ref: FieldRef) -> str:
            raise LogicReferenceError(f"[{ref.field}]: no such field in the project")

    expr = parse("[ghost] = 1", source="rule NK-1")
    with pytest.raises(LogicReferenceError) as caught:
        expr.evaluate(Strict())
    assert str(caught.value) == "Logic error in rule NK-1: [ghost]: no such field in the project"
    assert caught.value.source == "rule NK-1"


def test_str_is_the_canonical_text() -> None:
    assert str(parse("[a]==1&&[b]!=''")) == "[a] = 1 and [b] <> ''"
