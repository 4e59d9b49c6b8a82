"""The BP-LOWER checks and the generic checks over the demo report exactly the findings the
demo seeds (in-process, every as-of date).

``demo/bp_trial/demo_findings.json`` was written from the protocol by reasoning, not by
running these checks, so agreement is evidence that both read the protocol the same way.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tests.bp_trial.builders import PROJECT, builder, demo_data, ruleset, schema
from worker.core.findings import Finding
from worker.core.generic_checks import GenericChecker
from worker.core.records import group_rows

ORACLE = json.loads((PROJECT / "demo_findings.json").read_text(encoding="utf-8"))


def key(f: dict | Finding) -> tuple:
    d = f if isinstance(f, dict) else f.public()
    return (d["rule"], d["record"], d["event"], d["instance"], d["field"])


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
    assert {key(f) for f in found} == {key(f) for f in ORACLE}
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
