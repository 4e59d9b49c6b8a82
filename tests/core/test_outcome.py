"""A run's outcome: what a sync did, counted once for its summary line, log and history."""

from __future__ import annotations

from datetime import date

from worker.core.outcome import RunOutcome
from worker.core.queries import Action, Change, Plan


def change(action: Action, instance: int) -> Change:
    return Change(action, "1", instance, f"Q-{instance}", "NK-WIN-01", {})


def test_a_syncs_counts_come_from_its_plan_and_its_write_errors() -> None:
    plan = Plan(
        changes=[
            change(Action.CREATE, 1),
            change(Action.CREATE, 2),
            change(Action.RESOLVE, 3),
            change(Action.VERIFY, 4),
        ],
        unchanged=5,
        not_run=1,
    )
    outcome = RunOutcome(as_of=date(2026, 11, 26), plan=plan, write_errors=["record 1: refused"])
    assert outcome.counts() == {
        "findings": 0,
        "created": 2,
        "resolved": 1,
        "reopened": 0,
        "verified": 1,
        "updated": 0,
        "unchanged": 5,
        "not_run": 1,
        "write_errors": 1,
    }
    assert not outcome.complete


def test_a_read_only_run_planned_and_wrote_nothing() -> None:
    outcome = RunOutcome(as_of=date(2026, 11, 26))
    assert outcome.complete
    assert set(outcome.counts().values()) == {0}
    assert outcome.resolutions is None  # the DRW target's plan is there only when it ran
