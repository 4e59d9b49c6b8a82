"""Laboratory: NK-LAB-01 (status vs the reference limits CD56bright >= 50, CD49a >= 30)."""

from __future__ import annotations

import pytest

from tests.support.nk_trial import findings, screened, treated, where


@pytest.mark.parametrize(
    ("cd56", "cd49a", "status", "fires"),
    [
        ("50", "30", "1", False),  # both exactly at the limit: Normal
        ("50", "30", "2", True),
        ("49.9", "30", "1", True),  # one marker below: Abnormal
        ("49.9", "30", "2", False),
        ("50", "29.9", "1", True),
        ("80", "10", "2", False),
    ],
)
def test_lab01_status_must_follow_the_reference_limits(
    cd56: str, cd49a: str, status: str, fires: bool
) -> None:
    rec = screened().screening(mba_cd56bright_pct=cd56, mba_cd49a_pct=cd49a, mba_unk_status=status)
    found = findings(rec, rule="NK-LAB-01")
    assert where(found) == ([("1", "screening_arm_1", None, "mba_unk_status")] if fires else [])


def test_lab01_applies_to_follow_up_samples_at_their_event() -> None:
    rec = treated().fu(4, mba_cd49a_pct="28.5", mba_unk_status=1)
    found = findings(rec, rule="NK-LAB-01")
    assert where(found) == [("1", "fu_m4_arm_1", None, "mba_unk_status")]
    assert "28.5 %" in found[0].message
    assert "Abnormal" in found[0].message


@pytest.mark.parametrize(
    "blank", [{"mba_cd56bright_pct": ""}, {"mba_cd49a_pct": ""}, {"mba_unk_status": ""}]
)
def test_lab01_needs_both_markers_and_a_status(blank: dict[str, str]) -> None:
    rec = screened().screening(**({"mba_unk_status": 1} | blank))  # markers say Abnormal
    assert findings(rec, rule="NK-LAB-01") == []


def test_lab01_an_invalid_marker_counts_as_blank() -> None:
    rec = screened().screening(mba_cd56bright_pct="41,5", mba_unk_status=1)
    assert findings(rec, rule="NK-LAB-01") == []
