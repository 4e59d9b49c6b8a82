"""Treatment: NK-TRT-01 .. NK-TRT-08."""

from __future__ import annotations

import pytest

from tests.support.nk_trial import day, findings, product, sample, screened, treated, where

TREATMENT = "treatment_arm_1"


def retreated(second_day: int = 120, **changes: object) -> object:
    """Treated on D0, not improved at months 1-4, treated again on ``second_day``."""
    rec = screened().treatment(1, **product(1, 0)).treatment(2, **product(2, second_day, **changes))
    for month in range(1, 5):
        rec.fu(month, **sample(month, improved=False))
    return rec


# --- NK-TRT-01: an infusion numbered 3 or higher -------------------------------------------


def test_trt01_two_infusions_are_allowed() -> None:
    assert findings(retreated(), rule="NK-TRT-01") == []


def test_trt01_fires_on_each_infusion_numbered_3_or_higher() -> None:
    rec = retreated().treatment(3, **product(3, 150)).treatment(4, **product(4, 170))
    assert where(findings(rec, rule="NK-TRT-01")) == [
        ("1", TREATMENT, 3, "inf_date"),
        ("1", TREATMENT, 4, "inf_date"),
    ]


def test_trt01_numbers_infusions_by_date_then_instance() -> None:
    # Instance 1 is given last, so it is infusion 3; instances 2 and 3 tie on a date and
    # are numbered by instance.
    rec = (
        screened()
        .treatment(1, **product(1, 200))
        .treatment(2, **product(2, 0))
        .treatment(3, **product(3, 0))
    )
    assert where(findings(rec, rule="NK-TRT-01")) == [("1", TREATMENT, 1, "inf_date")]


def test_trt01_instances_without_inf_date_are_not_infusions() -> None:
    rec = retreated().treatment(3, pb_date=day(150)).treatment(4, inf_date="not a date")
    assert findings(rec, rule="NK-TRT-01") == []


# --- NK-TRT-02: not released, or release date blank or after inf_date ----------------------


@pytest.mark.parametrize(
    ("released", "release_date", "fires"),
    [
        ("1", day(-1), False),
        ("1", day(0), False),  # released on the day of infusion
        ("1", day(1), True),
        ("1", "", True),
        ("0", day(-1), True),
        ("", day(-1), True),
    ],
)
def test_trt02_infused_product_must_be_released_by_infusion(
    released: str, release_date: str, fires: bool
) -> None:
    rec = treated().treatment(1, cp_released=released, cp_release_date=release_date)
    found = findings(rec, rule="NK-TRT-02")
    assert where(found) == ([("1", TREATMENT, 1, "cp_released")] if fires else [])


def test_trt02_a_product_never_infused_does_not_fire() -> None:
    rec = treated().treatment(2, **product(2, 120, cp_released=0, inf_date=""))
    assert findings(rec, rule="NK-TRT-02") == []


# --- NK-TRT-03: release specification ---------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "fires"),
    [
        ("cp_viability_pct", "80", False),
        ("cp_viability_pct", "79.9", True),
        ("cp_viability_pct", "", True),
        ("cp_dnk_pct", "60", False),
        ("cp_dnk_pct", "59.9", True),
        ("cp_sterility", "2", True),
        ("cp_sterility", "3", True),
        ("cp_sterility", "", True),
        ("cp_mycoplasma", "3", True),
        ("cp_endotoxin", "0.49", False),
        ("cp_endotoxin", "0.5", True),
        ("cp_endotoxin", "", True),
        ("cp_endotoxin", "0,3", True),  # invalid number: blank, a miss
    ],
)
def test_trt03_each_release_criterion_at_its_limit(field: str, value: str, fires: bool) -> None:
    found = findings(treated().treatment(1, **{field: value}), rule="NK-TRT-03")
    assert where(found) == ([("1", TREATMENT, 1, field)] if fires else [])


def test_trt03_one_finding_listing_every_miss_at_the_first_in_protocol_order() -> None:
    rec = treated().treatment(1, cp_endotoxin="0.7", cp_mycoplasma="2", cp_dnk_pct="55")
    (finding,) = findings(rec, rule="NK-TRT-03")
    assert finding.field == "cp_dnk_pct"
    message = finding.message
    assert message.index("phenotype") < message.index("mycoplasma") < message.index("endotoxin")
    assert "55 %" in message
    assert "Positive" in message
    assert "0.7 EU/mL" in message
    assert "viability" not in message
    assert "sterility" not in message


def test_trt03_only_infused_products_are_judged() -> None:
    rec = treated().treatment(2, **product(2, 120, cp_viability_pct="10", inf_date=""))
    assert findings(rec, rule="NK-TRT-03") == []


# --- NK-TRT-04: inf_date - pb_date within 10-21 days --------------------------------------


@pytest.mark.parametrize(("culture", "fires"), [(9, True), (10, False), (21, False), (22, True)])
def test_trt04_culture_period_boundaries(culture: int, fires: bool) -> None:
    rec = treated().treatment(1, pb_date=day(-culture), cp_culture_start=day(-culture))
    found = findings(rec, rule="NK-TRT-04")
    assert where(found) == ([("1", TREATMENT, 1, "inf_date")] if fires else [])
    if fires:
        assert f"{culture} days after blood collection" in found[0].message
        assert "10–21" in found[0].message


