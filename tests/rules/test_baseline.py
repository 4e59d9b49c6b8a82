"""The fixtures the rule tests start from fire nothing: every finding in a test is the
test's own change."""

from __future__ import annotations

from tests.support.nk_trial import findings, screened, treated


def test_a_treated_participant_on_protocol_fires_no_dnk_check() -> None:
    assert findings(treated()) == []


def test_a_screened_untreated_participant_fires_no_dnk_check() -> None:
    assert findings(screened()) == []


def test_every_check_of_the_protocol_is_declared_once() -> None:
    from tests.support.nk_trial import ruleset

    ids = [c.id for c in ruleset().checks]
    assert ids == sorted(set(ids))
    assert set(ids) == {
        *(f"NK-ELG-0{i}" for i in (1, 2)),
        *(f"NK-CON-0{i}" for i in (1, 2)),
        "NK-ENR-01",
        *(f"NK-TRT-0{i}" for i in range(1, 9)),
        *(f"NK-WIN-0{i}" for i in (1, 2, 3)),
        "NK-LAB-01",
        *(f"NK-PRG-0{i}" for i in range(1, 7)),
        *(f"NK-SAE-0{i}" for i in range(1, 5)),
        "NK-EOS-01",
    }


def test_kinds_and_severities_are_the_protocols() -> None:
    from tests.support.nk_trial import ruleset

    table = {c.id: (c.kind.value, c.severity.value) for c in ruleset().checks}
    assert table == {
        "NK-ELG-01": ("deviation", "critical"),
        "NK-ELG-02": ("deviation", "major"),
        "NK-CON-01": ("deviation", "critical"),
        "NK-CON-02": ("deviation", "critical"),
        "NK-ENR-01": ("deviation", "major"),
        "NK-TRT-01": ("deviation", "critical"),
        "NK-TRT-02": ("deviation", "critical"),
        "NK-TRT-03": ("deviation", "critical"),
        "NK-TRT-04": ("deviation", "major"),
        "NK-TRT-05": ("deviation", "major"),
        "NK-TRT-06": ("deviation", "major"),
        "NK-TRT-07": ("deviation", "major"),
        "NK-TRT-08": ("query", "major"),
        "NK-WIN-01": ("deviation", "major"),
        "NK-WIN-02": ("deviation", "major"),
        "NK-WIN-03": ("query", "minor"),
        "NK-LAB-01": ("query", "major"),
        "NK-PRG-01": ("deviation", "major"),
        "NK-PRG-02": ("query", "major"),
        "NK-PRG-03": ("query", "major"),
        "NK-PRG-04": ("query", "major"),
        "NK-PRG-05": ("query", "minor"),
        "NK-PRG-06": ("query", "major"),
        "NK-SAE-01": ("deviation", "major"),
        "NK-SAE-02": ("query", "major"),
        "NK-SAE-03": ("query", "minor"),
        "NK-SAE-04": ("query", "major"),
        "NK-EOS-01": ("query", "minor"),
    }


def test_the_checks_that_fit_redcap_logic_are_declared_as_logic_only() -> None:
    from tests.support.nk_trial import ruleset

    sources = {c.id: c.source for c in ruleset().checks}
    assert sources["NK-PRG-02"] == "logic"
    assert sources["NK-SAE-03"] == "logic"
    assert {i for i, s in sources.items() if s == "logic"} == {"NK-PRG-02", "NK-SAE-03"}
