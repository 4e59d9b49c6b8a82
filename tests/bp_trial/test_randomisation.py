"""Randomisation (protocol: Randomisation): BP-RND-01, BP-RND-03 in Python, BP-RND-02 as
REDCap logic reading the screening visit by its arm-less name."""

from __future__ import annotations

import pytest

from tests.support.bp_trial import CONTROL, INTERVENTION, day, findings, randomised, where

ARMS = pytest.mark.parametrize("arm", [INTERVENTION, CONTROL])


@ARMS
def test_randomised_on_the_consent_day_is_not_a_deviation(arm: int) -> None:
    rec = randomised(arm=arm).screening(enr_icf_date=day(0))
    assert findings(rec, rule="BP-RND-01") == []


@ARMS
def test_randomised_the_day_before_consent_is_a_critical_deviation(arm: int) -> None:
    rec = randomised(arm=arm).screening(enr_icf_date=day(1))
    [found] = findings(rec, rule="BP-RND-01")
    assert where([found]) == [("1", f"randomisation_arm_{arm}", None, "rand_date")]
    assert found.severity == "critical"
    assert found.message == "The participant was randomised 1 day before signing informed consent."


def test_without_a_consent_date_rnd01_cannot_judge_and_says_nothing() -> None:
    # The blank consent date is DQ-REQUIRED's finding, not a guess here.
    rec = randomised().screening(enr_icf_date="")
    assert findings(rec, rule="BP-RND-01") == []


@ARMS
def test_the_allocation_of_the_records_own_arm_is_no_finding(arm: int) -> None:
    assert findings(randomised(arm=arm), rule="BP-RND-03") == []


@pytest.mark.parametrize(
    ("arm", "group", "words"),
    [
        (INTERVENTION, 2, "arm 1 (intervention), but the allocated treatment is Usual care"),
        (CONTROL, 1, "arm 2 (control), but the allocated treatment is Amlodipine 5 mg"),
    ],
)
def test_an_allocation_of_the_other_arm_is_a_critical_deviation(
    arm: int, group: int, words: str
) -> None:
    rec = randomised(arm=arm).randomisation(rand_group=group)
    [found] = findings(rec, rule="BP-RND-03")
    assert where([found]) == [("1", f"randomisation_arm_{arm}", None, "rand_group")]
    assert words in found.message


def test_a_blank_or_invalid_allocation_is_left_to_the_generic_checks() -> None:
    assert findings(randomised().randomisation(rand_group=""), rule="BP-RND-03") == []
    assert findings(randomised().randomisation(rand_group=7), rule="BP-RND-03") == []


@ARMS
def test_randomising_a_participant_screening_found_not_eligible_is_flagged_in_either_arm(
    arm: int,
) -> None:
    rec = randomised(arm=arm).screening(enr_eligible=0)
    assert where(findings(rec, rule="BP-RND-02")) == [
        ("1", f"randomisation_arm_{arm}", None, "rand_date")
    ]


def test_an_eligible_participant_or_a_screen_failure_not_randomised_is_no_rnd02() -> None:
    not_randomised = randomised("2").screening(enr_eligible=0)
    not_randomised.rows.pop(("randomisation_arm_1", "", ""))
    assert findings(randomised("1"), not_randomised, rule="BP-RND-02") == []
