"""Pregnancy: NK-PRG-01 .. NK-PRG-06 (NK-PRG-02 is REDCap logic in logic_rules.toml)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.support.nk_trial import D0, day, findings, sample, screened, treated, where

PREGNANCY = "pregnancy_arm_1"


def pregnant(instance: int = 1, **values: Any) -> Any:
    """Treated, improved from month 1, trying from day 40."""
    return treated().pregnancy(instance, **({"pg_attempt_start": day(40)} | values))


# --- NK-PRG-01: attempt start with no improved follow-up sample on or before it ----------


def test_prg01_an_improved_sample_on_the_attempt_day_is_enough() -> None:
    assert findings(pregnant(pg_attempt_start=day(28)), rule="NK-PRG-01") == []


def test_prg01_fires_when_the_only_improved_sample_is_later() -> None:
    rec = pregnant(pg_attempt_start=day(27))
    assert where(findings(rec, rule="NK-PRG-01")) == [("1", PREGNANCY, 1, "pg_attempt_start")]


def test_prg01_abnormal_samples_do_not_count() -> None:
    rec = pregnant().fu(1, **sample(1, improved=False))
    assert len(findings(rec, rule="NK-PRG-01")) == 1


def test_prg01_the_screening_sample_does_not_count() -> None:
    rec = pregnant(pg_attempt_start=day(10)).screening(mba_unk_status=1)
    assert len(findings(rec, rule="NK-PRG-01")) == 1


def test_prg01_untreated_or_no_attempt_does_not_fire() -> None:
    assert findings(screened().pregnancy(1, pg_attempt_start=day(1)), rule="NK-PRG-01") == []
    assert findings(pregnant(pg_attempt_start="", pg_hcg_pos=0), rule="NK-PRG-01") == []


# --- NK-PRG-02 (logic): clinical vs gestational sac and fetal heartbeat -------------------


@pytest.mark.parametrize(
    ("clinical", "sac", "heart", "fires"),
    [
        ("1", "1", "1", False),
        ("1", "1", "0", True),
        ("1", "", "1", True),  # "not both 1": a blank is not 1
        ("0", "1", "1", True),
        ("0", "1", "0", False),
        ("0", "", "", False),
        ("", "1", "1", False),  # pg_clinical blank: neither "= 1" nor "= 0" holds
        ("7", "1", "1", False),  # an invalid code counts as blank
        ("1", "7", "1", True),
    ],
)
def test_prg02_clinical_pregnancy_agrees_with_ultrasound(
    clinical: str, sac: str, heart: str, fires: bool
) -> None:
    rec = pregnant(pg_hcg_pos=1, pg_clinical=clinical, pg_gest_sac=sac, pg_fetal_heart=heart)
    found = findings(rec, rule="NK-PRG-02")
    assert where(found) == ([("1", PREGNANCY, 1, "pg_clinical")] if fires else [])


def test_prg02_is_evaluated_in_each_pregnancy_instance() -> None:
    rec = (
        pregnant(1, pg_clinical=1, pg_gest_sac=1, pg_fetal_heart=1)
        .pregnancy(2, pg_clinical=1, pg_gest_sac=0, pg_fetal_heart=1)
        .pregnancy(3, pg_clinical=0, pg_gest_sac=1, pg_fetal_heart=1)
    )
    found = findings(rec, rule="NK-PRG-02")
    assert where(found) == [("1", PREGNANCY, 2, "pg_clinical"), ("1", PREGNANCY, 3, "pg_clinical")]
    assert found[0].instrument == "pregnancy"
    assert found[0].evidence == {
        "pregnancy_arm_1[2].pg_clinical": "1",
        "pregnancy_arm_1[2].pg_fetal_heart": "1",
        "pregnancy_arm_1[2].pg_gest_sac": "0",
    }


# --- NK-PRG-03: ongoing pregnancy criteria ------------------------------------------------


def ongoing(**changes: Any) -> Any:
    values = {
        "pg_hcg_pos": 1,
        "pg_lmp_date": day(60),
        "pg_clinical": 1,
        "pg_ongoing": 1,
        "pg_us12_date": day(60 + 84),
        "pg_us12_cardiac": 1,
        "pg_us12_size_ok": 1,
    }
    return pregnant(**(values | changes))


def test_prg03_ultrasound_84_days_after_lmp_is_enough() -> None:
    assert findings(ongoing(), rule="NK-PRG-03") == []


@pytest.mark.parametrize(
    "change",
    [
        {"pg_us12_date": day(60 + 83)},
        {"pg_clinical": 0},
        {"pg_clinical": ""},
        {"pg_us12_cardiac": 0},
        {"pg_us12_size_ok": ""},
        {"pg_us12_date": ""},
        {"pg_lmp_date": ""},
        {"pg_lmp_date": "2026-02-30"},
    ],
)
def test_prg03_each_unmet_criterion_fires(change: dict[str, Any]) -> None:
    assert where(findings(ongoing(**change), rule="NK-PRG-03")) == [
        ("1", PREGNANCY, 1, "pg_ongoing")
    ]


def test_prg03_not_ongoing_does_not_fire() -> None:
    assert findings(ongoing(pg_ongoing=0, pg_us12_date=""), rule="NK-PRG-03") == []


# --- NK-PRG-04: live birth criteria ---------------------------------------------------------


def born(**changes: Any) -> Any:
    values = {
        "pg_hcg_pos": 1,
        "pg_lmp_date": day(60),
        "pg_outcome": 2,
        "pg_end_date": day(60 + 182),
        "pg_delivery_ga_wk": 26,
        "pg_delivery_ga_d": 0,
        "pg_neonates": 1,
        "pg_signs_of_life": 1,
        "pg_live_birth": 1,
    }
    return pregnant(**(values | changes))


def test_prg04_26_weeks_0_days_with_signs_of_life_is_a_live_birth() -> None:
    assert findings(born(), rule="NK-PRG-04") == []


@pytest.mark.parametrize(
    "change",
    [
        {"pg_delivery_ga_wk": 25, "pg_delivery_ga_d": 6, "pg_end_date": day(60 + 181)},
        {"pg_delivery_ga_d": ""},
        {"pg_delivery_ga_wk": ""},
        {"pg_signs_of_life": 0},
        {"pg_signs_of_life": ""},
        {"pg_neonates": 0},
        {"pg_neonates": ""},
    ],
)
def test_prg04_each_unmet_criterion_fires(change: dict[str, Any]) -> None:
    assert where(findings(born(**change), rule="NK-PRG-04")) == [
        ("1", PREGNANCY, 1, "pg_live_birth")
    ]


# --- NK-PRG-05: gestational age vs end date - LMP, more than 7 days apart --------------------


@pytest.mark.parametrize(("difference", "fires"), [(7, False), (-7, False), (8, True), (-8, True)])
def test_prg05_gestational_age_tolerance(difference: int, fires: bool) -> None:
    rec = born(
        pg_delivery_ga_wk=38, pg_delivery_ga_d=2, pg_end_date=day(60 + 38 * 7 + 2 + difference)
    )
    found = findings(rec, rule="NK-PRG-05")
    assert where(found) == ([("1", PREGNANCY, 1, "pg_delivery_ga_wk")] if fires else [])


def test_prg05_needs_every_input() -> None:
    rec = born(pg_delivery_ga_d="", pg_end_date=day(60 + 300))
    assert findings(rec, rule="NK-PRG-05") == []


# --- NK-PRG-06: still pregnant more than 301 days after the LMP -----------------------------


@pytest.mark.parametrize(("elapsed", "fires"), [(301, False), (302, True)])
def test_prg06_still_pregnant_boundary(elapsed: int, fires: bool) -> None:
    rec = pregnant(pg_hcg_pos=1, pg_lmp_date=day(60), pg_outcome=1)
    found = findings(rec, rule="NK-PRG-06", as_of=D0 + timedelta(days=60 + elapsed))
    assert where(found) == ([("1", PREGNANCY, 1, "pg_outcome")] if fires else [])
    if fires:
        assert "302 days after the LMP" in found[0].message


def test_prg06_other_outcomes_do_not_fire() -> None:
    rec = pregnant(pg_hcg_pos=1, pg_lmp_date=day(60), pg_outcome=3, pg_end_date=day(80))
    assert findings(rec, rule="NK-PRG-06", as_of=D0 + timedelta(days=900)) == []
