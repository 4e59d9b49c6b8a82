"""``Expression``: a parsed piece of logic, what callers hold on to and evaluate per row."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from worker.core.logic.errors import LogicError
from worker.core.logic.evaluate import Evaluator, compile_tree
from worker.core.logic.nodes import FieldRef, Node, walk
from worker.core.logic.protocol import LogicContext
from worker.core.logic.unparser import unparse
from worker.core.logic.values import Value, truthy


@dataclass(frozen=True)
class Expression:
    """Immutable; equal when the trees are equal (the text and source are not compared, so
    ``parse(unparse(e.node)) == e``). The tree is compiled once, when the expression is
    made (see evaluate.py)."""

    node: Node
    text: str = field(default="", compare=False)
    source: str | None = field(default=None, compare=False)
    evaluator: Evaluator = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # A frozen dataclass sets its own derived fields this way.
        object.__setattr__(self, "evaluator", compile_tree(self.node))

    @cached_property
    def field_refs(self) -> frozenset[FieldRef]:
        """Every field reference, with event, checkbox code and instance as written."""
        return frozenset(n for n in walk(self.node) if isinstance(n, FieldRef))

    @cached_property
    def references(self) -> frozenset[tuple[str | None, str]]:
        """``(event, field)`` for every field the logic reads. ``event`` is ``None`` for the
        row's own event, else as written: a unique event name or an event smart variable
        such as ``"previous-event-name"``. Checkbox options give the checkbox field."""
        return frozenset((ref.event, ref.field) for ref in self.field_refs)

    def evaluate(self, ctx: LogicContext) -> Value:
        """The value, as REDCap computes it: a float (NaN for blank), a str or a bool.
        Raises ``LogicReferenceError`` (naming ``source``) for references the context
        cannot resolve."""
        try:
            return self.evaluator(ctx)
        except LogicError as error:
            if error.source is None and self.source is not None:
                raise error.with_source(self.source) from None
            raise

    def is_true(self, ctx: LogicContext) -> bool:
        """Whether REDCap treats the result as true (blank and NaN are false)."""
        return truthy(self.evaluate(ctx))

    def __str__(self) -> str:
        return unparse(self.node)
