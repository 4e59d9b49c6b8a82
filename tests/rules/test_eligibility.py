"""Eligibility, consent, enrollment: NK-ELG-01, NK-ELG-02, NK-CON-01, NK-CON-02, NK-ENR-01."""

from __future__ import annotations

import pytest

from tests.support.nk_trial import Rec, day, findings, product, screened, treated, where

SCREENING = "screening_arm_1"


# --- NK-ELG-01: treated, and the screening mba_unk_status is not 2 (Abnormal) -------------


@pytest.mark.parametrize(("status", "fires"), [("2", False), ("1", True), ("", True), ("7", True)])
def test_elg01_treated_needs_abnormal_screening_status(status: str, fires: bool) -> None:
    # blank fires ("blank included"); "7" is not a code, so it counts as blank.
    found = findings(treated().screening(mba_unk_status=status), rule="NK-ELG-01")
    assert where(found) == ([("1", SCREENING, None, "mba_unk_status")] if fires else [])


def test_elg01_untreated_participant_does_not_fire() -> None:
    assert findings(screened().screening(mba_unk_status=1), rule="NK-ELG-01") == []


def test_elg01_a_treatment_instance_without_inf_date_is_not_treatment() -> None:
    rec = screened().screening(mba_unk_status=1).treatment(1, pb_date=day(-14))
    assert findings(rec, rule="NK-ELG-01") == []


def test_elg01_fires_at_screening_even_without_a_screening_row() -> None:
    rec = Rec().treatment(1, **product(1, 0))
    assert where(findings(rec, rule="NK-ELG-01")) == [("1", SCREENING, None, "mba_unk_status")]


def test_elg01_message_names_the_status_in_words_and_evidence_holds_the_value() -> None:
    (finding,) = findings(treated().screening(mba_unk_status=1), rule="NK-ELG-01")
    assert "Normal" in finding.message
    assert finding.instrument == "menstrual_blood_analysis"
    assert finding.evidence == {"screening_arm_1[].mba_unk_status": "1"}


# --- NK-ELG-02: treated, and enr_fertility_need is not 1 ----------------------------------


@pytest.mark.parametrize(("need", "fires"), [("1", False), ("0", True), ("", True), ("2", True)])
def test_elg02_treated_needs_a_fertility_need(need: str, fires: bool) -> None:
    found = findings(treated().screening(enr_fertility_need=need), rule="NK-ELG-02")
    assert where(found) == ([("1", SCREENING, None, "enr_fertility_need")] if fires else [])


def test_elg02_untreated_does_not_fire() -> None:
    assert findings(screened().screening(enr_fertility_need=0), rule="NK-ELG-02") == []


# --- NK-CON-01: a pb_date, and icf_signed is not 1 or icf_date is blank -------------------


@pytest.mark.parametrize(
    ("signed", "signed_on", "fires"),
    [
        ("1", day(-40), False),
        ("0", day(-40), True),
        ("", day(-40), True),
        ("1", "", True),
        ("1", "2026-02-30", True),  # invalid date counts as blank
    ],
)
def test_con01_blood_collection_needs_documented_consent(
    signed: str, signed_on: str, fires: bool
) -> None:
    rec = screened().screening(icf_signed=signed, icf_date=signed_on).treatment(1, pb_date=day(-14))
    found = findings(rec, rule="NK-CON-01")
    assert where(found) == ([("1", SCREENING, None, "icf_signed")] if fires else [])


def test_con01_without_blood_collection_does_not_fire() -> None:
    rec = screened().screening(icf_signed=0).treatment(1, cp_culture_start=day(-13))
    assert findings(rec, rule="NK-CON-01") == []


# --- NK-CON-02: pb_date earlier than icf_date, one finding per instance --------------------


def test_con02_fires_on_each_instance_collected_before_consent() -> None:
    rec = (
        screened()
        .screening(icf_date=day(-20))
        .treatment(1, **product(1, 0, pb_date=day(-21)))  # a day before consent: fires
        .treatment(2, pb_date=day(-20))  # the day of consent: fine
        .treatment(3, pb_date=day(-30))  # fires
    )
    found = findings(rec, rule="NK-CON-02")
    assert where(found) == [
        ("1", "treatment_arm_1", 1, "pb_date"),
        ("1", "treatment_arm_1", 3, "pb_date"),
    ]
    assert "1 day before informed consent" in found[0].message


def test_con02_blank_consent_date_does_not_fire() -> None:
    rec = treated().screening(icf_date="")
    assert findings(rec, rule="NK-CON-02") == []


# --- NK-ENR-01: treated participants ordered by D0 (ties: record ID), after the 14th -------


def cohort(size: int) -> list[Rec]:
    """``size`` treated participants, record k first infused on day k."""
    return [screened(str(k)).treatment(1, **product(1, k)) for k in range(1, size + 1)]


def test_enr01_the_14th_treated_participant_does_not_fire() -> None:
    assert findings(*cohort(14), rule="NK-ENR-01") == []


def test_enr01_the_15th_treated_participant_fires_at_her_first_infusion() -> None:
    found = findings(*cohort(15), rule="NK-ENR-01")
    assert where(found) == [("15", "treatment_arm_1", 1, "inf_date")]
    assert found[0].message == (
        "She is treated participant number 15 in order of first infusion; the protocol enrolls 14."
    )


def test_enr01_orders_by_first_infusion_not_by_record_id() -> None:
    recs = cohort(15)
    # Record 1 is now infused last, so she is the 15th treated.
    recs[0] = screened("1").treatment(1, **product(1, 100))
    assert where(findings(*recs, rule="NK-ENR-01")) == [("1", "treatment_arm_1", 1, "inf_date")]


def test_enr01_attaches_to_the_instance_of_her_first_infusion() -> None:
    recs = cohort(14)
    late = screened("99").treatment(1, **product(1, 300)).treatment(2, **product(2, 50))
    assert where(findings(*recs, late, rule="NK-ENR-01")) == [
        ("99", "treatment_arm_1", 2, "inf_date")
    ]


def test_enr01_ties_on_d0_are_broken_by_record_id_as_integers() -> None:
    # 14 participants on day 1, then "9" and "10" on the same day: 10 > 9 as integers.
    recs = [screened(str(k)).treatment(1, **product(1, 1)) for k in range(100, 114)]
    recs += [screened(r).treatment(1, **product(1, 5)) for r in ("10", "9")]
    assert where(findings(*recs, rule="NK-ENR-01")) == [
        ("9", "treatment_arm_1", 1, "inf_date"),
        ("10", "treatment_arm_1", 1, "inf_date"),
    ]
    # Found in D0 order: "9" is the 15th, "10" the 16th.


def test_enr01_ties_on_d0_compare_as_text_when_an_id_is_not_an_integer() -> None:
    recs = [screened(str(k)).treatment(1, **product(1, 1)) for k in range(100, 114)]
    recs += [screened(r).treatment(1, **product(1, 5)) for r in ("9", "10-A")]
    found = findings(*recs, rule="NK-ENR-01")
    # As text "10-A" < "9": "10-A" is the 15th, "9" the 16th.
    assert [(f.record, "number 15 " in f.message) for f in found] == [("10-A", True), ("9", False)]


def test_enr01_untreated_participants_do_not_count() -> None:
    recs = [*cohort(14), screened("50"), screened("51").treatment(1, pb_date=day(0))]
    assert findings(*recs, rule="NK-ENR-01") == []
