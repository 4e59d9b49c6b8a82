"""Follow-up windows: NK-WIN-01, NK-WIN-02, NK-WIN-03, and the visit schedule behind them."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from tests.support.examples import examples
from tests.support.nk_trial import (
    D0,
    Rec,
    day,
    findings,
    product,
    ruleset,
    sample,
    screened,
    treated,
    where,
)
from worker.core.visits import VisitStatus


def on(n: int) -> date:
    return D0 + timedelta(days=n)


def statuses(rec: Rec, as_of: date) -> dict[int, VisitStatus]:
    return {row.ordinal: row.status for row in ruleset().schedule(rec.participant(), as_of)}


# --- NK-WIN-01: a sample of month k dated outside the window of month k -------------------


@pytest.mark.parametrize(
    ("offset", "fires"), [(-8, True), (-7, False), (0, False), (7, False), (8, True)]
)
def test_win01_window_edges_are_target_plus_minus_7_included(offset: int, fires: bool) -> None:
    rec = treated().fu(2, mba_date=day(56 + offset))
    found = findings(rec, rule="NK-WIN-01")
    assert where(found) == ([("1", "fu_m2_arm_1", None, "mba_date")] if fires else [])


def test_win01_message_speaks_in_days_after_the_first_infusion() -> None:
    (finding,) = findings(treated().fu(2, mba_date=day(48)), rule="NK-WIN-01")
    assert finding.message == (
        "Sample for month 2 taken on day 48 after the first infusion; window is days 49–63."
    )
    assert finding.evidence == {
        "treatment_arm_1[1].inf_date": day(0),
        "fu_m2_arm_1[].mba_date": day(48),
    }


def test_win01_d0_is_the_earliest_infusion_whatever_its_instance() -> None:
    rec = screened().treatment(1, **product(1, 100)).treatment(2, **product(2, 0))
    rec.fu(1, **sample(1))
    assert findings(rec, rule="NK-WIN-01") == []


def test_win01_needs_treatment_and_a_valid_sample_date() -> None:
    assert findings(screened().fu(1, mba_date=day(5)), rule="NK-WIN-01") == []
    assert findings(treated().fu(1, mba_date="2026-13-01"), rule="NK-WIN-01") == []


# --- NK-WIN-02: the window ended before the as-of date and month k has no mba_date ---------


def test_win02_fires_the_day_after_the_window_closes() -> None:
    rec = treated().drop_fu(2)
    last_day = 56 + 7
    assert findings(rec, rule="NK-WIN-02", as_of=on(last_day)) == []
    found = findings(rec, rule="NK-WIN-02", as_of=on(last_day + 1))
    assert where(found) == [("1", "fu_m2_arm_1", None, "mba_date")]
    assert "month 2" in found[0].message
    assert "days 49–63" in found[0].message


def test_win02_a_form_without_mba_date_is_a_missing_sample() -> None:
    rec = treated().fu(3, mba_date="", mba_comment="patient travelling")
    assert where(findings(rec, rule="NK-WIN-02")) == [("1", "fu_m3_arm_1", None, "mba_date")]


def test_win02_fires_for_every_month_when_no_sample_at_all() -> None:
    found = findings(treated(months=()), rule="NK-WIN-02")
    assert [f.event for f in found] == [f"fu_m{k}_arm_1" for k in range(1, 7)]


@pytest.mark.parametrize(("eos_day", "fires"), [(63, False), (64, True)])
def test_win02_not_when_she_had_ended_on_or_before_the_windows_last_day(
    eos_day: int, fires: bool
) -> None:
    rec = treated(months=(1,)).eos(eos_date=day(eos_day), eos_status=2)
    found = findings(rec, rule="NK-WIN-02")
    # Month 2's window is days 49-63; months 3-6 come after the end of study either way.
    assert where(found) == ([("1", "fu_m2_arm_1", None, "mba_date")] if fires else [])


@pytest.mark.parametrize(
    ("pregnancy", "fires"),
    [
        ({"pg_lmp_date": day(63)}, False),  # dated on the window's last day: pregnant
        ({"pg_lmp_date": day(64)}, True),  # dated after the window
        ({"pg_lmp_date": day(0), "pg_end_date": day(49)}, False),  # ended on its first day
        ({"pg_lmp_date": day(0), "pg_end_date": day(48)}, True),  # ended before it
        ({"pg_lmp_date": "", "pg_hcg_date": day(60)}, False),  # hCG date when no LMP
        ({"pg_lmp_date": day(40), "pg_hcg_pos": 0}, True),  # hCG negative: not pregnant
        ({"pg_lmp_date": "", "pg_hcg_date": ""}, True),  # no dating date
    ],
)
def test_win02_not_when_she_was_pregnant_during_the_window(
    pregnancy: dict[str, str], fires: bool
) -> None:
    values = {"pg_attempt_start": day(30), "pg_hcg_date": day(70), "pg_hcg_pos": 1} | pregnancy
    rec = treated(months=(1,)).pregnancy(1, **values)
    found = findings(rec, rule="NK-WIN-02")
    assert ("fu_m2_arm_1" in [f.event for f in found]) is fires


def test_win02_untreated_participants_have_no_windows() -> None:
    assert findings(screened(), rule="NK-WIN-02") == []


# --- NK-WIN-03: consecutive samples less than 14 days apart -------------------------------


@pytest.mark.parametrize(("gap", "fires"), [(13, True), (14, False)])
def test_win03_consecutive_samples_14_days_apart_are_fine(gap: int, fires: bool) -> None:
    rec = treated().fu(2, mba_date=day(28 + gap))
    found = findings(rec, rule="NK-WIN-03")
    assert where(found) == ([("1", "fu_m2_arm_1", None, "mba_date")] if fires else [])


def test_win03_attaches_to_the_later_sample_by_date_not_by_month() -> None:
    # Month 3 dated before month 2: in date order month 3 comes first, month 2 is later.
    rec = treated().fu(3, mba_date=day(50)).fu(2, mba_date=day(55))
    found = findings(rec, rule="NK-WIN-03")
    assert ("1", "fu_m2_arm_1", None, "mba_date") in where(found)


def test_win03_same_date_orders_by_month() -> None:
    rec = treated().fu(2, mba_date=day(84))  # the same day as month 3
    found = findings(rec, rule="NK-WIN-03")
    assert where(found) == [("1", "fu_m3_arm_1", None, "mba_date")]


def test_win03_only_consecutive_pairs_count() -> None:
    # Months 1, 2 and 3 ten days apart each: two findings (2 after 1, 3 after 2), not three.
    rec = treated().fu(1, mba_date=day(40)).fu(2, mba_date=day(50)).fu(3, mba_date=day(60))
    assert [f.event for f in findings(rec, rule="NK-WIN-03")] == ["fu_m2_arm_1", "fu_m3_arm_1"]


# --- The schedule: statuses at their boundaries -------------------------------------------


def test_schedule_of_an_untreated_participant_is_empty() -> None:
    assert ruleset().schedule(screened().participant(), on(100)) == []


def test_schedule_lists_six_months_with_targets_and_windows() -> None:
    rows = ruleset().schedule(treated().participant(), on(400))
    assert [(r.visit, r.event, r.target_day, r.start_day, r.end_day) for r in rows] == [
        (f"month {k}", f"fu_m{k}_arm_1", 28 * k, 28 * k - 7, 28 * k + 7) for k in range(1, 7)
    ]
    assert {r.status for r in rows} == {VisitStatus.IN_WINDOW}


@pytest.mark.parametrize(
    ("as_of_day", "status"),
    [
        (41, VisitStatus.UPCOMING),  # the day before month 2's window opens (day 49 - 8)
        (48, VisitStatus.UPCOMING),
        (49, VisitStatus.DUE),  # the window's first day
        (63, VisitStatus.DUE),  # its last day
        (64, VisitStatus.MISSED),
    ],
)
def test_schedule_status_of_a_month_without_sample(as_of_day: int, status: VisitStatus) -> None:
    rec = treated(months=(1,))
    assert statuses(rec, on(as_of_day))[2] is status


def test_schedule_status_of_a_sample_in_and_out_of_window() -> None:
    rec = treated().fu(2, mba_date=day(48)).fu(3, mba_date=day(91))
    got = statuses(rec, on(400))
    assert got[2] is VisitStatus.OUT_OF_WINDOW
    assert got[3] is VisitStatus.IN_WINDOW


def reasons(rec: Rec, as_of: date) -> dict[int, str]:
    """Each month's status as people read it, with the study's reason where not expected."""
    return {row.ordinal: row.status_text for row in ruleset().schedule(rec.participant(), as_of)}


def test_schedule_not_expected_when_ended_or_pregnant() -> None:
    rec = treated(months=(1,)).eos(eos_date=day(63), eos_status=3)
    assert statuses(rec, on(400))[2] is VisitStatus.NOT_EXPECTED
    assert reasons(rec, on(400))[2] == "not expected: ended"
    rec = treated(months=(1,)).pregnancy(1, pg_hcg_pos=1, pg_lmp_date=day(50))
    assert reasons(rec, on(400))[2] == "not expected: pregnant"
    # Upcoming windows of a pregnancy still going are not expected either.
    assert reasons(rec, on(60))[4] == "not expected: pregnant"
    # A visit with a sample or still to come has no reason.
    assert reasons(rec, on(60))[1] == "in window"


# --- The checks and the schedule agree, whatever the data ---------------------------------


follow_up_dates = st.dictionaries(
    st.integers(1, 6), st.one_of(st.integers(0, 220), st.none()), max_size=6
)


@examples(150, suppress_health_check=[HealthCheck.too_slow])
@given(
    samples=follow_up_dates,
    eos_day=st.one_of(st.none(), st.integers(0, 220)),
    lmp_day=st.one_of(st.none(), st.integers(0, 220)),
    end_day=st.one_of(st.none(), st.integers(0, 220)),
    as_of_day=st.integers(0, 260),
)
def test_win01_and_win02_fire_exactly_where_the_schedule_says(
    samples: dict[int, int | None],
    eos_day: int | None,
    lmp_day: int | None,
    end_day: int | None,
    as_of_day: int,
) -> None:
    rec = screened().treatment(1, **product(1, 0))
    for month, when in samples.items():
        rec.fu(month, mba_date="" if when is None else day(when), mba_cycle_day=2)
    if eos_day is not None:
        rec.eos(eos_date=day(eos_day), eos_status=1)
    if lmp_day is not None:
        end = None if end_day is None else day(end_day)
        rec.pregnancy(1, pg_hcg_pos=1, pg_lmp_date=day(lmp_day), pg_end_date=end)
    as_of = on(as_of_day)
    rows = ruleset().schedule(rec.participant(), as_of)
    found = findings(rec, as_of=as_of)

    def fired(rule: str) -> set[str | None]:
        return {f.event for f in found if f.rule == rule}

    assert fired("NK-WIN-01") == {r.event for r in rows if r.status is VisitStatus.OUT_OF_WINDOW}
    assert fired("NK-WIN-02") == {r.event for r in rows if r.status is VisitStatus.MISSED}
    # And the window is what the protocol says, independently of the schedule's code.
    for r in rows:
        month = int(r.visit.split()[1])
        assert (r.start_day, r.target_day, r.end_day) == (
            28 * month - 7,
            28 * month,
            28 * month + 7,
        )
        if r.sample_date is not None:
            inside = 28 * month - 7 <= r.sample_day <= 28 * month + 7  # type: ignore[operator]
            assert (r.status is VisitStatus.IN_WINDOW) is inside
