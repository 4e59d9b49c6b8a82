"""errors.py: messages name the source, the position and what was expected."""

from __future__ import annotations

from worker.core.logic import LogicError, LogicReferenceError, LogicSyntaxError
from worker.errors import WorkerError


def test_syntax_error_position_and_message() -> None:
    error = LogicSyntaxError(
        "expected a value, found ')'",
        logic="[a] = 1 and\n  [b] = )",
        position=20,
        source="branching logic of field b",
        expected="a value",
    )
    assert (error.line, error.column) == (2, 9)
    assert str(error) == (
        "Syntax error in branching logic of field b at line 2, column 9: "
        "expected a value, found ')'; in: [a] = 1 and [b] = >>> )"
    )


def test_with_source_keeps_everything_else() -> None:
    error = LogicSyntaxError("bad", logic="[a] ?", position=4, expected="an operator")
    named = error.with_source("rule X")
    assert (named.problem, named.logic, named.position, named.expected) == (
        "bad",
        "[a] ?",
        4,
        "an operator",
    )
    assert str(named).startswith("Syntax error in rule X at line 1, column 5: bad")
    assert str(error).startswith("Syntax error in REDCap logic at line 1, column 5")


def test_reference_error() -> None:
    error = LogicReferenceError("[x]: no such field in the project").with_source("rule Y")
    assert isinstance(error, LogicReferenceError)
    assert str(error) == "Logic error in rule Y: [x]: no such field in the project"


def test_logic_errors_are_worker_errors_reported_on_one_line() -> None:
    assert issubclass(LogicSyntaxError, LogicError)
    assert issubclass(LogicError, WorkerError)
    error = LogicSyntaxError("bad", logic="[a]\n\n=", position=5)
    assert "\n" not in str(error)
