"""Small dNK participants for the rule tests, built the way the worker builds them.

A :class:`Rec` is a record of the dNK project (see tests/support/studies.py).

Dates are written as days relative to D0, the first infusion: ``day(28)`` is 28 days after.
:func:`treated` is a participant who fires no dNK check; each test changes what it needs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from tests.support.studies import BundledStudy, StudyRecord
from tests.support.studies import finding_key as finding_key
from tests.support.studies import where as where
from worker.core.findings import Finding

NK_TRIAL = BundledStudy("nk_trial")
PROJECT, RULES, MAPPING = NK_TRIAL.project, NK_TRIAL.rules, NK_TRIAL.mapping_file
schema, mapping, builder, ruleset, study = (
    NK_TRIAL.schema,
    NK_TRIAL.mapping,
    NK_TRIAL.builder,
    NK_TRIAL.ruleset,
    NK_TRIAL.study,
)
demo_data = NK_TRIAL.demo_data
# The findings the demo seeds (generic and NK-*), written from the protocol by reasoning.
SEEDED = json.loads((PROJECT / "demo_findings.json").read_text(encoding="utf-8"))

D0 = date(2026, 3, 2)
AS_OF = D0 + timedelta(days=400)  # every follow-up window has closed


def day(n: int) -> str:
    """The stored date ``n`` days after D0."""
    return (D0 + timedelta(days=n)).isoformat()


class Rec(StudyRecord):
    """A dNK record; each method sets values in one row and returns the record."""

    study = NK_TRIAL

    def screening(self, **values: Any) -> Rec:
        return self._set("screening_arm_1", "", "", values)

    def treatment(self, instance: int, **values: Any) -> Rec:
        return self._set("treatment_arm_1", "", str(instance), values)

    def fu(self, month: int, **values: Any) -> Rec:
        return self._set(f"fu_m{month}_arm_1", "", "", values)

    def pregnancy(self, instance: int, **values: Any) -> Rec:
        return self._set("pregnancy_arm_1", "pregnancy", str(instance), values)

    def ae(self, instance: int, **values: Any) -> Rec:
        return self._set("safety_arm_1", "adverse_event", str(instance), values)

    def eos(self, **values: Any) -> Rec:
        return self._set("end_of_study_arm_1", "", "", values)

    def drop_fu(self, month: int) -> Rec:
        self.rows.pop((f"fu_m{month}_arm_1", "", ""), None)
        return self


def screened(record_id: str = "1") -> Rec:
    """Eligible, consented, screened with abnormal uNK function; not treated."""
    return Rec(record_id).screening(
        enr_screen_date=day(-40),
        enr_age=31,
        enr_indication=1,
        enr_fertility_need=1,
        icf_signed=1,
        icf_date=day(-40),
        icf_version=2,
        mba_date=day(-40),
        mba_cycle_day=2,
        mba_cd56bright_pct=41.5,
        mba_cd49a_pct=22.0,
        mba_unk_status=2,
    )


def product(instance: int, infusion_day: int, **changes: Any) -> dict[str, Any]:
    """A treatment instance that is released within specification, 14 days of culture."""
    values: dict[str, Any] = {
        "pb_date": day(infusion_day - 14),
        "pb_volume_ml": 60,
        "cp_culture_start": day(infusion_day - 13),
        "cp_harvest_date": day(infusion_day - 1),
        "cp_cell_count": 120,
        "cp_viability_pct": 92.5,
        "cp_dnk_pct": 71.0,
        "cp_sterility": 1,
        "cp_mycoplasma": 1,
        "cp_endotoxin": 0.12,
        "cp_released": 1,
        "cp_release_date": day(infusion_day - 1),
        "inf_date": day(infusion_day),
        "inf_dose": 50,
        "inf_volume_ml": 1.5,
        "inf_completed": 1,
    }
    values.update(changes)
    return values


def sample(month: int, sample_day: int | None = None, *, improved: bool = True) -> dict[str, Any]:
    """A follow-up MBA on its target day (or ``sample_day``), consistent with the limits."""
    markers = (62.0, 41.0) if improved else (38.0, 21.0)
    return {
        "mba_date": day(28 * month if sample_day is None else sample_day),
        "mba_cycle_day": 3,
        "mba_cd56bright_pct": markers[0],
        "mba_cd49a_pct": markers[1],
        "mba_unk_status": 1 if improved else 2,
    }


def treated(record_id: str = "1", *, months: Iterable[int] = range(1, 7)) -> Rec:
    """A participant who fires no dNK check: one infusion on D0, samples on target days."""
    rec = screened(record_id).treatment(1, **product(1, 0))
    for month in months:
        rec.fu(month, **sample(month))
    return rec


def findings(*recs: Rec, rule: str | None = None, as_of: date = AS_OF) -> list[Finding]:
    """Every dNK finding on these records (cross-participant checks included)."""
    return NK_TRIAL.findings(recs, rule, as_of)


def seeded(prefix: str = "") -> set[tuple[Any, ...]]:
    """Where the demo seeds findings of the checks whose ids start with ``prefix``."""
    return {finding_key(f) for f in SEEDED if f["rule"].startswith(prefix)}
