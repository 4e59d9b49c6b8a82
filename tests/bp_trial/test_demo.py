"""The BP-LOWER checks and the generic checks over the demo report exactly the findings the
demo seeds (in-process, every as-of date).

``demo/bp_trial/demo_findings.json`` was written from the protocol by reasoning, not by
running these checks, so agreement is evidence that both read the protocol the same way.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.support.bp_trial import ORACLE, builder, demo_data, ruleset, schema
from tests.support.studies import finding_key
from worker.core.findings import Finding
from worker.core.generic_checks import GenericChecker
from worker.core.records import group_rows


def run_demo(as_of: dt.date) -> tuple[list[Finding], int]:
    run = ruleset().start(as_of)
    generic = GenericChecker(schema(), exclude_forms=["data_query"])
    found: list[Finding] = []
    for record in group_rows(schema(), demo_data().generate(as_of)).values():
        found.extend(run.check(builder().build(record), record))
        found.extend(generic.check(record, as_of))
    found.extend(run.finish())
    return found, run.check_errors


@pytest.mark.parametrize(
    "as_of", [dt.date(2026, 11, 26), dt.date(2024, 2, 29), dt.date(2031, 3, 1)]
)
def test_the_checks_report_exactly_the_seeded_findings(as_of: dt.date) -> None:
    found, errors = run_demo(as_of)
    assert errors == 0
    assert {finding_key(f) for f in found} == {finding_key(f) for f in ORACLE}
    assert len(found) == len(ORACLE)


def test_the_demo_seeds_every_check_and_both_arms() -> None:
    rules = {f["rule"] for f in ORACLE}
    ids = {c.info.id for c in ruleset().python_checks} | {r.info.id for r in ruleset().logic_rules}
    assert ids <= rules
    assert {"DQ-REQUIRED", "DQ-TYPE", "DQ-RANGE", "DQ-CHOICE", "DQ-HIDDEN"} <= rules
    assert {f["event"].rsplit("_arm_", 1)[1] for f in ORACLE if f["rule"].startswith("BP-")} == {
        "1",
        "2",
    }


def test_every_visit_status_occurs_in_the_demo() -> None:
    as_of = dt.date(2026, 11, 26)
    rs = ruleset()
    seen = set()
    for record in group_rows(schema(), demo_data().generate(as_of)).values():
        seen |= {r.status_text for r in rs.schedule(builder().build(record), as_of)}
    assert seen == {
        "in window",
        "out of window",
        "missed",
        "due now",
        "upcoming",
        "not expected: ended",
    }


def test_no_demo_message_quotes_a_calendar_date() -> None:
    as_of = dt.date(2026, 11, 26)
    found, _ = run_demo(as_of)
    dates = {v for r in demo_data().generate(as_of) for k, v in r.items() if "date" in k and v}
    for finding in found:
        assert not any(d in finding.message for d in dates), finding.message


def test_the_demo_scales_for_benchmarks() -> None:
    rows = demo_data().generate(dt.date(2026, 11, 26), participants=40)
    assert len({r["record_id"] for r in rows}) == 40
