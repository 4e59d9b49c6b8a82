"""``schedule.toml`` read and checked against the project (worker/core/schedule/spec.py):
every mistake is one line naming the file and the key; the example studies declare theirs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.projects import REPO
from tests.support.toy_schedule import SCHEDULE, ruleset_with
from worker.errors import MappingError


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (
            'part = "doses"',
            'part = "dosing"',
            "[anchor]: part 'dosing' is not a part of the mapping",
        ),
        (
            'date = "visit_date"\npick',
            'date = "weight_kg"\npick',
            "'weight_kg' is not a date field",
        ),
        ('event = "m2_arm_1"', 'event = "m3_arm_1"', "event 'm3_arm_1' is not an event of part"),
        ("target = 30", 'target = "a month"', "'a month' is not a duration"),
        ("{sample_day}", "{sample_date}", "message names {sample_date}"),
        ("closed {days_closed} days ago", "closed on 2026-01-01", "never a calendar date"),
        ('from = "ae_start"', 'from = "ae_stat"', "field 'ae_stat' is not in the project"),
        (
            'title = "Visit missed"',
            'title = "Visit missed"\ncolour = "red"',
            "unknown key 'colour'",
        ),
        ('kind = "deviation"', 'kind = "warning"', "'kind' must be query or deviation"),
    ],
)
def test_a_mistake_is_one_line_naming_the_file_and_the_key(
    tmp_path: Path, old: str, new: str, problem: str
) -> None:
    assert old in SCHEDULE
    with pytest.raises(MappingError) as error:
        ruleset_with(tmp_path, SCHEDULE.replace(old, new, 1))
    message = str(error.value)
    assert "schedule.toml" in message
    assert problem in message
    assert "\n" not in message


def test_a_schedule_check_id_declared_twice_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="T-WIN is declared twice"):
        ruleset_with(tmp_path, SCHEDULE.replace('id = "T-MISSED"', 'id = "T-WIN"'))


@pytest.mark.parametrize("study", ["nk_trial", "bp_trial"])
def test_the_example_studies_declare_their_schedules_as_data(study: str) -> None:
    rules = REPO / "rules" / study
    assert (rules / "schedule.toml").is_file()
    code = "\n".join(p.read_text(encoding="utf-8") for p in (rules / "checks").glob("*.py"))
    for python_schedule in ("VisitRow", "VisitStatus", "def schedule", "global "):
        assert python_schedule not in code
