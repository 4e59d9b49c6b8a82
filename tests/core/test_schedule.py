"""Visit schedules declared as data (worker/core/schedule): ``schedule.toml`` read and checked
against the project, each visit's window and status, the reasons a visit is not expected,
the schedule checks the study declares, and the missed check's grace period.

On the made-up project of tests/core/test_rules.py, not the dNK trial: the engine is generic.
Day 0 there is the earliest dose date; months 1 and 2 are the part ``months``.
"""

from __future__ import annotations

import textwrap
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.support.toy_study import (
    BUILDER,
    baseline,
    check_all_records,
    dose,
    load,
    log,
    month,
    places,
    record,
    rules_folder,
)
from worker.core.rules import Ruleset
from worker.errors import MappingError

DAY0 = date(2026, 2, 1)  # the first dose

SCHEDULE = """
[anchor]
part = "doses"
date = "visit_date"
pick = "earliest"

[visits]
part = "months"
date = "visit_date"
before = "3 days"
after = "1 week"

[[visit]]
name = "month 1"
event = "m1_arm_1"
target = 30

[[visit]]
name = "month 2"
event = "m2_arm_1"
target = "8 weeks"

[[not_expected]]
reason = "on hold"
part = "log"
from = "ae_start"
until = "ae_end"

[checks.out_of_window]
id = "T-WIN"
kind = "deviation"
severity = "major"
title = "Visit outside its window"
message = "{visit} on day {sample_day}; window days {start_day}-{end_day}."

[checks.missed]
id = "T-MISSED"
kind = "deviation"
severity = "minor"
title = "Visit missed"
message = "No {visit}: window days {start_day}-{end_day} closed {days_closed} days ago."
"""


def ruleset_with(tmp_path: Path, schedule: str = SCHEDULE, checks: str | None = None) -> Ruleset:
    folder = rules_folder(tmp_path, checks=checks, logic=None)
    (folder / "schedule.toml").write_text(textwrap.dedent(schedule), encoding="utf-8")
    return load(folder)


def iso(day: int) -> str:
    return (DAY0 + timedelta(days=day)).isoformat()


def on(day: int) -> date:
    return DAY0 + timedelta(days=day)


def dosed(*rows: dict) -> tuple[dict, ...]:
    """A participant dosed on day 0 and again on day 10 (day 0 is the earliest dose)."""
    return (
        baseline(),
        dose(2, visit_date=iso(10)),
        dose(1, visit_date=iso(0)),
        *rows,
    )


def statuses(rules: Ruleset, *rows: dict, as_of: date) -> dict[str, str]:
    participant = BUILDER.build(record("1", *rows))
    return {row.visit: row.status_text for row in rules.schedule(participant, as_of)}


# --- The rows -------------------------------------------------------------------------------


def test_each_visit_has_its_target_and_window_counted_from_the_earliest_anchor_date(
    tmp_path: Path,
) -> None:
    rules = ruleset_with(tmp_path)
    rows = rules.schedule(BUILDER.build(record("1", *dosed())), on(0))
    assert [(r.visit, r.event, r.target_day, r.start_day, r.end_day) for r in rows] == [
        ("month 1", "m1_arm_1", 30, 27, 37),
        ("month 2", "m2_arm_1", 56, 53, 63),  # "8 weeks"
    ]
    assert all(r.anchor == DAY0 for r in rows)


def test_latest_picks_the_last_anchor_date(tmp_path: Path) -> None:
    rules = ruleset_with(tmp_path, SCHEDULE.replace('pick = "earliest"', 'pick = "latest"'))
    rows = rules.schedule(BUILDER.build(record("1", *dosed())), on(0))
    assert rows[0].anchor == on(10)


def test_without_an_anchor_date_there_is_no_schedule(tmp_path: Path) -> None:
    rules = ruleset_with(tmp_path)
    assert rules.schedule(BUILDER.build(record("1", baseline())), on(100)) == []


def test_status_follows_the_date_then_the_window_and_the_as_of_date(tmp_path: Path) -> None:
    rules = ruleset_with(tmp_path)
    assert statuses(rules, *dosed(), as_of=on(26)) == {
        "month 1": "upcoming",
        "month 2": "upcoming",
    }
    assert statuses(rules, *dosed(), as_of=on(27))["month 1"] == "due now"  # opens
    assert statuses(rules, *dosed(), as_of=on(37))["month 1"] == "due now"  # last day
    assert statuses(rules, *dosed(), as_of=on(38))["month 1"] == "missed"
    dated = dosed(month(1, visit_date=iso(37)), month(2, visit_date=iso(64)))
    assert statuses(rules, *dated, as_of=on(100)) == {
        "month 1": "in window",
        "month 2": "out of window",
    }


