"""Safety (BP-SAE-01, per adverse-event instance) and blood pressure plausibility (BP-VS-01)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.bp_trial import CONTROL, R, day, findings, followed, where


def sae(aware: int, report: int | None) -> dict:
    return {
        "ae_term": "Syncope",
        "ae_onset": day(aware),
        "ae_serious": 1,
        "ae_aware_date": day(aware),
        "ae_report_date": "" if report is None else day(report),
        "ae_outcome": 2,
    }


def test_an_sae_reported_1_day_after_awareness_is_on_time_and_2_days_late() -> None:
    assert findings(followed().ae(1, **sae(40, 41)), rule="BP-SAE-01") == []
    rec = followed(arm=CONTROL).ae(1, **sae(40, 41)).ae(2, **sae(50, 52))
    [found] = findings(rec, rule="BP-SAE-01")
    assert where([found]) == [("1", "adverse_events_arm_2", 2, "ae_report_date")]
    assert found.message == (
        "Serious adverse event 2 was reported 2 days after the site became aware of it; "
        "it must be reported within 1 day."
    )


def test_an_unreported_sae_is_late_once_more_than_1_day_has_passed() -> None:
    rec = followed().ae(1, **sae(40, None))
    aware = R + timedelta(days=40)
    assert findings(rec, rule="BP-SAE-01", as_of=aware + timedelta(days=1)) == []
    [found] = findings(rec, rule="BP-SAE-01", as_of=aware + timedelta(days=2))
    assert "is not reported 2 days after" in found.message


def test_a_non_serious_event_has_no_reporting_limit() -> None:
    rec = followed().ae(1, **{**sae(40, None), "ae_serious": 0, "ae_aware_date": ""})
    assert findings(rec, rule="BP-SAE-01") == []


@pytest.mark.parametrize(("sbp", "dbp", "fires"), [(85, 85, True), (80, 85, True), (86, 85, False)])
def test_systolic_must_be_above_diastolic(sbp: int, dbp: int, fires: bool) -> None:
    rec = followed(arm=CONTROL).visit("week_12", vs_sbp=sbp, vs_dbp=dbp)
    expected = [("1", "week_12_arm_2", None, "vs_sbp")] if fires else []
    assert where(findings(rec, rule="BP-VS-01")) == expected


def test_a_missing_reading_is_not_a_swapped_one() -> None:
    rec = followed().visit("week_12", vs_sbp="")
    assert findings(rec, rule="BP-VS-01") == []
