"""Small BP-LOWER participants for the bp_trial tests, built the way the worker builds them.

A :class:`Rec` collects REDCap rows (raw strings, as the API exports them) for one record in
one arm; the rows go through ``group_rows`` and the real ``ParticipantBuilder`` from
``mappings/bp_trial.toml``, so the tests see the typed participant the checks see.

Dates are days relative to R, the randomisation date: ``day(28)`` is 28 days after.
:func:`randomised` is a participant who fires no check; each test changes what it needs.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterable
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from worker.core.findings import Finding
from worker.core.mapping import MappingSpec, ParticipantBuilder, load_mapping
from worker.core.records import RecordData, group_rows
from worker.core.rules import Ruleset, load_ruleset
from worker.core.schema import ProjectSchema

REPO = Path(__file__).resolve().parents[2]
PROJECT = REPO / "demo" / "bp_trial"
RULES = REPO / "rules" / "bp_trial"
MAPPING = REPO / "mappings" / "bp_trial.toml"
INTERVENTION, CONTROL = 1, 2

R = date(2026, 3, 2)
AS_OF = R + timedelta(days=400)  # every visit window has closed


def day(n: int) -> str:
    """The stored date ``n`` days after R."""
    return (R + timedelta(days=n)).isoformat()


def export(name: str) -> Any:
    """One of the project's REDCap API exports (``demo/bp_trial/NAME.json``)."""
    return json.loads((PROJECT / f"{name}.json").read_text(encoding="utf-8"))


@cache
def schema() -> ProjectSchema:
    return ProjectSchema.from_exports(
        project_info=export("project"),
        metadata=export("metadata"),
        events=export("events"),
        form_event_mapping=export("form_event_mapping"),
        repeating=export("repeating_forms_events"),
        instruments=export("instruments"),
    )


@cache
def mapping() -> MappingSpec:
    return load_mapping(MAPPING)


@cache
def builder() -> ParticipantBuilder:
    return ParticipantBuilder(mapping(), schema())


@cache
def ruleset() -> Ruleset:
    return load_ruleset(RULES, schema=schema(), mapping=mapping())


@cache
def demo_data() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bp_demo_data", PROJECT / "demo_data.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class Rec:
    """The rows of one record in one arm; each method sets values in one row."""

    def __init__(self, record_id: str = "1", arm: int = INTERVENTION) -> None:
        self.record_id = record_id
        self.arm = arm
        self.rows: dict[tuple[str, str, str], dict[str, str]] = {}

    def _set(self, visit: str, instrument: str, instance: str, values: dict[str, Any]) -> Rec:
        event = f"{visit}_arm_{self.arm}"
        row = self.rows.setdefault(
            (event, instrument, instance),
            {
                "record_id": self.record_id,
                "redcap_event_name": event,
                "redcap_repeat_instrument": instrument,
                "redcap_repeat_instance": instance,
            },
        )
        row.update({k: "" if v is None else str(v) for k, v in values.items()})
        return self

    def screening(self, **values: Any) -> Rec:
        return self._set("screening", "", "", values)

    def baseline(self, **values: Any) -> Rec:
        return self._set("baseline", "", "", values)

    def randomisation(self, **values: Any) -> Rec:
        return self._set("randomisation", "", "", values)

    def visit(self, visit: str, **values: Any) -> Rec:
        return self._set(visit, "", "", values)

    def ae(self, instance: int, **values: Any) -> Rec:
        return self._set("adverse_events", "adverse_event", str(instance), values)

    def eos(self, **values: Any) -> Rec:
        return self._set("end_of_study", "", "", values)

    def record(self) -> RecordData:
        return group_rows(schema(), list(self.rows.values()))[self.record_id]

    def participant(self) -> Any:
        return builder().build(self.record())


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
    run = ruleset().start(as_of)
    found: list[Finding] = []
    for rec in recs:
        found.extend(run.check(rec.participant(), rec.record()))
    found.extend(run.finish())
    assert run.check_errors == 0
    return [f for f in found if rule is None or f.rule == rule]


def where(found: Iterable[Finding]) -> list[tuple[str, str | None, int | None, str | None]]:
    """(record, event, instance, field) of each finding: where the query is raised."""
    return [(f.record, f.event, f.instance, f.field) for f in found]
