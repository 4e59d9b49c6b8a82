"""Study progress as the protocol's steps and outcomes count it (checks/outcomes.py)."""

from __future__ import annotations

from tests.support.nk_trial import AS_OF, Rec, day, product, ruleset, sample, screened, treated


def progress(rec: Rec) -> dict[str, int]:
    return ruleset().progress(rec.participant(), AS_OF)


def counted(rec: Rec) -> set[str]:
    return {label for label, n in progress(rec).items() if n}


def test_every_label_is_always_there_so_the_order_is_stable() -> None:
    assert list(progress(Rec("1").screening(enr_age=30))) == list(progress(treated()))
    assert all(n in (0, 1) for n in progress(treated()).values())


def test_a_screened_participant_counts_as_screened_abnormal_and_consented() -> None:
    assert counted(screened()) == {
        "Screened (menstrual blood analysis)",
        "Abnormal uNK function at screening",
        "Consented",
    }


def test_treated_improved_and_second_infusion() -> None:
    once = counted(treated())
    assert "Treated (first infusion given)" in once
    assert "Improved uNK function at a follow-up sample" in once
    assert "Second infusion given" not in once
    twice = treated().treatment(2, **product(2, 90))
    assert "Second infusion given" in counted(twice)


def test_not_improved_when_no_follow_up_sample_is_normal() -> None:
    rec = screened().treatment(1, **product(1, 0))
    for month in range(1, 7):
        rec.fu(month, **sample(month, improved=False))
    assert "Improved uNK function at a follow-up sample" not in counted(rec)


def test_pregnancy_outcomes_and_end_of_study() -> None:
    rec = (
        treated()
        .pregnancy(
            1,
            pg_attempt_start=day(180),
            pg_hcg_pos=1,
            pg_hcg_date=day(200),
            pg_lmp_date=day(186),
            pg_clinical=1,
            pg_ongoing=1,
            pg_live_birth=1,
            pg_preeclampsia=1,
            pg_fgr=0,
        )
        .eos(eos_date=day(390))
    )
    found = counted(rec)
    for label in (
        "Positive hCG",
        "Clinical pregnancy",
        "Ongoing pregnancy",
        "Live birth",
        "Ongoing pregnancy with preeclampsia",
        "Ended the study",
    ):
        assert label in found
    assert "Ongoing pregnancy with fetal growth restriction" not in found