def test_a_state_overlapping_the_window_makes_the_visit_not_expected(tmp_path: Path) -> None:
    rules = ruleset_with(tmp_path)
    # On hold from day 20 to day 27: overlaps month 1's window (days 27-37) on its first day.
    held = dosed(log(1, ae_start=iso(20), ae_end=iso(27)))
    assert statuses(rules, *held, as_of=on(100)) == {
        "month 1": "not expected: on hold",
        "month 2": "missed",
    }
    # Ended the day before the window opened: no excuse.
    before = dosed(log(1, ae_start=iso(20), ae_end=iso(26)))
    assert statuses(rules, *before, as_of=on(100))["month 1"] == "missed"
    # Started on the window's last day, never ended: both months excused.
    ongoing = dosed(log(1, ae_start=iso(37)))
    assert set(statuses(rules, *ongoing, as_of=on(100)).values()) == {"not expected: on hold"}
    # Started after the window: no excuse for month 1.
    later = dosed(log(1, ae_start=iso(38)))
    assert statuses(rules, *later, as_of=on(100))["month 1"] == "missed"


def test_a_dated_visit_is_judged_by_its_date_even_in_a_state_that_excuses_it(
    tmp_path: Path,
) -> None:
    rules = ruleset_with(tmp_path)
    rows = dosed(log(1, ae_start=iso(0)), month(1, visit_date=iso(30)))
    assert statuses(rules, *rows, as_of=on(100))["month 1"] == "in window"


def test_when_logic_on_the_entrys_own_fields_narrows_the_state(tmp_path: Path) -> None:
    rules = ruleset_with(
        tmp_path, SCHEDULE.replace('until = "ae_end"', "when = \"[ae_end] <> ''\"")
    )
    closed = dosed(log(1, ae_start=iso(20), ae_end=iso(90)))
    still_open = dosed(log(1, ae_start=iso(20)))
    assert statuses(rules, *closed, as_of=on(100))["month 1"] == "not expected: on hold"
    assert statuses(rules, *still_open, as_of=on(100))["month 1"] == "missed"


def test_a_python_condition_says_what_the_data_cannot(tmp_path: Path) -> None:
    schedule = SCHEDULE + textwrap.dedent(
        """
        [[not_expected]]
        reason = "site closed"
        condition = "site_closed"
        """
    )
    checks = textwrap.dedent(
        """
        from datetime import date
        from worker.core.rules import condition

        @condition("site_closed")
        def site_closed(p, window_start, window_end):
            return window_start <= date(2026, 3, 1) <= window_end
        """
    )
    rules = ruleset_with(tmp_path, schedule, checks=checks)
    assert statuses(rules, *dosed(), as_of=on(100)) == {
        "month 1": "not expected: site closed",  # days 27-37 hold 1 March (day 28)
        "month 2": "missed",
    }


# --- The checks -------------------------------------------------------------------------------


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


# --- Grace ------------------------------------------------------------------------------------


def missed_on(rules: Ruleset, as_of: date) -> list[str]:
    _, found = check_all_records(rules, record("1", *dosed()), as_of=as_of)
    return sorted(f.event or "" for f in found if f.rule == "T-MISSED")


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


# --- Mistakes in the file ---------------------------------------------------------------------


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


def test_a_condition_the_checks_do_not_declare_is_refused(tmp_path: Path) -> None:
    schedule = SCHEDULE + '\n[[not_expected]]\nreason = "x"\ncondition = "nowhere"\n'
    with pytest.raises(MappingError, match="condition 'nowhere', but no @condition"):
        ruleset_with(tmp_path, schedule)


def test_a_schedule_check_id_declared_twice_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="T-WIN is declared twice"):
        ruleset_with(tmp_path, SCHEDULE.replace('id = "T-MISSED"', 'id = "T-WIN"'))


# --- The example studies --------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("study", ["nk_trial", "bp_trial"])
def test_the_example_studies_declare_their_schedules_as_data(study: str) -> None:
    rules = REPO / "rules" / study
    assert (rules / "schedule.toml").is_file()
    code = "\n".join(p.read_text(encoding="utf-8") for p in (rules / "checks").glob("*.py"))
    for python_schedule in ("VisitRow", "VisitStatus", "def schedule", "global "):
        assert python_schedule not in code
