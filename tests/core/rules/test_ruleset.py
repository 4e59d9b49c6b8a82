"""One run of a loaded ruleset (worker/core/rules/ruleset.py): findings with the check's
ID, kind, severity and place; a failing check is an error finding and the run goes on;
cross-participant checks judge at the end; the coverage ledger."""

from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path

import pytest

from tests.support.toy_study import (
    AS_OF,
    BUILDER,
    CHECKS,
    CLEAN,
    baseline,
    check_all_records,
    dose,
    load,
    month,
    places,
    record,
    rules_folder,
)


def test_the_coverage_ledger_counts_whom_each_check_ran_on_skipped_or_errored_on(
    tmp_path: Path,
) -> None:
    checks = CHECKS + textwrap.dedent(
        """
        @check("T-BROKEN", kind="deviation", severity="critical", title="Broken")
        def broken(p, as_of, params):
            if p.record_id in ("1", "2"):
                raise ZeroDivisionError("x")
            return []
        """
    )
    rules = load(rules_folder(tmp_path, checks=checks))
    recs = [record(str(k), *CLEAN) for k in (1, 2, 3)] + [record("4", baseline())]
    run, _ = check_all_records(rules, *recs)
    cover = run.coverage
    assert (cover["T-BROKEN"].ran, cover["T-BROKEN"].errored) == (2, 2)
    assert cover["T-BROKEN"].error_share == 0.5
    assert (cover["T-HEAVY"].ran, cover["T-HEAVY"].errored) == (4, 0)
    # T-CAP judged the three dosed participants; the fourth gave it nothing to judge.
    assert (cover["T-CAP"].ran, cover["T-CAP"].skipped) == (3, {"inputs blank": 1})
    # T-AE-ORDER's form has no rows for anyone.
    assert (cover["T-AE-ORDER"].ran, cover["T-AE-ORDER"].skipped) == (0, {"inputs blank": 4})


def test_a_partial_run_skips_cross_participant_checks_in_the_ledger(tmp_path: Path) -> None:
    rules = load(rules_folder(tmp_path))
    run = rules.start(AS_OF)
    for rec in (record("1", *CLEAN), record("2", baseline())):
        run.check(BUILDER.build(rec), rec)
    run.skip_cross()
    assert run.coverage["T-CAP"].ran == 0
    assert run.coverage["T-CAP"].skipped == {"partial run": 1, "inputs blank": 1}


def test_findings_carry_the_checks_id_kind_severity_and_place(tmp_path: Path) -> None:
    rules = load(rules_folder(tmp_path))
    rec = record("7", *CLEAN, dose(2, weight_kg="101"))
    _, found = check_all_records(rules, rec)
    (finding,) = found
    assert finding.public() == {
        "rule": "T-HEAVY",
        "kind": "query",
        "severity": "minor",
        "record": "7",
        "event": "dose_arm_1",
        "instrument": "visit",
        "instance": 2,
        "field": "weight_kg",
        "message": "Weight is above 100 kg.",
    }
    assert finding.evidence == {"dose_arm_1[2].weight_kg": "101"}
    assert finding.check_error is False


def test_a_hit_on_a_part_without_data_takes_its_event_from_the_mapping(tmp_path: Path) -> None:
    rules = load(rules_folder(tmp_path))
    _, found = check_all_records(rules, record("1", dose(1, visit_date="2026-02-01")))
    assert places(found) == [
        ("T-M2", "1", "m2_arm_1", None, "visit_date"),
        ("T-NO-BASELINE", "1", "baseline_arm_1", None, "visit_date"),
    ]


