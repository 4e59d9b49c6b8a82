"""Logic compiled for one project: closures that give exactly what ``evaluate`` gives with a
``RecordContext``, with everything that depends only on the project worked out once.

``evaluate`` walks the tree per row and, for each field reference, looks up the field's
definition, its export column, whether REDCap treats it as a number and which event it
names. Branching logic is evaluated for most filled fields of most rows, so a compiled
expression resolves those once (per reference, per project) and keeps only the per-row
work: picking the row and reading the value. Anything that is not a plain reference to
the row's own event or a named event (relative events, visit names, references the project
cannot resolve, another kind of context) takes the general path, ``evaluate``, unchanged.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

from worker.core.logic.context import (
    _RELATIVE_EVENTS,
    RecordContext,
    _check_event,
    _column,
    is_free_text_field,
    read_trimmed,
)
from worker.core.logic.errors import LogicError
from worker.core.logic.evaluate import evaluate
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
from worker.core.logic.protocol import LogicContext
from worker.core.logic.values import NAN, Value, arithmetic, as_number, chk_null, compare, truthy
from worker.core.records import RowKey
from worker.core.schema import ProjectSchema

if TYPE_CHECKING:
    from worker.core.logic.expression import Expression

Compiled = Callable[[RecordContext], Value]


def compiled_for(expr: Expression, ctx: LogicContext) -> Compiled | None:
    """``expr`` compiled for ``ctx``'s project if ``ctx`` is a ``RecordContext`` (kept for the
    last few schemas each expression met), else None: evaluate it the general way. The
    compiled function raises ``LogicError`` unnamed, like ``evaluate``;
    ``Expression.evaluate`` names the source."""
    if type(ctx) is not RecordContext:
        return None
    schema = ctx.schema
    key = id(expr)
    cache = _COMPILED.get(key)
    if cache is None:
        cache = _COMPILED[key] = []
        weakref.finalize(expr, _COMPILED.pop, key, None)
    for known, compiled in cache:
        if known is schema:
            return compiled
    try:
        compiled = _compile(expr.node, schema)
    except RecursionError:  # deeper than any parsed logic: keep the general path
        compiled = _general(expr.node)
    cache.insert(0, (schema, compiled))
    del cache[_KEEP:]
    return compiled


# id(expression) -> [(schema, compiled)], newest first; an entry goes with its expression.
_COMPILED: dict[int, list[tuple[ProjectSchema, Compiled]]] = {}
_KEEP = 4


def _general(node: Node) -> Compiled:
    def run(ctx: RecordContext) -> Value:
        return evaluate(node, ctx)

    return run


def _compile(node: Node, schema: ProjectSchema) -> Compiled:
    match node:
        case FieldRef():
            return _field(node, schema)
        case Binary(op=op, left=left, right=right):
            lhs, rhs = _compile(left, schema), _compile(right, schema)
            if op in COMPARISON_OPERATORS:
                return lambda ctx: compare(op, lhs(ctx), rhs(ctx))
            return lambda ctx: arithmetic(op, lhs(ctx), rhs(ctx))
        case Logical(op="and", operands=operands):
            parts = tuple(_compile(o, schema) for o in operands)

            def all_true(ctx: RecordContext) -> Value:
                # A loop rather than all(...): no generator object per evaluation.
                for part in parts:  # noqa: SIM110
                    if not truthy(part(ctx)):
                        return False
                return True

            return all_true
        case Logical(operands=operands):
            parts = tuple(_compile(o, schema) for o in operands)

            def any_true(ctx: RecordContext) -> Value:
                for part in parts:  # noqa: SIM110
                    if truthy(part(ctx)):
                        return True
                return False

            return any_true
        case Number(value=value) | String(value=value) | Boolean(value=value):
            return lambda ctx: value
        case Unary(op="not", operand=operand):
            inner = _compile(operand, schema)
            return lambda ctx: not truthy(inner(ctx))
        case Unary(op=op, operand=operand):
            inner = _compile(operand, schema)

            def signed(ctx: RecordContext) -> Value:
                number = as_number(inner(ctx))
                if number is None:
                    return NAN
                return -number if op == "-" else number

            return signed
        case Call(name="if", args=(condition, when_true, when_false)):
            test, yes, no = (_compile(a, schema) for a in (condition, when_true, when_false))
            return lambda ctx: yes(ctx) if truthy(test(ctx)) else no(ctx)
        case Call(name=name, args=args):
            arguments = tuple(_compile(a, schema) for a in args)
            return lambda ctx: call(name, [a(ctx) for a in arguments], ctx)
        case SmartVariable(name=name):
            return lambda ctx: ctx.smart_variable(name)
    return _general(node)  # not a node: evaluate raises its TypeError


def _field(ref: FieldRef, schema: ProjectSchema) -> Compiled:
    """``RecordContext.lookup`` then ``evaluate``'s ``chk_null`` for one reference, with the
    field's column, number-ness and event resolved once."""
    if ref.event is not None and ref.event != "event-name":
        if ref.event in _RELATIVE_EVENTS or schema.is_visit(ref.event):
            return _general(ref)  # the event depends on the row (its arm, its position)
        try:
            _check_event(schema, ref.event)
        except LogicError:
            return _general(ref)  # raises, per row, as evaluate does
    try:
        form, column = _column(schema, ref)
    except LogicError:
        return _general(ref)
    probe = RecordContext(schema=schema, record=None)  # type: ignore[arg-type]
    numeric = ref.code is not None or probe.is_numeric(ref.field)
    comma = probe._comma_decimal(ref.field)
    free_text = is_free_text_field(schema, ref.field)
    checkbox = ref.code is not None
    fixed_event = ref.event if ref.event not in (None, "event-name") else None
    own_event = fixed_event is None
    instance = ref.instance
    # Per event: the base row's key, or None when the form or event repeats there.
    base_keys: dict[str | None, RowKey | None] = {}

    def read(ctx: RecordContext) -> Value:
        event = ctx.event if own_event else fixed_event
        try:
            key = base_keys[event]
        except KeyError:
            repeats = schema.is_repeating_form(event, form) or schema.is_repeating_event(event)
            key = base_keys[event] = None if repeats else RowKey(event, "", None)
        if key is None:
            key = ctx._row_key(event, form, instance)
        if key is None:
            raw = ""
        else:
            row = ctx.record.rows.get(key)
            raw = "" if row is None else row.get(column, "")
        if raw and (raw[0].isspace() or raw[-1].isspace()):
            raw = read_trimmed(raw, free_text=free_text)
        if checkbox and raw == "":
            raw = "0"  # an unticked (or never saved) checkbox option reads as 0 in REDCap
        elif raw and comma:
            raw = raw.replace(",", ".")
        return chk_null(raw) if numeric else raw

    return read
