"""What the evaluator needs from the world (worker/core/logic/protocol.py): a small required
interface, and optional abilities a context has or lacks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from worker.core.logic import MappingContext
from worker.core.logic.nodes import FieldRef
from worker.core.logic.protocol import (
    SupportsMissingCodes,
    SupportsSmartVariables,
    missing_codes,
)


@dataclass
class BareContext:
    """Only what is required: no missing codes, no smart variables."""

    today: date = date(2026, 1, 1)
    now: datetime = datetime(2026, 1, 1)

    def lookup(self, ref: FieldRef) -> str:
        return ""

    def is_numeric(self, field: str) -> bool:
        return False


def test_a_context_knowing_the_projects_missing_codes_gives_them() -> None:
    ctx = MappingContext(missing_codes=["UNK", "NASK"])
    assert isinstance(ctx, SupportsMissingCodes)
    assert missing_codes(ctx) == frozenset({"UNK", "NASK"})


def test_a_context_without_missing_codes_has_none() -> None:
    ctx = BareContext()
    assert not isinstance(ctx, SupportsMissingCodes)
    assert missing_codes(ctx) == frozenset()


def test_smart_variables_are_an_optional_ability() -> None:
    assert isinstance(MappingContext(), SupportsSmartVariables)
    assert not isinstance(BareContext(), SupportsSmartVariables)
