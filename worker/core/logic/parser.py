"""Parse REDCap logic text into a tree (a Pratt parser over ``tokens.tokenize``).

Precedence follows PHP, which is what REDCap finally runs the logic as (loosest first):
``or``, ``and``, ``= <>``, ``< <= > >=``, ``+ -``, ``* /``, unary ``- + not``, ``^``.
Comparisons do not chain (``a = b = c`` is an error in PHP, so here too). Note that PHP's
``!`` binds tighter than ``=``: ``not [x] = '1'`` means ``(not [x]) = '1'``; write
``not([x] = '1')``.

Every failure is a ``LogicSyntaxError`` with position and what was expected: a parse never
lets IndexError, RecursionError and the like escape, whatever the text.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

from worker.core.logic.errors import LogicSyntaxError
from worker.core.logic.expression import Expression
from worker.core.logic.functions import FUNCTIONS
from worker.core.logic.nodes import (
    COMPARISON_OPERATORS,
    EVENT_SMART_VARIABLES,
    INSTANCE_SMART_VARIABLES,
    STANDALONE_SMART_VARIABLES,
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
    depth,
)
from worker.core.logic.tokens import Token, TokenKind, tokenize

# Nested parentheses/operators the parser will follow, and the height of tree it will build:
# far beyond real logic, well inside Python's recursion limit for evaluation and unparse.
MAX_NESTING = 100
MAX_DEPTH = 200

# Binding powers (higher binds tighter) and canonical spelling of each infix operator.
_OR, _AND, _EQUALITY, _RELATIONAL, _ADDITIVE, _MULTIPLICATIVE, _PREFIX, _POWER = (
    10,
    20,
    30,
    40,
    50,
    60,
    70,
    80,
)
_INFIX: dict[str, tuple[int, str]] = {
    "or": (_OR, "or"),
    "OR": (_OR, "or"),
    "||": (_OR, "or"),
    "and": (_AND, "and"),
    "AND": (_AND, "and"),
    "&&": (_AND, "and"),
    "=": (_EQUALITY, "="),
    "==": (_EQUALITY, "="),
    "<>": (_EQUALITY, "<>"),
    "!=": (_EQUALITY, "<>"),
    "<": (_RELATIONAL, "<"),
    "<=": (_RELATIONAL, "<="),
    ">": (_RELATIONAL, ">"),
    ">=": (_RELATIONAL, ">="),
    "+": (_ADDITIVE, "+"),
    "-": (_ADDITIVE, "-"),
    "*": (_MULTIPLICATIVE, "*"),
    "/": (_MULTIPLICATIVE, "/"),
    "^": (_POWER, "^"),
}
_PREFIX_OPS = {"-": "-", "+": "+", "!": "not"}
_NOT_WORDS = frozenset({"not", "NOT"})
# Tokens after which a value must follow, named in "expected a value after ..." messages.
_EXPECT_VALUE = frozenset(_INFIX) | frozenset(_PREFIX_OPS) | _NOT_WORDS | {"(", ","}
_BOOLEANS = {"true": True, "false": False}

# Inside brackets. Field names start with a letter; event names are REDCap unique names.
_FIELD_SPEC = re.compile(
    r"(?P<field>[A-Za-z][A-Za-z0-9_]*)(?:\((?P<code>[A-Za-z0-9._-]+)\))?(?P<suffix>:[A-Za-z_-]*)?"
)
_EVENT_NAME = re.compile(r"[A-Za-z0-9_]*[A-Za-z_][A-Za-z0-9_]*")
_INSTANCE_NUMBER = re.compile(r"[0-9]+")


@lru_cache(maxsize=4096)
def parse_node(text: str) -> Node | LogicSyntaxError:
    """The tree for ``text``, or the error it fails with. Cached on the text alone, failures
    included, because the same logic is parsed for every field, row and run."""
    try:
        return _Parser(text).parse()
    except LogicSyntaxError as error:
        return error
    except RecursionError:  # belt and braces: MAX_NESTING should make this unreachable
        return LogicSyntaxError("logic is nested too deeply", logic=text, position=0)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0
        self.nesting = 0

    # --- token stream ---------------------------------------------------------------------

    def peek(self) -> Token:
        return self.tokens[self.index]

    def previous(self) -> Token | None:
        return self.tokens[self.index - 1] if self.index > 0 else None

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind is not TokenKind.EOF:
            self.index += 1
        return token

    def error(self, token: Token, problem: str, expected: str | None = None) -> LogicSyntaxError:
        return LogicSyntaxError(problem, logic=self.text, position=token.start, expected=expected)

    def expected(self, token: Token, expected: str) -> LogicSyntaxError:
        return self.error(token, f"expected {expected}, found {token.describe()}", expected)

    # --- grammar --------------------------------------------------------------------------

    def parse(self) -> Node:
        if self.peek().kind is TokenKind.EOF:
            raise self.error(self.peek(), "the logic is empty", "an expression")
        node = self.expression(0)
        token = self.peek()
        if token.kind is TokenKind.RPAREN:
            raise self.error(token, "')' has no matching '('", "an operator or the end")
        if token.kind is not TokenKind.EOF:
            raise self.expected(token, "an operator (=, <>, and, or, ...) or the end of the logic")
        if depth(node) > MAX_DEPTH:
            raise self.error(token, f"the logic is nested more than {MAX_DEPTH} levels deep")
        return node

    def expression(self, min_power: int) -> Node:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise self.error(self.peek(), f"the logic nests more than {MAX_NESTING} levels deep")
        try:
            return self._expression(min_power)
        finally:
            self.nesting -= 1

    def _expression(self, min_power: int) -> Node:
        left = self.prefix()
        chain: list[Node] = []  # operands of the and/or chain being built at this level
        chain_op: str | None = None
        comparison_level: int | None = None
        while True:
            token = self.peek()
            infix = self.infix(token)
            if infix is None:
                return left
            power, op = infix
            if power <= min_power:
                return left
            if op in COMPARISON_OPERATORS and comparison_level == power:
                raise self.error(
                    token,
                    f"comparisons cannot be chained ('{token.text}' after a comparison); "
                    "add parentheses or use 'and'",
                )
            self.advance()
            right = self.power_operand(token) if op == "^" else self.expression(power)
            if op in ("and", "or"):
                if chain_op != op:
                    chain_op, chain = op, [left]
                chain.append(right)
                left = Logical(op, tuple(chain))
            else:
                left = Binary(op, left, right)
                chain_op = None
            comparison_level = power if op in COMPARISON_OPERATORS else None

    def infix(self, token: Token) -> tuple[int, str] | None:
        """(binding power, canonical operator) if the token is an infix operator."""
        if token.kind is not TokenKind.OP and token.kind is not TokenKind.NAME:
            return None
        found = _INFIX.get(token.text)
        if found is None and token.text.lower() in ("and", "or"):
            raise self.error(
                token,
                f"REDCap does not recognise '{token.text}'; write "
                f"'{token.text.lower()}' or '{token.text.upper()}'",
            )
        return found

    def power_operand(self, caret: Token) -> Node:
        """REDCap only turns ``(x)^(y)`` into a power: both sides need their parentheses."""
        before = self.tokens[self.index - 2] if self.index >= 2 else None
        if before is None or before.kind is not TokenKind.RPAREN:
            raise self.error(caret, "write powers as (x)^(y), with both sides in parentheses")
        if self.peek().kind is not TokenKind.LPAREN:
            raise self.expected(self.peek(), "'(' after '^' (write powers as (x)^(y))")
        return self.expression(_POWER - 1)  # right-associative

    def prefix(self) -> Node:
        token = self.peek()
        kind = token.kind
        if kind is TokenKind.NUMBER:
            self.advance()
            return self.number(token)
        if kind is TokenKind.STRING:
            self.advance()
            return String(token.text)
        if kind is TokenKind.BRACKET:
            return self.reference()
        if kind is TokenKind.LPAREN:
            self.advance()
            inner = self.expression(0)
            if self.peek().kind is not TokenKind.RPAREN:
                raise self.expected(self.peek(), "')' or an operator")
            self.advance()
            return inner
        if kind is TokenKind.OP and token.text in _PREFIX_OPS:
            self.advance()
            return Unary(_PREFIX_OPS[token.text], self.expression(_PREFIX))
        if kind is TokenKind.NAME:
            return self.name(token)
        previous = self.previous()
        after = f" after '{previous.text}'" if previous and previous.text in _EXPECT_VALUE else ""
        raise self.expected(token, f"a value{after}")

    def number(self, token: Token) -> Number:
        value = float(token.text)
        if not math.isfinite(value):
            raise self.error(token, f"the number {token.text} is too large")
        return Number(value)

    def name(self, token: Token) -> Node:
        text = token.text
        self.advance()
        if text in _NOT_WORDS:
            return Unary("not", self.expression(_PREFIX))
        if text.lower() == "not":
            raise self.error(token, f"REDCap does not recognise '{text}'; write 'not' or 'NOT'")
        if text.lower() in _BOOLEANS:
            return Boolean(_BOOLEANS[text.lower()])
        if text.lower() in ("and", "or"):
            raise self.error(token, f"expected a value before '{text}'", "a value")
        if self.peek().kind is TokenKind.LPAREN:
            return self.call(token)
        raise self.error(
            token,
            f"unexpected word '{text}': field names go in square brackets ([{text}]) "
            f"and text in quotes ('{text}')",
            "a value",
        )

    def call(self, name_token: Token) -> Call:
        name = name_token.text.lower()
        spec = FUNCTIONS.get(name)
        if spec is None:
            raise self.error(
                name_token, f"unknown function '{name_token.text}'", "a REDCap special function"
            )
        self.advance()  # (
        args: list[Node] = []
        if self.peek().kind is TokenKind.RPAREN:
            self.advance()
        else:
            while True:
                args.append(self.expression(0))
                token = self.advance()
                if token.kind is TokenKind.RPAREN:
                    break
                if token.kind is not TokenKind.COMMA:
                    raise self.expected(token, f"',' or ')' in the arguments of {name}()")
        count = len(args)
        if count < spec.min_args or (spec.max_args is not None and count > spec.max_args):
            raise self.error(
                name_token, f"{name}() takes {spec.arity()}, got {count}", spec.arity()
            )
        if spec.check is not None and (problem := spec.check(tuple(args))) is not None:
            raise self.error(name_token, f"in {name}(): {problem[1]}")
        return Call(name, tuple(args))

    # --- references -----------------------------------------------------------------------

    def reference(self) -> Node:
        """``[event][field(code)][instance]``: adjacent brackets form one reference."""
        parts = [self.advance()]
        while self.peek().kind is TokenKind.BRACKET and self.peek().start == parts[-1].end:
            parts.append(self.advance())
        first = parts[0]
        if len(parts) == 1 or _is_instance(parts[1].text):
            event_token, field_token, rest = None, first, parts[1:]
        else:
            event_token, field_token, rest = first, parts[1], parts[2:]
        if len(rest) > 1:
            raise self.error(rest[1], f"unexpected {rest[1].describe()} after the instance")
        instance_token = rest[0] if rest else None

        if len(parts) == 1 and first.text in STANDALONE_SMART_VARIABLES:
            return SmartVariable(first.text)
        event = self.event_part(event_token) if event_token is not None else None
        field, code = self.field_part(field_token)
        instance = self.instance_part(instance_token) if instance_token is not None else None
        return FieldRef(field=field, event=event, code=code, instance=instance)

    def event_part(self, token: Token) -> str:
        text = token.text
        if text in EVENT_SMART_VARIABLES or _EVENT_NAME.fullmatch(text):
            return text
        raise self.expected(token, "a unique event name before the field")

    def field_part(self, token: Token) -> tuple[str, str | None]:
        text = token.text
        match = _FIELD_SPEC.fullmatch(text)
        if match is None:
            if _is_instance(text):
                raise self.error(token, f"instance [{text}] must follow a field", "a field")
            if "-" in text and "(" not in text:
                raise self.error(token, f"unsupported smart variable [{text}]", "a field")
            raise self.expected(token, "a field name like [age] or a checkbox like [race(2)]")
        suffix = match.group("suffix")
        if suffix is not None and suffix.lower() != ":value":
            raise self.error(
                token, f"unsupported '{suffix}' in [{text}]; only ':value' is allowed in logic"
            )
        return match.group("field"), match.group("code")

    def instance_part(self, token: Token) -> int | str:
        text = token.text
        if text in INSTANCE_SMART_VARIABLES:
            return text
        if not _is_instance(text):
            raise self.expected(token, "an instance number or [current-instance]-style suffix")
        if len(text) > 9:
            raise self.error(token, f"instance number {text} is too large", "an instance number")
        number = int(text)
        if number < 1:
            raise self.error(token, "instance numbers start at 1", "an instance number")
        return number


def _is_instance(text: str) -> bool:
    return text in INSTANCE_SMART_VARIABLES or _INSTANCE_NUMBER.fullmatch(text) is not None


def parse(text: str, *, source: str | None = None) -> Expression:
    """Parse REDCap logic. ``source`` says where it came from ("branching logic of field x")
    and is named in any error. Raises only ``LogicSyntaxError``."""
    return _parse(text, source)


@lru_cache(maxsize=4096)
def _parse(text: str, source: str | None) -> Expression:
    result = parse_node(text)
    if isinstance(result, LogicSyntaxError):
        raise result.with_source(source)
    return Expression(result, text=text, source=source)
