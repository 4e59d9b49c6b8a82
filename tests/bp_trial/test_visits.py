"""Visit windows relative to the randomisation date (protocol: Visits): schedule.toml,
BP-WIN-01, BP-WIN-02 and BP-BAS-01; week 4 belongs to the intervention arm only."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from tests.support.bp_trial import (
    AS_OF,
    CONTROL,
    INTERVENTION,
    RULES,
    R,
    day,
    findings,
    followed,
    mapping,
    randomised,
    ruleset,
    schema,
    screened,
    vitals,
    where,
)
from worker.core.rules import load_ruleset
from worker.core.visits import VisitStatus
from worker.errors import MappingError


def schedule(rec, as_of=AS_OF):
    rs = ruleset()
    return rs.schedule(rec.participant(), as_of)


def statuses(rec, as_of=AS_OF) -> dict[str, VisitStatus]:
    return {row.visit: row.status for row in schedule(rec, as_of)}


def test_each_arm_is_scheduled_its_own_visits_counted_from_randomisation() -> None:
    rows = schedule(followed(arm=INTERVENTION))
    assert [(r.visit, r.target_day, r.start_day, r.end_day) for r in rows] == [
        ("week 4", 28, 21, 35),
        ("week 12", 84, 70, 98),
        ("week 24", 168, 154, 182),
    ]
    assert all(r.anchor == R for r in rows)
    assert [r.visit for r in schedule(followed(arm=CONTROL))] == ["week 12", "week 24"]


def test_a_participant_not_randomised_has_no_schedule() -> None:
    assert schedule(screened()) == []


@pytest.mark.parametrize(
    ("visit", "inside", "outside"),
    [
        ("week_4", (21, 35), (20, 36)),
        ("week_12", (70, 98), (69, 99)),
        ("week_24", (154, 182), (153, 183)),
    ],
)
def test_a_visit_on_either_end_of_its_window_is_in_and_a_day_beyond_is_out(
    visit: str, inside: tuple[int, int], outside: tuple[int, int]
) -> None:
    for on in inside:
        rec = followed().visit(visit, vs_date=day(on))
        assert findings(rec, rule="BP-WIN-01") == [], on
    for on in outside:
        rec = followed().visit(visit, vs_date=day(on))
        [found] = findings(rec, rule="BP-WIN-01")
        assert where([found]) == [("1", f"{visit}_arm_1", None, "vs_date")]
        assert f"on day {on} after randomisation" in found.message


def test_the_control_arm_week_12_out_of_window_is_raised_on_its_own_event() -> None:
    rec = followed(arm=CONTROL).visit("week_12", vs_date=day(99))
    assert where(findings(rec, rule="BP-WIN-01")) == [("1", "week_12_arm_2", None, "vs_date")]


def test_a_window_closing_on_the_as_of_date_is_due_and_the_day_after_missed() -> None:
    rec = randomised()
    closes = R + timedelta(days=35)  # week 4
    assert statuses(rec, closes)["week 4"] is VisitStatus.DUE
    assert findings(rec, rule="BP-WIN-02", as_of=closes) == []
    assert statuses(rec, closes + timedelta(days=1))["week 4"] is VisitStatus.MISSED
    assert where(findings(rec, rule="BP-WIN-02", as_of=closes + timedelta(days=1))) == [
        ("1", "week_4_arm_1", None, "vs_date")
    ]


def test_before_its_window_opens_a_visit_is_upcoming() -> None:
    opens = R + timedelta(days=21)
    assert statuses(randomised(), opens - timedelta(days=1))["week 4"] is VisitStatus.UPCOMING
    assert statuses(randomised(), opens)["week 4"] is VisitStatus.DUE


def test_a_missed_control_visit_is_raised_on_the_control_arms_event_and_week_4_never() -> None:
    rec = randomised(arm=CONTROL)
    assert where(findings(rec, rule="BP-WIN-02")) == [
        ("1", "week_12_arm_2", None, "vs_date"),
        ("1", "week_24_arm_2", None, "vs_date"),
    ]


def test_ending_the_study_by_a_windows_last_day_makes_it_not_applicable() -> None:
    on_last_day = randomised().visit("week_4", **vitals(28)).eos(eos_date=day(98), eos_status=2)
    assert statuses(on_last_day)["week 12"] is VisitStatus.NOT_EXPECTED
    assert findings(on_last_day, rule="BP-WIN-02") == []
    a_day_later = randomised().visit("week_4", **vitals(28)).eos(eos_date=day(99), eos_status=2)
    assert statuses(a_day_later)["week 12"] is VisitStatus.MISSED
    assert where(findings(a_day_later, rule="BP-WIN-02")) == [
        ("1", "week_12_arm_1", None, "vs_date")
    ]


@pytest.mark.parametrize("arm", [INTERVENTION, CONTROL])
def test_baseline_after_randomisation_is_a_deviation_and_on_the_day_is_not(arm: int) -> None:
    assert findings(followed(arm=arm).baseline(vs_date=day(0)), rule="BP-BAS-01") == []
    late = followed(arm=arm).baseline(vs_date=day(1))
    assert where(findings(late, rule="BP-BAS-01")) == [
        ("1", f"baseline_arm_{arm}", None, "vs_date")
    ]


def test_a_baseline_before_any_randomisation_is_not_judged_late() -> None:
    rec = screened().baseline(**vitals(5))
    assert findings(rec, rule="BP-BAS-01") == []


# --- The schedule is data: an anchor per arm -------------------------------------------------


def test_arms_that_count_from_different_dates_declare_an_anchor_each(tmp_path: Path) -> None:
    # Were the control arm's visits counted from consent (enr_icf_date, 14 days before R):
    rules = tmp_path / "bp_trial"
    shutil.copytree(RULES, rules, ignore=shutil.ignore_patterns("__pycache__"))
    schedule_file = rules / "schedule.toml"
    text = schedule_file.read_text(encoding="utf-8")
    one = '[anchor]\npart = "randomisation"\ndate = "rand_date"\n'
    assert one in text
    per_arm = (
        '[[anchor]]\npart = "randomisation"\ndate = "rand_date"\narms = [1]\n\n'
        '[[anchor]]\npart = "screening"\ndate = "enr_icf_date"\narms = [2]\n'
    )
    schedule_file.write_text(text.replace(one, per_arm), encoding="utf-8")
    rs = load_ruleset(rules, schema=schema(), mapping=mapping())
    control = rs.schedule(followed(arm=CONTROL).participant(), AS_OF)
    intervention = rs.schedule(followed(arm=INTERVENTION).participant(), AS_OF)
    assert {r.anchor for r in control} == {R - timedelta(days=14)}
    assert {r.anchor for r in intervention} == {R}
    assert [(r.visit, r.event) for r in control] == [
        ("week 12", "week_12_arm_2"),
        ("week 24", "week_24_arm_2"),
    ]


def test_a_visit_declared_for_an_arm_without_its_event_is_refused(tmp_path: Path) -> None:
    rules = tmp_path / "bp_trial"
    shutil.copytree(RULES, rules, ignore=shutil.ignore_patterns("__pycache__"))
    schedule_file = rules / "schedule.toml"
    text = schedule_file.read_text(encoding="utf-8")
    schedule_file.write_text(text.replace("arms = [1]", "arms = [1, 2]", 1), encoding="utf-8")
    with pytest.raises(MappingError, match="visit 'week 4': arm 2 has no event for visit 'week_4'"):
        load_ruleset(rules, schema=schema(), mapping=mapping())
