"""Write a tree back as canonical REDCap logic: ``parse(unparse(tree)).node == tree`` for every
tree the parser can build.

Canonical means one spelling per operator (``=``, ``<>``, ``and``, ``or``, ``not``), single
quotes unless the text holds one, numbers without trailing zeros, single spaces, and only
the parentheses the tree needs (plus REDCap's mandatory ones around powers).
"""

from __future__ import annotations

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

# Precedence of each operator when printed; must agree with the parser's binding powers.
_PRECEDENCE = {
    "or": 1,
    "and": 2,
    "=": 3,
    "<>": 3,
    "<": 4,
    "<=": 4,
    ">": 4,
    ">=": 4,
    "+": 5,
    "-": 5,
    "*": 6,
    "/": 6,
}
_UNARY = 7
_POWER = 8
_ATOM = 9
# Comparisons do not chain, so an operand at the same level needs parentheses on either side.
_NON_ASSOCIATIVE = frozenset({3, 4})


def unparse(node: Node) -> str:
    """Canonical logic text for a tree (``str(expression)`` for an ``Expression``)."""
    return _text(node)


def _precedence(node: Node) -> int:
    match node:
        case Binary(op="^"):
            return _POWER
        case Binary(op=op) | Logical(op=op):
            return _PRECEDENCE[op]
        case Unary():
            return _UNARY
        case _:
            return _ATOM


def _wrap(node: Node, needs_parentheses: bool) -> str:
    text = _text(node)
    return f"({text})" if needs_parentheses else text


def _text(node: Node) -> str:
    match node:
        case Number(value=value):
            return _number(value)
        case String(value=value):
            return _string(value)
        case Boolean(value=value):
            return "true" if value else "false"
        case FieldRef():
            return reference_text(node)
        case SmartVariable(name=name):
            return f"[{name}]"
        case Unary(op=op, operand=operand):
            inner = _wrap(operand, _precedence(operand) < _UNARY)
            return f"not {inner}" if op == "not" else f"{op}{inner}"
        case Binary(op="^", left=left, right=right):
            return f"({_text(left)})^({_text(right)})"
        case Binary(op=op, left=left, right=right):
            level = _PRECEDENCE[op]
            left_level, right_level = _precedence(left), _precedence(right)
            left_parens = left_level < level or (left_level == level and level in _NON_ASSOCIATIVE)
            return f"{_wrap(left, left_parens)} {op} {_wrap(right, right_level <= level)}"
        case Logical(op=op, operands=operands):
            level = _PRECEDENCE[op]
            return f" {op} ".join(_wrap(o, _precedence(o) <= level) for o in operands)
        case Call(name=name, args=args):
            return f"{name}({', '.join(_text(a) for a in args)})"
    raise TypeError(f"not a logic node: {node!r}")


def reference_text(ref: FieldRef) -> str:
    """``[event][field(code)][instance]``; also the key ``MappingContext`` looks values up by."""
    event = f"[{ref.event}]" if ref.event is not None else ""
    code = f"({ref.code})" if ref.code is not None else ""
    instance = f"[{ref.instance}]" if ref.instance is not None else ""
    return f"{event}[{ref.field}{code}]{instance}"


def _number(value: float) -> str:
    if value.is_integer() and value < 1e16:
        return str(int(value))
    return repr(value)  # shortest text that reads back as the same float, e.g. 1e+20


def _string(value: str) -> str:
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    raise ValueError("REDCap logic cannot quote text holding both ' and \"")
