"""The logic evaluator: ``compile_tree`` turns a tree into one function of a ``LogicContext``,
once, when an ``Expression`` is made; evaluating is calling it, per row.

Compiling does the work that depends only on the tree (which operator, which function,
which literal) once, so a row pays only for reading its values and combining them. What
depends on the project (a reference's column, whether REDCap treats a field as a number)
is the context's to resolve; ``RecordContext`` does it once per project.

Field values come from the context (``LogicContext.read``): text, or a number (NaN for
blank) for numeric fields and checkbox options, as REDCap's ``chkNull`` gives them. The
rules for comparing and combining values are in values.py.
"""

from __future__ import annotations

from collections.abc import Callable

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
    compare,
    constant_comparison,
    truthy,
)

Evaluator = Callable[[LogicContext], Value]


def compile_tree(node: Node) -> Evaluator:
    """The function that evaluates ``node`` against a context. It raises
    ``LogicReferenceError`` (without a source; ``Expression`` names it) for references the
    context cannot resolve, when it reads them."""
    match node:
        case FieldRef():
            return _field(node)
        case Binary(op=op, left=left, right=right):
            lhs, rhs = compile_tree(left), compile_tree(right)
            if op in COMPARISON_OPERATORS and isinstance(right, Number | String):
                # The usual branching logic, [field] = 'code': the literal is read once.
                against = constant_comparison(op, right.value)
                return lambda ctx: against(lhs(ctx))
            if op in COMPARISON_OPERATORS:
                return lambda ctx: compare(op, lhs(ctx), rhs(ctx))
            return lambda ctx: arithmetic(op, lhs(ctx), rhs(ctx))
        case Logical(op="and", operands=operands):
            parts = tuple(compile_tree(o) for o in operands)

            def all_true(ctx: LogicContext) -> Value:
                # A loop rather than all(...): no generator object per evaluation.
                for part in parts:  # noqa: SIM110
                    if not truthy(part(ctx)):
                        return False
                return True

            return all_true
        case Logical(operands=operands):
            parts = tuple(compile_tree(o) for o in operands)

            def any_true(ctx: LogicContext) -> Value:
                for part in parts:  # noqa: SIM110
                    if truthy(part(ctx)):
                        return True
                return False

            return any_true
        case Number(value=value) | String(value=value) | Boolean(value=value):
            return lambda ctx: value
        case Unary(op="not", operand=operand):
            inner = compile_tree(operand)
            return lambda ctx: not truthy(inner(ctx))
        case Unary(op=op, operand=operand):
            inner = compile_tree(operand)

            def signed(ctx: LogicContext) -> Value:
                number = as_number(inner(ctx))
                if number is None:
                    return NAN
                return -number if op == "-" else number

            return signed
        case Call(name="if", args=(condition, when_true, when_false)):
            # Only the branch taken is evaluated (the other may read what is not there).
            test, yes, no = (compile_tree(a) for a in (condition, when_true, when_false))
            return lambda ctx: yes(ctx) if truthy(test(ctx)) else no(ctx)
        case Call(name=name, args=args):
            arguments = tuple(compile_tree(a) for a in args)
            return lambda ctx: call(name, [a(ctx) for a in arguments], ctx)
        case SmartVariable(name=name):
            return _smart_variable(name)
    raise TypeError(f"not a logic node: {node!r}")


def _field(ref: FieldRef) -> Evaluator:
    return lambda ctx: ctx.read(ref)


def _smart_variable(name: str) -> Evaluator:
    def read(ctx: LogicContext) -> Value:
        if not isinstance(ctx, SupportsSmartVariables):
            raise LogicReferenceError(f"[{name}] is not available in this context")
        return ctx.smart_variable(name)

    return read
