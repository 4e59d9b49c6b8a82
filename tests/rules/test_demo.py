"""The dNK checks over the demo study report exactly the NK-* findings the demo seeds.

``demo/nk_trial/demo_findings.json`` was written from the protocol by reasoning, not by
running these checks, so agreement is evidence that both read the protocol the same way.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.support.nk_trial import builder, demo_data, ruleset, schema, seeded
from tests.support.studies import finding_key
from worker.core.findings import Finding
from worker.core.records import group_rows


def run_demo(as_of: dt.date) -> tuple[list[Finding], int]:
    run = ruleset().start(as_of)
    found: list[Finding] = []
    for record in group_rows(schema(), demo_data().generate(as_of)).values():
        found.extend(run.check(builder().build(record), record))
    found.extend(run.finish())
    return found, run.check_errors


@pytest.mark.parametrize(
    "as_of", [dt.date(2026, 11, 26), dt.date(2024, 2, 29), dt.date(2031, 3, 1)]
)
def test_the_dnk_checks_report_exactly_the_seeded_findings(as_of: dt.date) -> None:
    found, errors = run_demo(as_of)
    assert errors == 0
    assert {finding_key(f) for f in found} == seeded("NK-")
    assert len(found) == len(seeded("NK-"))  # no duplicates


def test_no_demo_message_quotes_a_calendar_date() -> None:
    as_of = dt.date(2026, 11, 26)
    found, _ = run_demo(as_of)
    dates = {r[k] for r in demo_data().generate(as_of) for k in r if k.endswith("_date")}
    dates.discard("")
    for finding in found:
        assert not any(d in finding.message for d in dates), finding.message
