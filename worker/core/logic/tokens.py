"""Split REDCap logic text into tokens.

Brackets are one token each (``[event]``, ``[field(code)]``, ``[2]``); the parser groups
adjacent ones into a reference, because REDCap only reads ``[event][field][instance]`` when
the parts touch. Comment lines (``//`` or ``#`` first on a line) are skipped here rather than
cut out beforehand, so positions in error messages still match the text the user wrote and a
``//`` inside a quoted string is never taken for a comment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from worker.core.logic.errors import LogicSyntaxError


class TokenKind(Enum):
    NUMBER = "number"
    STRING = "string"
    NAME = "name"  # function names, and/or/not, true/false
    BRACKET = "bracket"  # text is the content between [ and ]
    OP = "operator"
    LPAREN = "'('"
    RPAREN = "')'"
    COMMA = "','"
    EOF = "end of logic"


@dataclass(frozen=True, slots=True)
class Token:
    kind: TokenKind
    text: str  # NUMBER/NAME/OP: as written; STRING/BRACKET: the content without delimiters
    start: int
    end: int

    def describe(self) -> str:
        """How an error message names this token."""
        if self.kind is TokenKind.EOF:
            return "the end of the logic"
        if self.kind is TokenKind.STRING:
            return f"the text {self.text!r}"
        if self.kind is TokenKind.BRACKET:
            return f"'[{self.text}]'"
        return f"'{self.text}'"


_WHITESPACE = re.compile(r"\s+")
_NUMBER = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Longest first, so "<=" is not read as "<" then "=".
_OPERATOR = re.compile(r"<=|>=|<>|!=|==|&&|\|\||[=<>+\-*/^!]")
_SINGLE = {"(": TokenKind.LPAREN, ")": TokenKind.RPAREN, ",": TokenKind.COMMA}


def tokenize(text: str) -> list[Token]:
    """All tokens of ``text``, ending with one EOF token. Raises ``LogicSyntaxError``."""
    tokens: list[Token] = []
    pos = 0
    length = len(text)
    while True:
        pos = _skip_blank(text, pos)
        if pos >= length:
            tokens.append(Token(TokenKind.EOF, "", length, length))
            return tokens
        char = text[pos]
        if char in _SINGLE:
            tokens.append(Token(_SINGLE[char], char, pos, pos + 1))
            pos += 1
        elif char in "'\"":
            close = text.find(char, pos + 1)
            if close < 0:
                raise LogicSyntaxError(
                    f"text starting with {char} is never closed",
                    logic=text,
                    position=pos,
                    expected=f"a closing {char}",
                )
            tokens.append(Token(TokenKind.STRING, text[pos + 1 : close], pos, close + 1))
            pos = close + 1
        elif char == "[":
            tokens.append(_bracket(text, pos))
            pos = tokens[-1].end
        elif match := _NUMBER.match(text, pos):
            tokens.append(Token(TokenKind.NUMBER, match.group(), pos, match.end()))
            pos = match.end()
        elif match := _NAME.match(text, pos):
            tokens.append(Token(TokenKind.NAME, match.group(), pos, match.end()))
            pos = match.end()
        elif match := _OPERATOR.match(text, pos):
            tokens.append(Token(TokenKind.OP, match.group(), pos, match.end()))
            pos = match.end()
        else:
            raise LogicSyntaxError(
                f"unexpected character {char!r}",
                logic=text,
                position=pos,
                expected="a value or an operator",
            )


def _skip_blank(text: str, pos: int) -> int:
    """Skip whitespace and whole comment lines."""
    while True:
        match = _WHITESPACE.match(text, pos)
        if match:
            pos = match.end()
        if text.startswith(("//", "#"), pos) and _at_line_start(text, pos):
            newline = text.find("\n", pos)
            pos = len(text) if newline < 0 else newline
            continue
        return pos


def _at_line_start(text: str, pos: int) -> bool:
    line_start = text.rfind("\n", 0, pos) + 1
    return text[line_start:pos].strip() == ""


def _bracket(text: str, pos: int) -> Token:
    end = pos + 1
    while end < len(text) and text[end] not in "[]\n":
        end += 1
    if end >= len(text) or text[end] != "]":
        raise LogicSyntaxError(
            "'[' is never closed",
            logic=text,
            position=pos,
            expected="']' on the same line",
        )
    return Token(TokenKind.BRACKET, text[pos + 1 : end], pos, end + 1)
