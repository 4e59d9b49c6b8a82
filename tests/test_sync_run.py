"""What the sync of every query target shares (worker/sync_run.py): which checks ran (only
their queries are reconciled), which visits a summary lists, and stopping between batches."""

from __future__ import annotations

from datetime import date

import pytest

from tests.support.projects import REPO, demo_schema
from worker.config import StudySettings, load_settings
from worker.core.generic_checks import GenericRule
from worker.core.visits import VisitRow, VisitStatus
from worker.pipeline import load_study
from worker.sync_run import SyncStopped, open_visit, rules_that_ran, until_stopped

AS_OF = date(2026, 11, 26)


def test_without_a_study_the_generic_checks_alone_ran() -> None:
    study = load_study(StudySettings(), demo_schema())
    assert rules_that_ran(study, partial=False) == {rule.value for rule in GenericRule}


def test_a_partial_run_leaves_out_the_cross_participant_checks() -> None:
    study = load_study(load_settings(REPO / "config.example.toml").study, demo_schema())
    assert study.ruleset is not None
    whole, partial = rules_that_ran(study, partial=False), rules_that_ran(study, partial=True)
    cross = {c.id for c in study.ruleset.checks if c.cross_participant}
    assert cross
    assert {c.id for c in study.ruleset.checks} <= whole
    assert whole - partial == cross


def visit(status: VisitStatus) -> VisitRow:
    day = date(2026, 1, 1)
    return VisitRow("1", "week 4", "visits", 1, "vs_date", day, day, day, day, None, status)


@pytest.mark.parametrize(
    ("status", "listed"),
    [
        (VisitStatus.MISSED, True),
        (VisitStatus.DUE, True),
        (VisitStatus.UPCOMING, True),
        (VisitStatus.IN_WINDOW, False),
        (VisitStatus.OUT_OF_WINDOW, False),
        (VisitStatus.NOT_EXPECTED, False),
    ],
)
def test_a_summary_lists_the_visits_still_waiting_for_a_sample(
    status: VisitStatus, listed: bool
) -> None:
    assert open_visit(visit(status)) is listed


def test_batches_flow_until_a_stop_is_asked_for_before_the_next() -> None:
    asked: list[int] = []

    def batches():
        for n in range(3):
            asked.append(n)
            yield [{"record_id": str(n)}]

    flags = iter([False, False, True])
    stream = until_stopped(batches(), lambda: next(flags))
    assert next(stream) == [{"record_id": "0"}]
    assert next(stream) == [{"record_id": "1"}]
    with pytest.raises(SyncStopped, match="nothing written"):
        next(stream)
    assert asked == [0, 1]  # the third batch was never requested


def test_without_a_stop_every_batch_comes() -> None:
    assert list(until_stopped([[{"a": 1}], [{"a": 2}]], lambda: False)) == [[{"a": 1}], [{"a": 2}]]
