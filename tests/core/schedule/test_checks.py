"""The schedule's two checks (worker/core/schedule/checks.py): out-of-window and missed
visits as the study declares them, and the missed check's grace period."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.support.toy_schedule import SCHEDULE, dosed, iso, missed_on, on, ruleset_with, statuses
from tests.support.toy_study import check_all_records, month, places, record


def test_the_declared_checks_report_out_of_window_and_missed_visits(tmp_path: Path) -> None:
    rules = ruleset_with(tmp_path)
    assert {c.id: c.source for c in rules.checks} == {"T-WIN": "schedule", "T-MISSED": "schedule"}
    rec = record("1", *dosed(month(1, visit_date=iso(40))))
    _, found = check_all_records(rules, rec, as_of=on(70))
    assert places(found) == [
        ("T-MISSED", "1", "m2_arm_1", None, "visit_date"),
        ("T-WIN", "1", "m1_arm_1", None, "visit_date"),
    ]
    messages = {f.rule: f.message for f in found}
    assert messages == {
        "T-WIN": "month 1 on day 40; window days 27-37.",
        "T-MISSED": "No month 2: window days 53-63 closed 7 days ago.",
    }
    missed = next(f for f in found if f.rule == "T-MISSED")
    assert (missed.kind.value, missed.severity.value) == ("deviation", "minor")


def test_a_schedule_without_checks_still_gives_its_visits(tmp_path: Path) -> None:
    rules = ruleset_with(tmp_path, SCHEDULE.split("[checks.out_of_window]")[0])
    assert rules.checks == []
    rec = record("1", *dosed())
    _, found = check_all_records(rules, rec, as_of=on(100))
    assert found == []
    assert set(statuses(rules, *dosed(), as_of=on(100)).values()) == {"missed"}


def test_a_condition_that_raises_is_an_error_finding_of_each_schedule_check(
    tmp_path: Path,
) -> None:
    schedule = SCHEDULE + '\n[[not_expected]]\nreason = "x"\ncondition = "broken"\n'
    checks = (
        "from worker.core.rules import condition\n\n"
        '@condition("broken")\ndef broken(p, start, end):\n    raise KeyError("x")\n'
    )
    rules = ruleset_with(tmp_path, schedule, checks=checks)
    run, found = check_all_records(rules, record("1", *dosed()), as_of=on(100))
    assert sorted((f.rule, f.check_error) for f in found) == [
        ("T-MISSED", True),
        ("T-WIN", True),
    ]
    assert run.check_errors == 2


def test_a_missed_visit_waits_its_grace_days_after_the_window_closed(tmp_path: Path) -> None:
    rules = ruleset_with(
        tmp_path, SCHEDULE.replace('severity = "minor"', 'severity = "minor"\ngrace_days = 5')
    )
    closed = on(38)  # month 1's window (days 27-37) is closed from day 38 on
    assert missed_on(rules, closed + timedelta(days=4)) == []  # grace day 5 - 1
    assert statuses(rules, *dosed(), as_of=closed + timedelta(days=4))["month 1"] == "due now"
    assert missed_on(rules, closed + timedelta(days=5)) == ["m1_arm_1"]
    assert statuses(rules, *dosed(), as_of=closed + timedelta(days=5))["month 1"] == "missed"


def test_ignoring_grace_reports_a_missed_visit_the_day_its_window_closed(tmp_path: Path) -> None:
    rules = ruleset_with(
        tmp_path, SCHEDULE.replace('severity = "minor"', 'severity = "minor"\ngrace_days = 5')
    )
    assert missed_on(rules.without_grace(), on(38)) == ["m1_arm_1"]
    assert missed_on(rules.without_grace(), on(37)) == []  # still open


def test_grace_in_weeks(tmp_path: Path) -> None:
    rules = ruleset_with(
        tmp_path,
        SCHEDULE.replace('severity = "minor"', 'severity = "minor"\ngrace_days = "1 week"'),
    )
    assert rules.visit_schedule is not None
    assert rules.visit_schedule.missed_grace_days == 7
