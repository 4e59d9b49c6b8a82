"""Safety: NK-SAE-01 .. NK-SAE-04 (NK-SAE-03 is REDCap logic in logic_rules.toml)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.support.nk_trial import D0, day, findings, treated, where

SAFETY = "safety_arm_1"


def event(instance: int = 1, **changes: Any) -> Any:
    values = {
        "ae_term": "Abdominal pain",
        "ae_onset": day(2),
        "ae_grade": 2,
        "ae_serious": 0,
        "ae_related": 3,
        "ae_outcome": 1,
        "ae_end_date": day(5),
    }
    return treated().ae(instance, **(values | changes))


def serious(**changes: Any) -> Any:
    return event(**({"ae_serious": 1, "ae_grade": 3, "ae_aware_date": day(3)} | changes))


# --- NK-SAE-01: SAE reported more than 1 day after awareness ------------------------------


@pytest.mark.parametrize(("report_day", "fires"), [(3, False), (4, False), (5, True)])
def test_sae01_report_within_one_day(report_day: int, fires: bool) -> None:
    found = findings(serious(ae_report_date=day(report_day)), rule="NK-SAE-01")
    assert where(found) == ([("1", SAFETY, 1, "ae_report_date")] if fires else [])


@pytest.mark.parametrize(("as_of_day", "fires"), [(4, False), (5, True)])
def test_sae01_unreported_fires_once_the_day_has_passed(as_of_day: int, fires: bool) -> None:
    found = findings(
        serious(ae_report_date=""), rule="NK-SAE-01", as_of=D0 + timedelta(days=as_of_day)
    )
    assert where(found) == ([("1", SAFETY, 1, "ae_report_date")] if fires else [])


def test_sae01_only_serious_events_with_an_awareness_date() -> None:
    assert findings(event(ae_aware_date=day(3), ae_report_date=""), rule="NK-SAE-01") == []
    assert findings(serious(ae_aware_date="", ae_report_date=""), rule="NK-SAE-01") == []


# --- NK-SAE-02: onset earlier than consent -------------------------------------------------


@pytest.mark.parametrize(("onset", "fires"), [(-41, True), (-40, False)])
def test_sae02_onset_before_consent(onset: int, fires: bool) -> None:
    found = findings(event(ae_onset=day(onset)), rule="NK-SAE-02")  # consent on day -40
    assert where(found) == ([("1", SAFETY, 1, "ae_onset")] if fires else [])


def test_sae02_blank_consent_date_does_not_fire() -> None:
    rec = event(ae_onset=day(-60)).screening(icf_date="")
    assert findings(rec, rule="NK-SAE-02") == []


# --- NK-SAE-03 (logic): end earlier than onset ---------------------------------------------


@pytest.mark.parametrize(
    ("end", "fires"), [(day(1), True), (day(2), False), ("", False), ("2026-99-01", False)]
)
def test_sae03_end_before_onset(end: str, fires: bool) -> None:
    found = findings(event(ae_end_date=end), rule="NK-SAE-03")
    assert where(found) == ([("1", SAFETY, 1, "ae_end_date")] if fires else [])


def test_sae03_is_evaluated_per_instance() -> None:
    rec = event(1).ae(2, ae_onset=day(10), ae_end_date=day(9)).ae(3, ae_onset=day(10))
    assert where(findings(rec, rule="NK-SAE-03")) == [("1", SAFETY, 2, "ae_end_date")]


# --- NK-SAE-04: exactly one of grade 5 and outcome Fatal ------------------------------------


@pytest.mark.parametrize(
    ("grade", "outcome", "fires"),
    [
        ("5", "4", False),
        ("5", "3", True),
        ("5", "", True),
        ("4", "4", True),
        ("", "4", True),
        ("4", "3", False),
        ("", "", False),
    ],
)
def test_sae04_death_and_fatal_outcome_go_together(grade: str, outcome: str, fires: bool) -> None:
    found = findings(event(ae_grade=grade, ae_outcome=outcome), rule="NK-SAE-04")
    assert where(found) == ([("1", SAFETY, 1, "ae_outcome")] if fires else [])
