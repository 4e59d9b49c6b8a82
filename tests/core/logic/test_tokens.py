"""tokens.py: splitting logic into tokens, comments, and lexical errors."""

from __future__ import annotations

import pytest

from worker.core.logic import LogicSyntaxError
from worker.core.logic.tokens import TokenKind, tokenize

K = TokenKind


def kinds_and_texts(text: str) -> list[tuple[TokenKind, str]]:
    return [(t.kind, t.text) for t in tokenize(text)]


def test_a_branching_logic() -> None:
    assert kinds_and_texts("[pg_outcome] <> '1' and [pg_outcome] <> ''") == [
        (K.BRACKET, "pg_outcome"),
        (K.OP, "<>"),
        (K.STRING, "1"),
        (K.NAME, "and"),
        (K.BRACKET, "pg_outcome"),
        (K.OP, "<>"),
        (K.STRING, ""),
        (K.EOF, ""),
    ]


@pytest.mark.parametrize(
    "operator", ["=", "==", "<>", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "^", "&&", "||"]
)
def test_each_operator_is_one_token(operator: str) -> None:
    assert kinds_and_texts(f"1{operator}2") == [
        (K.NUMBER, "1"),
        (K.OP, operator),
        (K.NUMBER, "2"),
        (K.EOF, ""),
    ]


@pytest.mark.parametrize("number", ["0", "12", "3.5", ".5", "5.", "1e3", "2.5E-4"])
def test_numbers(number: str) -> None:
    assert kinds_and_texts(number)[0] == (K.NUMBER, number)


def test_both_quote_styles_and_no_escapes() -> None:
    assert kinds_and_texts("'it\"s' \"O'Brien\" 'a\\'")[:3] == [
        (K.STRING, 'it"s'),
        (K.STRING, "O'Brien"),
        (K.STRING, "a\\"),
    ]


def test_brackets_are_single_tokens_with_positions() -> None:
    tokens = tokenize("[visit_1_arm_1][race(2)][2]")
    assert [(t.text, t.start, t.end) for t in tokens[:3]] == [
        ("visit_1_arm_1", 0, 15),
        ("race(2)", 15, 24),
        ("2", 24, 27),
    ]


def test_comment_lines_are_skipped() -> None:
    text = "// who is eligible\n[age] >= 18\n  # adults only\nand [consent] = '1'"
    assert [t.text for t in tokenize(text)] == ["age", ">=", "18", "and", "consent", "=", "1", ""]


def test_comment_markers_inside_text_are_text() -> None:
    assert kinds_and_texts("[url] = 'a\n// not a comment'")[2] == (K.STRING, "a\n// not a comment")


def test_comment_marker_after_a_token_is_not_a_comment() -> None:
    with pytest.raises(LogicSyntaxError, match="unexpected character '#'"):
        tokenize("[a] = 1 # trailing")


def test_non_breaking_space_is_whitespace() -> None:
    assert kinds_and_texts("[a]\u00a0=\u00a01")[1] == (K.OP, "=")


@pytest.mark.parametrize(
    ("text", "problem", "column"),
    [
        ("[a] = 'open", "text starting with ' is never closed", 7),
        ('[a] = "open', 'text starting with " is never closed', 7),
        ("[a = 1", "'[' is never closed", 1),
        ("[a\n] = 1", "'[' is never closed", 1),
        ("[a] = 1 & 2", "unexpected character '&'", 9),
        ("[a] ~ 1", "unexpected character '~'", 5),
    ],
)
def test_lexical_errors_say_what_and_where(text: str, problem: str, column: int) -> None:
    with pytest.raises(LogicSyntaxError) as caught:
        tokenize(text)
    assert caught.value.problem == problem
    assert (caught.value.line, caught.value.column) == (1, column)
