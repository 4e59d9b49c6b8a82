"""The syntax tree of REDCap logic: small immutable nodes, compared by value.

Operators are stored in one canonical spelling (``=`` for ``==``, ``<>`` for ``!=``, ``and``
for ``&&``, ``or`` for ``||``, ``not`` for ``!``), so two spellings of the same logic give
equal trees and ``unparse`` has one output for each tree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Smart variables that may stand in the event slot: [event-name][field].
EVENT_SMART_VARIABLES = frozenset(
    {"event-name", "previous-event-name", "next-event-name", "first-event-name", "last-event-name"}
)
# Smart variables that may follow a field as its instance: [field][previous-instance].
INSTANCE_SMART_VARIABLES = frozenset(
    {
        "current-instance",
        "previous-instance",
        "next-instance",
        "first-instance",
        "last-instance",
    }
)
# Smart variables that may stand alone as a value. REDCap pipes these in as literals; the
# context supplies them (others, like [user-name], mean nothing to a batch worker).
STANDALONE_SMART_VARIABLES = EVENT_SMART_VARIABLES | {
    "record-name",
    "record-dag-name",
    "arm-number",
    "current-instance",
}

COMPARISON_OPERATORS = frozenset({"=", "<>", "<", "<=", ">", ">="})
ARITHMETIC_OPERATORS = frozenset({"+", "-", "*", "/", "^"})
LOGICAL_OPERATORS = frozenset({"and", "or"})
UNARY_OPERATORS = frozenset({"-", "+", "not"})


@dataclass(frozen=True, slots=True)
class Number:
    """A numeric literal. Never negative: ``-5`` is ``Unary("-", Number(5.0))``, as written."""

    value: float

    def __post_init__(self) -> None:
        if not math.isfinite(self.value) or math.copysign(1.0, self.value) < 0:
            raise ValueError(f"a Number literal is finite and not negative, got {self.value!r}")


@dataclass(frozen=True, slots=True)
class String:
    """A quoted literal. REDCap has no escapes, so it never holds both kinds of quote."""

    value: str


@dataclass(frozen=True, slots=True)
class Boolean:
    value: bool


@dataclass(frozen=True, slots=True)
class FieldRef:
    """``[event][field(code)][instance]``.

    ``event`` is a unique event name or an event smart variable (``"previous-event-name"``);
    ``code`` is a checkbox option; ``instance`` an instance number or an instance smart
    variable (``"last-instance"``). ``None`` where not written.
    """

    field: str
    event: str | None = None
    code: str | None = None
    instance: int | str | None = None


@dataclass(frozen=True, slots=True)
class SmartVariable:
    """A standalone smart variable such as ``[record-name]`` or ``[event-name]``."""

    name: str


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # one of UNARY_OPERATORS
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary:
    op: str  # one of COMPARISON_OPERATORS or ARITHMETIC_OPERATORS
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Logical:
    """``a and b and c``: a chain of one operator, kept flat so long chains (common in
    branching logic) do not make a deep tree. ``(a or b) or c`` stays nested, as written."""

    op: str  # "and" or "or"
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Call:
    name: str  # lower case
    args: tuple[Node, ...]


Node = Number | String | Boolean | FieldRef | SmartVariable | Unary | Binary | Logical | Call


def children(node: Node) -> tuple[Node, ...]:
    match node:
        case Unary(operand=operand):
            return (operand,)
        case Binary(left=left, right=right):
            return (left, right)
        case Logical(operands=operands):
            return operands
        case Call(args=args):
            return args
        case _:
            return ()


def walk(node: Node) -> list[Node]:
    """Every node of the tree, without recursion (trees may be deep)."""
    found: list[Node] = []
    stack = [node]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(reversed(children(current)))
    return found


def depth(node: Node) -> int:
    """Height of the tree, without recursion."""
    deepest = 0
    stack = [(node, 1)]
    while stack:
        current, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children(current))
    return deepest
