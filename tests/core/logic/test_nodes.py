"""nodes.py: tree invariants and iterative traversal."""

from __future__ import annotations

import math

import pytest

from worker.core.logic.nodes import (
    Binary,
    Call,
    FieldRef,
    Logical,
    Number,
    String,
    Unary,
    depth,
    walk,
)


@pytest.mark.parametrize("value", [-1.0, -0.0, math.inf, math.nan])
def test_number_literals_are_finite_and_not_negative(value: float) -> None:
    with pytest.raises(ValueError, match="finite and not negative"):
        Number(value)


def test_walk_visits_every_node_in_order() -> None:
    a, b = FieldRef("a"), FieldRef("b")
    tree = Logical("or", (Binary("=", a, Number(1.0)), Unary("not", Call("isnumber", (b,)))))
    assert walk(tree) == [
        tree,
        Binary("=", a, Number(1.0)),
        a,
        Number(1.0),
        Unary("not", Call("isnumber", (b,))),
        Call("isnumber", (b,)),
        b,
    ]
    assert depth(tree) == 4
    assert depth(String("x")) == 1


def test_walk_and_depth_do_not_recurse() -> None:
    node = Number(1.0)
    for _ in range(10_000):
        node = Unary("-", node)
    assert depth(node) == 10_001
    assert len(walk(node)) == 10_001
