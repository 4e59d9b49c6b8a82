"""The framework's study tally: progress added up per site, visit rows kept as asked, a
participant's failure isolated, and the participant built once (an observer of the run)."""

from __future__ import annotations

from dataclasses import replace

from tests.support.nk_trial import AS_OF, ruleset, screened, treated
from worker.core.rules.tally import StudyTally
from worker.core.visits import VisitStatus


def observe(tally: StudyTally, *recs) -> None:
    for rec in recs:
        tally.observe(rec.participant(), AS_OF)


def test_progress_is_added_up_in_the_rules_folders_order() -> None:
    tally = StudyTally(ruleset())
    observe(tally, treated("1"), treated("2"), screened("3"))
    progress = dict(tally.progress())
    assert progress["Screened (menstrual blood analysis)"] == 3
    assert progress["Treated (first infusion given)"] == 2
    assert tally.progress()[0] == ("Screened (menstrual blood analysis)", 3)
    assert tally.participants == 3
    assert tally.scheduled == 2  # only the treated have a visit schedule


def test_progress_per_data_access_group() -> None:
    tally = StudyTally(ruleset())
    a, b = treated("1").participant(), treated("2").participant()
    tally.observe(a.model_copy(update={"data_access_group": "site_a"}), AS_OF)
    tally.observe(b, AS_OF)
    assert dict(tally.progress("site_a"))["Treated (first infusion given)"] == 1
    assert dict(tally.progress(None))["Treated (first infusion given)"] == 2
    assert dict(tally.progress("site_z")) == dict.fromkeys(dict(tally.progress()), 0)


def test_only_the_visit_rows_asked_for_are_kept() -> None:
    tally = StudyTally(ruleset(), keep_visit=lambda row: row.status is VisitStatus.MISSED)
    observe(tally, treated("1", months=[1, 2, 4, 5, 6]))
    assert [(r.record, r.visit) for r in tally.visits] == [("1", "month 3")]


def test_a_failing_hook_is_isolated_to_its_participant() -> None:
    def broken(p, as_of, params):
        if p.record_id == "2":
            raise ValueError("boom")
        return {"Seen": 1}

    tally = StudyTally(replace(ruleset(), progress_fn=broken))
    observe(tally, treated("1"), treated("2"), treated("3"))
    assert tally.errors == ["2"]
    assert tally.progress() == [("Seen", 2)]


def test_the_run_shows_each_participant_to_its_observers_and_survives_their_failure() -> None:
    seen: list[str] = []
    shown: list[list[str]] = []

    def observer(p, as_of, visits) -> None:
        seen.append(p.record_id)
        shown.append([row.visit for row in visits.rows])  # the rows the checks judged
        raise RuntimeError("an observer's bug")

    rules = ruleset().observed_by(observer)
    run = rules.start(AS_OF)
    for rec in (treated("1"), treated("2")):
        assert run.check(rec.participant(), rec.record()) == []
    assert seen == ["1", "2"]
    assert shown == [[f"month {k}" for k in range(1, 7)]] * 2
    assert run.check_errors == 0
    assert ruleset().observers == ()  # observed_by returns a new ruleset
