"""The dNK checks over the demo study report exactly the NK-* findings the demo seeds.

``demo/nk_trial/demo_findings.json`` was written from the protocol by reasoning, not by
running these checks, so agreement is evidence that both read the protocol the same way.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import sys
from functools import cache
from types import ModuleType

import pytest

from tests.rules.builders import PROJECT, builder, ruleset, schema
from worker.core.findings import Finding
from worker.core.records import group_rows


@cache
def demo_data() -> ModuleType:
    spec = importlib.util.spec_from_file_location("nk_demo_data", PROJECT / "demo_data.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses in the module look themselves up here
    spec.loader.exec_module(module)
    return module


def key(f: dict | Finding) -> tuple:
    d = f if isinstance(f, dict) else f.public()
    return (d["rule"], d["record"], d["event"], d["instance"], d["field"])


def run_demo(as_of: dt.date) -> tuple[list[Finding], int]:
    run = ruleset().start(as_of)
    found: list[Finding] = []
    for record in group_rows(schema(), demo_data().generate(as_of)).values():
        found.extend(run.check(builder().build(record), record))
    found.extend(run.finish())
    return found, run.check_errors


SEEDED = {
    key(f)
    for f in json.loads((PROJECT / "demo_findings.json").read_text(encoding="utf-8"))
    if f["rule"].startswith("NK-")
}


@pytest.mark.parametrize(
    "as_of", [dt.date(2026, 11, 26), dt.date(2024, 2, 29), dt.date(2031, 3, 1)]
)
def test_the_dnk_checks_report_exactly_the_seeded_findings(as_of: dt.date) -> None:
    found, errors = run_demo(as_of)
    assert errors == 0
    assert {key(f) for f in found} == SEEDED
    assert len(found) == len(SEEDED)  # no duplicates


def test_no_demo_message_quotes_a_calendar_date() -> None:
    as_of = dt.date(2026, 11, 26)
    found, _ = run_demo(as_of)
    dates = {r[k] for r in demo_data().generate(as_of) for k in r if k.endswith("_date")}
    dates.discard("")
    for finding in found:
        assert not any(d in finding.message for d in dates), finding.message
