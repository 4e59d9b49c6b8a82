"""Visit schedules that fail on purpose, for the commands that list visits."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any


@dataclass(frozen=True)
class _FailingSchedule:
    """A declared schedule that raises for one record: how a participant's bad data (or a
    broken ``@condition``) looks to the commands that list visits."""

    inner: Any
    record: str

    def rows(
        self, participant: Any, as_of: date, arm: int | None, event_of: Any = None
    ) -> list[Any]:
        if participant.record_id == self.record:
            raise ValueError("bad data")
        return self.inner.rows(participant, as_of, arm, event_of)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def schedule_failing_for(ruleset: Any, record: str) -> Any:
    """``ruleset`` with a schedule that cannot be computed for ``record``."""
    return replace(ruleset, visit_schedule=_FailingSchedule(ruleset.visit_schedule, record))
