"""A participant's visits from the declared schedule (worker/core/schedule/engine.py): each
visit's target and window from day 0, its status, and the reasons a visit is not expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.toy_schedule import DAY0, SCHEDULE, dosed, iso, on, ruleset_with, statuses
from tests.support.toy_study import BUILDER, baseline, dose, log, month, record


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


def test_when_logic_reads_a_checkbox_option_of_the_entry(tmp_path: Path) -> None:
    rules = ruleset_with(
        tmp_path, SCHEDULE.replace('until = "ae_end"', "when = \"[ae_kind(2)] = '1'\"")
    )
    fever = dosed(log(1, ae_start=iso(20), ae_kind___2="1"))
    fall = dosed(log(1, ae_start=iso(20), ae_kind___1="1"))
    assert statuses(rules, *fever, as_of=on(100))["month 1"] == "not expected: on hold"
    assert statuses(rules, *fall, as_of=on(100))["month 1"] == "missed"


def test_each_entry_is_judged_on_its_own_fields_and_period(tmp_path: Path) -> None:
    rules = ruleset_with(
        tmp_path, SCHEDULE.replace('until = "ae_end"', "when = \"[ae_kind(2)] = '1'\"")
    )
    # A fall overlapping month 1, a fever from day 60 on: only month 2 is excused.
    rows = dosed(
        log(1, ae_start=iso(20), ae_kind___1="1"),
        log(2, ae_start=iso(60), ae_kind___2="1"),
    )
    assert statuses(rules, *rows, as_of=on(100)) == {
        "month 1": "missed",
        "month 2": "not expected: on hold",
    }


def test_one_state_excuses_each_visit_whose_window_it_overlaps(tmp_path: Path) -> None:
    rules = ruleset_with(tmp_path)
    # On hold from day 40 to day 60: after month 1's window (27-37), into month 2's (53-63).
    held = dosed(log(1, ae_start=iso(40), ae_end=iso(60)))
    assert statuses(rules, *held, as_of=on(100)) == {
        "month 1": "missed",
        "month 2": "not expected: on hold",
    }


@pytest.mark.parametrize("pick", ["earliest", "latest"])
def test_day_0_ties_go_to_the_lower_instance(tmp_path: Path, pick: str) -> None:
    rules = ruleset_with(tmp_path, SCHEDULE.replace('pick = "earliest"', f'pick = "{pick}"'))
    same_day = (baseline(), dose(3, visit_date=iso(0)), dose(2, visit_date=iso(0)))
    rows = rules.schedule(BUILDER.build(record("1", *same_day)), on(0))
    assert rows[0].anchor == DAY0
    assert list(rows[0].evidence) == ["dose_arm_1[2].visit_date"]
