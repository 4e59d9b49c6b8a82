"""unparser.py: canonical text for a tree, which parses back to the same tree."""

from __future__ import annotations

import pytest

from worker.core.logic import parse, unparse
from worker.core.logic.nodes import Binary, FieldRef, Logical, Number, String, Unary


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("[pg_outcome]<>'1'  AND [pg_outcome]<>\"\"", "[pg_outcome] <> '1' and [pg_outcome] <> ''"),
        ("[a]==1 || [b]!=2", "[a] = 1 or [b] <> 2"),
        ("!([a]=1)", "not ([a] = 1)"),
        ("not [a] = 1", "not [a] = 1"),
        ("((([a])))", "[a]"),
        ("([a] = 1 or [b] = 2) and [c] = 3", "([a] = 1 or [b] = 2) and [c] = 3"),
        ("[a] = 1 or ([b] = 2 and [c] = 3)", "[a] = 1 or [b] = 2 and [c] = 3"),
        ("([a] or [b]) or [c]", "([a] or [b]) or [c]"),
        ("[a] - ([b] - [c])", "[a] - ([b] - [c])"),
        ("([a] - [b]) - [c]", "[a] - [b] - [c]"),
        ("([a] = [b]) = [c]", "([a] = [b]) = [c]"),
        ("[a] = ([b] = [c])", "[a] = ([b] = [c])"),
        ("([a] = [b]) < [c]", "([a] = [b]) < [c]"),
        ("(2)^(3)", "(2)^(3)"),
        ("(sqrt(4))^(2)", "(sqrt(4))^(2)"),
        ("-(2)^(2)", "-(2)^(2)"),
        ("(-2)^(2)", "(-2)^(2)"),
        ("-(-[a])", "--[a]"),
        ("-([a] + 1)", "-([a] + 1)"),
        ("1.50 + 007", "1.5 + 7"),
        ("1e20", "1e+20"),
        ("0.000001", "1e-06"),
        ("'it\"s' = \"O'Brien\"", "'it\"s' = \"O'Brien\""),
        ("TRUE or False", "true or false"),
        ("DateDiff([dob],'today','y')", "datediff([dob], 'today', 'y')"),
        ("[e_arm_1][cb(2):value][last-instance]", "[e_arm_1][cb(2)][last-instance]"),
        ("[record-name]", "[record-name]"),
        ("// comment\n[a] = 1", "[a] = 1"),
    ],
)
def test_canonical_text(text: str, canonical: str) -> None:
    expr = parse(text)
    assert unparse(expr.node) == canonical
    assert parse(canonical) == expr
    assert str(expr) == canonical


def test_unparse_accepts_a_bare_tree() -> None:
    node = Logical("and", (Binary("=", FieldRef("a"), String("1")), Unary("not", FieldRef("b"))))
    assert unparse(node) == "[a] = '1' and not [b]"


def test_text_with_both_quotes_cannot_be_written() -> None:
    with pytest.raises(ValueError, match="both"):
        unparse(String('it\'s "quoted"'))


def test_numbers_are_never_negative_literals() -> None:
    with pytest.raises(ValueError, match="not negative"):
        Number(-1.0)
    assert unparse(Unary("-", Number(1.0))) == "-1"
