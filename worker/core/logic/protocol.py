"""What the evaluator needs from the world, kept small so tests can back it with a dict.

``RecordContext`` (context.py) is the real implementation; ``MappingContext`` a test double.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol, runtime_checkable

from worker.core.logic.nodes import FieldRef
from worker.core.logic.values import Value


class LogicContext(Protocol):
    """Required by ``Expression.evaluate``."""

    @property
    def today(self) -> date:
        """The date ``'today'`` means in ``datediff`` and date functions."""
        ...

    @property
    def now(self) -> datetime:
        """The moment ``'now'`` means."""
        ...

    def read(self, ref: FieldRef) -> Value:
        """The value a reference has in logic: the stored text (``""`` where blank or
        absent), through REDCap's ``chkNull`` (blank -> NaN, a number -> float) for a
        numeric field or a checkbox option."""
        ...


@runtime_checkable
class SupportsSmartVariables(Protocol):
    """Optional: contexts that can pipe standalone smart variables like ``[record-name]``."""

    def smart_variable(self, name: str) -> str: ...


@runtime_checkable
class SupportsMissingCodes(Protocol):
    """Optional: contexts that know the project's missing-data codes (``UNK``, ``NASK``...).
    Without it, ``isblankormissingcode`` is a plain blank test."""

    @property
    def missing_codes(self) -> frozenset[str]: ...


def missing_codes(ctx: LogicContext) -> frozenset[str]:
    return ctx.missing_codes if isinstance(ctx, SupportsMissingCodes) else frozenset()
