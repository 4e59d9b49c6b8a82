"""Evaluate a logic tree against a ``LogicContext``.

Field values come in as REDCap's raw strings. Numeric fields (the context says which) and
checkbox options are passed through ``chk_null`` as REDCap does; everything else stays text.
The rules for comparing and combining values are in values.py.
"""

from __future__ import annotations

from worker.core.logic.errors import LogicReferenceError
from worker.core.logic.functions import call
from worker.core.logic.nodes import (
    COMPARISON_OPERATORS,
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
from worker.core.logic.protocol import LogicContext, SupportsSmartVariables
from worker.core.logic.values import (
    NAN,
    Value,
    arithmetic,
    as_number,
    chk_null,
    compare,
    truthy,
)


def evaluate(node: Node, ctx: LogicContext) -> Value:
    match node:
        case FieldRef():
            raw = ctx.lookup(node)
            # Checkbox options hold "0"/"1" and count as numeric whatever their field's codes.
            if node.code is not None or ctx.is_numeric(node.field):
                return chk_null(raw)
            return raw
        case Binary(op=op, left=left, right=right):
            if op in COMPARISON_OPERATORS:
                return compare(op, evaluate(left, ctx), evaluate(right, ctx))
            return arithmetic(op, evaluate(left, ctx), evaluate(right, ctx))
        case Logical(op="and", operands=operands):
            return all(truthy(evaluate(o, ctx)) for o in operands)
        case Logical(operands=operands):
            return any(truthy(evaluate(o, ctx)) for o in operands)
        case Number(value=value):
            return value
        case String(value=value):
            return value
        case Boolean(value=value):
            return value
        case Unary(op="not", operand=operand):
            return not truthy(evaluate(operand, ctx))
        case Unary(op=op, operand=operand):
            number = as_number(evaluate(operand, ctx))
            if number is None:
                return NAN
            return -number if op == "-" else number
        case Call(name="if", args=(condition, when_true, when_false)):
            return evaluate(when_true if truthy(evaluate(condition, ctx)) else when_false, ctx)
        case Call(name=name, args=args):
            return call(name, [evaluate(a, ctx) for a in args], ctx)
        case SmartVariable(name=name):
            if not isinstance(ctx, SupportsSmartVariables):
                raise LogicReferenceError(f"[{name}] is not available in this context")
            return ctx.smart_variable(name)
    raise TypeError(f"not a logic node: {node!r}")
