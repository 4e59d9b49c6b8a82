"""Small BP-LOWER participants for the bp_trial tests, built the way the worker builds them.

A :class:`Rec` is a record of the BP-LOWER project in one arm (see tests/support/studies.py).

Dates are days relative to R, the randomisation date: ``day(28)`` is 28 days after.
:func:`randomised` is a participant who fires no check; each test changes what it needs.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from tests.support.projects import project_export
from tests.support.studies import BundledStudy, StudyRecord
from tests.support.studies import finding_key as finding_key
from tests.support.studies import where as where
from worker.core.findings import Finding

BP_TRIAL = BundledStudy("bp_trial")
PROJECT, RULES, MAPPING = BP_TRIAL.project, BP_TRIAL.rules, BP_TRIAL.mapping_file
schema, mapping, builder, ruleset = (
    BP_TRIAL.schema,
    BP_TRIAL.mapping,
    BP_TRIAL.builder,
    BP_TRIAL.ruleset,
)
demo_data = BP_TRIAL.demo_data
# The findings the demo seeds, written from the protocol by reasoning.
ORACLE = json.loads((PROJECT / "demo_findings.json").read_text(encoding="utf-8"))
INTERVENTION, CONTROL = 1, 2

R = date(2026, 3, 2)
AS_OF = R + timedelta(days=400)  # every visit window has closed


def day(n: int) -> str:
    """The stored date ``n`` days after R."""
    return (R + timedelta(days=n)).isoformat()


def export(name: str) -> Any:
    """One of the project's REDCap API exports (``demo/bp_trial/NAME.json``)."""
    return project_export(PROJECT, name)


class Rec(StudyRecord):
    """A BP-LOWER record in one arm; each method sets values in one row."""

    study = BP_TRIAL

    def __init__(self, record_id: str = "1", arm: int = INTERVENTION) -> None:
        super().__init__(record_id)
        self.arm = arm

    def at(self, visit: str, instrument: str, instance: str, values: dict[str, Any]) -> Rec:
        return self._set(f"{visit}_arm_{self.arm}", instrument, instance, values)

    def screening(self, **values: Any) -> Rec:
        return self.at("screening", "", "", values)

    def baseline(self, **values: Any) -> Rec:
        return self.at("baseline", "", "", values)

    def randomisation(self, **values: Any) -> Rec:
        return self.at("randomisation", "", "", values)

    def visit(self, visit: str, **values: Any) -> Rec:
        return self.at(visit, "", "", values)

    def ae(self, instance: int, **values: Any) -> Rec:
        return self.at("adverse_events", "adverse_event", str(instance), values)

    def eos(self, **values: Any) -> Rec:
        return self.at("end_of_study", "", "", values)


def vitals(on: int, sbp: int = 138, dbp: int = 84) -> dict[str, Any]:
    return {"vs_date": day(on), "vs_sbp": sbp, "vs_dbp": dbp, "vs_hr": 70}


def screened(record_id: str = "1", arm: int = INTERVENTION, *, eligible: int = 1) -> Rec:
    """Screened and consented 14 days before R with uncontrolled blood pressure."""
    return Rec(record_id, arm).screening(
        enr_date=day(-14),
        enr_age=61,
        enr_icf_date=day(-14),
        enr_eligible=eligible,
        **vitals(-14, 158, 96),
    )


def randomised(record_id: str = "1", arm: int = INTERVENTION) -> Rec:
    """Randomised on R to her arm's treatment after a baseline the day before; no visits."""
    return (
        screened(record_id, arm)
        .baseline(**vitals(-1, 154, 93))
        .randomisation(rand_date=day(0), rand_group=arm, rand_number=f"BP-{record_id}")
    )


TARGET = {"week_4": 28, "week_12": 84, "week_24": 168}


def followed(record_id: str = "1", arm: int = INTERVENTION) -> Rec:
    """Randomised, every visit of her arm on its target day: fires no check at AS_OF."""
    rec = randomised(record_id, arm)
    for visit, target in TARGET.items():
        if visit != "week_4" or arm == INTERVENTION:
            rec.visit(visit, **vitals(target))
    return rec


def findings(*recs: Rec, rule: str | None = None, as_of: date = AS_OF) -> list[Finding]:
    """Every BP-LOWER study finding on these records."""
    return BP_TRIAL.findings(recs, rule, as_of)
