"""REDCap logic (branching logic, data-quality rules, filter logic): parse once, evaluate
per row, with REDCap's own blank and type rules.

    expr = parse("[outcome] <> '1' and [outcome] <> ''", source="branching logic of x")
    expr.is_true(RecordContext(schema=schema, record=record, event="visit_arm_1",
                               instance=2, repeat_instrument="visit_form"))

Modules: tokens (text -> tokens), parser (tokens -> nodes), nodes (the tree), unparser
(tree -> canonical text), values (comparison/arithmetic rules), functions and dates (the
special functions), evaluate (the evaluator: a tree compiled once into a function of a
context), protocol (what evaluation needs), context (RecordContext over export rows, its
references resolved once per project; MappingContext for tests), expression (the public
wrapper, compiled when made).
"""

from worker.core.logic.context import (
    MappingContext,
    RecordContext,
    own_row_columns,
    reference_problems,
)
from worker.core.logic.errors import LogicError, LogicReferenceError, LogicSyntaxError
from worker.core.logic.expression import Expression
from worker.core.logic.nodes import FieldRef, Node
from worker.core.logic.parser import parse
from worker.core.logic.protocol import LogicContext
from worker.core.logic.unparser import unparse
from worker.core.logic.values import Value

__all__ = [
    "Expression",
    "FieldRef",
    "LogicContext",
    "LogicError",
    "LogicReferenceError",
    "LogicSyntaxError",
    "MappingContext",
    "Node",
    "RecordContext",
    "Value",
    "own_row_columns",
    "parse",
    "reference_problems",
    "unparse",
]