def test_a_failing_check_yields_an_error_finding_and_the_run_goes_on(tmp_path: Path) -> None:
    checks = CHECKS + textwrap.dedent(
        """
        @check("T-BROKEN", kind="deviation", severity="critical", title="Broken")
        def broken(p, as_of, params):
            yield at(p.doses[0], "weight_kg", "first")  # dropped: the check failed
            if p.record_id == "2":
                raise ZeroDivisionError("weight 101")
        """
    )
    rules = load(rules_folder(tmp_path, checks=checks))
    recs = [record(str(k), *CLEAN, dose(2, weight_kg="150")) for k in (1, 2, 3)]
    run, found = check_all_records(rules, *recs)
    assert run.check_errors == 1
    assert run.failed == {"2": {"T-BROKEN"}}
    errors = [f for f in found if f.check_error]
    assert [(f.rule, f.record, f.event, f.field) for f in errors] == [("T-BROKEN", "2", None, None)]
    assert "ZeroDivisionError" in errors[0].message
    assert "101" not in errors[0].message  # the exception's text may quote a value
    # The other checks ran on record 2, and the broken one on the other records.
    assert sorted((f.rule, f.record) for f in found if not f.check_error) == [
        ("T-BROKEN", "1"),
        ("T-BROKEN", "3"),
        ("T-CAP", "2"),  # three participants dosed the same day: two over the cap of 1
        ("T-CAP", "3"),
        ("T-HEAVY", "1"),
        ("T-HEAVY", "2"),
        ("T-HEAVY", "3"),
    ]


@pytest.mark.parametrize(
    ("body", "cause"),
    [
        ('yield at(p.doses[0], "weight_lbs", "x")', "CheckOutputError"),
        ('yield at(p.doses[0], "weight_kg", "Seen on 2026-02-01.")', "CheckOutputError"),
        ('yield "not a hit"', "CheckOutputError"),
        ("yield params.limits.weight_maximum", "AttributeError"),
    ],
)
def test_a_check_returning_something_unattachable_is_a_check_error(
    tmp_path: Path, body: str, cause: str
) -> None:
    checks = CHECKS + (
        '\n@check("T-ODD", kind="query", severity="minor", title="Odd")\n'
        f"def odd(p, as_of, params):\n    {body}\n"
    )
    run, found = check_all_records(load(rules_folder(tmp_path, checks=checks)), record("1", *CLEAN))
    assert run.check_errors == 1
    (error,) = found
    assert error.check_error
    assert cause in error.message


def test_cross_participant_checks_keep_a_key_per_participant_and_judge_at_the_end(
    tmp_path: Path,
) -> None:
    rules = load(rules_folder(tmp_path))
    recs = [
        record("1", *CLEAN),
        record("2", baseline(), month(1), month(2), dose(1, visit_date="2026-01-20")),
        record("3", baseline(), month(1), month(2)),  # no dose: no key
    ]
    run = rules.start(AS_OF)
    for rec in recs:
        assert run.check(BUILDER.build(rec), rec) == []
    assert run._keys["T-CAP"] == [
        ("1", ("1", date(2026, 2, 1))),
        ("2", ("2", date(2026, 1, 20))),
    ]
    assert places(run.finish()) == [("T-CAP", "1", "dose_arm_1", 1, "visit_date")]


def test_a_failing_key_is_an_error_for_that_participant(tmp_path: Path) -> None:
    checks = CHECKS.replace(
        "    dated = [", "    if p.record_id == '2':\n        raise KeyError('x')\n    dated = ["
    )
    rules = load(rules_folder(tmp_path, checks=checks))
    run, found = check_all_records(rules, record("1", *CLEAN), record("2", *CLEAN))
    assert [(f.rule, f.record, f.check_error) for f in found] == [("T-CAP", "2", True)]
    assert run.check_errors == 1


def test_a_failing_cross_check_is_an_error_for_every_participant_it_judges(
    tmp_path: Path,
) -> None:
    checks = CHECKS.replace("for record, first in sorted(", "for record, first in 1 / 0, sorted(")
    rules = load(rules_folder(tmp_path, checks=checks))
    recs = [record(str(k), *CLEAN) for k in (1, 2)] + [record("3", baseline())]
    run, found = check_all_records(rules, *recs)
    errors = [f for f in found if f.rule == "T-CAP"]
    assert [(f.record, f.check_error) for f in errors] == [("1", True), ("2", True)]
    assert run.check_errors == 2