def test_trt04_blank_pb_date_does_not_fire() -> None:
    assert findings(treated().treatment(1, pb_date=""), rule="NK-TRT-04") == []


# --- NK-TRT-05: infusion 2 needs an abnormal latest sample strictly before it --------------


def test_trt05_latest_sample_before_second_infusion_abnormal_is_fine() -> None:
    assert findings(retreated(), rule="NK-TRT-05") == []


def test_trt05_latest_sample_before_second_infusion_normal_fires() -> None:
    rec = retreated().fu(4, **sample(4, improved=True))
    found = findings(rec, rule="NK-TRT-05")
    assert where(found) == [("1", TREATMENT, 2, "inf_date")]
    assert "month 4" in found[0].message
    assert "Normal" in found[0].message


def test_trt05_blank_status_of_the_latest_sample_fires() -> None:
    rec = retreated().fu(4, mba_unk_status="")
    assert len(findings(rec, rule="NK-TRT-05")) == 1


def test_trt05_no_sample_before_second_infusion_fires() -> None:
    rec = screened().treatment(1, **product(1, 0)).treatment(2, **product(2, 20))
    assert where(findings(rec, rule="NK-TRT-05")) == [("1", TREATMENT, 2, "inf_date")]


def test_trt05_a_sample_on_the_infusion_day_is_not_before_it() -> None:
    # Month 4 (Abnormal) on the day of the second infusion does not count; month 3 is
    # the latest before it, and it is Normal.
    rec = retreated(second_day=112).fu(3, **sample(3, improved=True))
    found = findings(rec, rule="NK-TRT-05")
    assert len(found) == 1
    assert "month 3" in found[0].message


def test_trt05_latest_is_by_sample_date_then_month() -> None:
    # Months 3 and 4 share a date: month 4 is later in protocol order, and it is abnormal.
    rec = retreated().fu(3, **sample(3, 112, improved=True))
    assert findings(rec, rule="NK-TRT-05") == []


# --- NK-TRT-06: infusion 2 more than 183 days after D0 ------------------------------------


@pytest.mark.parametrize(("second_day", "fires"), [(183, False), (184, True)])
def test_trt06_second_infusion_boundary(second_day: int, fires: bool) -> None:
    found = findings(retreated(second_day), rule="NK-TRT-06")
    assert where(found) == ([("1", TREATMENT, 2, "inf_date")] if fires else [])


# --- NK-TRT-07: first infusion more than 90 days after the screening mba_date --------------


@pytest.mark.parametrize(("screening_day", "fires"), [(-90, False), (-91, True)])
def test_trt07_first_infusion_after_screening_boundary(screening_day: int, fires: bool) -> None:
    rec = treated().screening(
        mba_date=day(screening_day), icf_date=day(screening_day), enr_screen_date=day(-100)
    )
    found = findings(rec, rule="NK-TRT-07")
    assert where(found) == ([("1", TREATMENT, 1, "inf_date")] if fires else [])


def test_trt07_judges_the_first_infusion_only() -> None:
    rec = retreated(second_day=150).screening(mba_date=day(-80))
    assert findings(rec, rule="NK-TRT-07") == []


def test_trt07_blank_screening_date_does_not_fire() -> None:
    assert findings(treated().screening(mba_date=""), rule="NK-TRT-07") == []


# --- NK-TRT-08: pb_date <= cp_culture_start <= cp_harvest_date <= inf_date ----------------


@pytest.mark.parametrize(
    ("dates", "field"),
    [
        ({"cp_culture_start": day(-15)}, "cp_culture_start"),  # before pb_date (day -14)
        ({"cp_harvest_date": day(-14)}, "cp_harvest_date"),  # before culture start (day -13)
        ({"inf_date": day(-2), "cp_release_date": day(-3)}, "inf_date"),  # before harvest
        # culture start blank: harvest is still compared with pb_date
        ({"cp_culture_start": "", "cp_harvest_date": day(-15)}, "cp_harvest_date"),
    ],
)
def test_trt08_attaches_to_the_first_date_earlier_than_one_before_it(
    dates: dict[str, str], field: str
) -> None:
    found = findings(treated().treatment(1, **dates), rule="NK-TRT-08")
    assert where(found) == [("1", TREATMENT, 1, field)]


def test_trt08_equal_dates_are_in_order() -> None:
    rec = treated().treatment(1, cp_culture_start=day(-14), cp_harvest_date=day(0))
    assert findings(rec, rule="NK-TRT-08") == []


def test_trt08_one_finding_per_instance_even_with_several_disorders() -> None:
    rec = treated().treatment(1, cp_culture_start=day(-20), inf_date=day(-30))
    assert where(findings(rec, rule="NK-TRT-08")) == [("1", TREATMENT, 1, "cp_culture_start")]


def test_trt08_applies_to_instances_not_yet_infused() -> None:
    rec = treated().treatment(2, pb_date=day(100), cp_culture_start=day(99))
    assert where(findings(rec, rule="NK-TRT-08")) == [("1", TREATMENT, 2, "cp_culture_start")]
