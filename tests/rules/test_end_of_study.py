"""End of study: NK-EOS-01 (an mba_date or inf_date later than eos_date)."""

from __future__ import annotations

from tests.support.nk_trial import day, findings, product, treated, where


def test_eos01_dates_on_the_end_day_are_fine() -> None:
    rec = treated(months=(1, 2)).eos(eos_date=day(56), eos_status=2)
    assert findings(rec, rule="NK-EOS-01") == []


def test_eos01_one_finding_per_later_date_at_its_event_instance_and_field() -> None:
    rec = treated(months=(1, 2, 3)).treatment(2, **product(2, 70)).eos(eos_date=day(55))
    assert where(findings(rec, rule="NK-EOS-01")) == [
        ("1", "fu_m2_arm_1", None, "mba_date"),
        ("1", "fu_m3_arm_1", None, "mba_date"),
        ("1", "treatment_arm_1", 2, "inf_date"),
    ]


def test_eos01_includes_the_screening_analysis() -> None:
    rec = treated(months=()).eos(eos_date=day(-50))
    found = findings(rec, rule="NK-EOS-01")
    assert ("1", "screening_arm_1", None, "mba_date") in where(found)
    assert all("after the end of study" in f.message for f in found)


def test_eos01_blank_end_date_does_not_fire() -> None:
    assert findings(treated().eos(eos_status=1), rule="NK-EOS-01") == []
