"""Errors raised by the logic package.

Both carry ``source`` (where the logic came from, e.g. "branching logic of field x") so a
message read in a log points at the data-dictionary cell or rule to fix. Messages hold logic
text and field names only: metadata, never record values.
"""

from __future__ import annotations

from worker.errors import WorkerError

# How much logic an error message quotes before and after the error position.
_EXCERPT_BEFORE = 40
_EXCERPT_AFTER = 20


class LogicError(WorkerError):
    """Base class for problems with a piece of REDCap logic."""

    def __init__(self, problem: str, *, source: str | None = None) -> None:
        self.problem = problem
        self.source = source
        super().__init__(self._message())

    def _where(self) -> str:
        return f"in {self.source}" if self.source else "in REDCap logic"

    def _message(self) -> str:
        return f"Logic error {self._where()}: {self.problem}"

    def with_source(self, source: str | None) -> LogicError:
        """The same error, told where the logic came from."""
        return type(self)(self.problem, source=source)


class LogicReferenceError(LogicError):
    """The logic names a field, event, checkbox option or smart variable the context cannot
    resolve. Raised while evaluating (or by ``reference_problems``), not by ``parse``, because
    the parser does not know the project."""


class LogicSyntaxError(LogicError):
    """The logic text is not valid REDCap logic. ``parse`` raises only this, on any input."""

    def __init__(
        self,
        problem: str,
        *,
        logic: str,
        position: int,
        source: str | None = None,
        expected: str | None = None,
    ) -> None:
        self.logic = logic
        self.position = max(0, min(position, len(logic)))
        self.expected = expected
        before = logic[: self.position]
        self.line = before.count("\n") + 1
        self.column = self.position - (before.rfind("\n") + 1) + 1
        super().__init__(problem, source=source)

    def _message(self) -> str:
        return (
            f"Syntax error {self._where()} at line {self.line}, column {self.column}: "
            f"{self.problem}; in: {self._excerpt()}"
        )

    def _excerpt(self) -> str:
        """The logic around the error, the error position marked with ``>>>``."""
        start = max(0, self.position - _EXCERPT_BEFORE)
        end = min(len(self.logic), self.position + _EXCERPT_AFTER)
        head = ("…" if start > 0 else "") + self.logic[start : self.position]
        tail = self.logic[self.position : end] + ("…" if end < len(self.logic) else "")
        return " ".join(f"{head} >>> {tail}".split())

    def with_source(self, source: str | None) -> LogicSyntaxError:
        return LogicSyntaxError(
            self.problem,
            logic=self.logic,
            position=self.position,
            source=source,
            expected=self.expected,
        )
