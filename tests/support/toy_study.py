"""A small made-up study for the tests of the study-check framework (worker/core/rules): its
project, mapping, a rules folder written into a temporary folder, and its records.

It is not the dNK trial on purpose: the framework is generic.
"""

from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path
from typing import Any

from worker.core.mapping import MappingSpec, ParticipantBuilder
from worker.core.records import RecordData, group_rows
from worker.core.rules import Ruleset, load_ruleset
from worker.core.schema import ProjectSchema

AS_OF = date(2026, 6, 1)


def field(name: str, form: str, kind: str = "text", validation: str = "", choices: str = ""):
    return {
        "field_name": name,
        "form_name": form,
        "field_type": kind,
        "text_validation_type_or_show_slider_number": validation,
        "select_choices_or_calculations": choices,
    }


SCHEMA = ProjectSchema.from_exports(
    project_info={"project_id": 1, "is_longitudinal": 1},
    metadata=[
        field("study_id", "visit"),
        field("visit_date", "visit", validation="date_ymd"),
        field("weight_kg", "visit", validation="number"),
        field("visit_status", "visit", "radio", choices="1, Done | 2, Skipped"),
        field("ae_start", "event_log", validation="date_ymd"),
        field("ae_end", "event_log", validation="date_ymd"),
        field("ae_kind", "event_log", "checkbox", choices="1, Fall | 2, Fever"),
    ],
    events=[
        {"unique_event_name": e, "event_name": e}
        for e in ("baseline_arm_1", "dose_arm_1", "m1_arm_1", "m2_arm_1", "log_arm_1")
    ],
    form_event_mapping=[
        {"unique_event_name": e, "form": "visit"}
        for e in ("baseline_arm_1", "dose_arm_1", "m1_arm_1", "m2_arm_1")
    ]
    + [{"unique_event_name": "log_arm_1", "form": "event_log"}],
    repeating=[
        {"event_name": "dose_arm_1", "form_name": ""},
        {"event_name": "log_arm_1", "form_name": "event_log"},
    ],
)


MAPPING = MappingSpec.model_validate(
    {
        "study": "toy",
        "parts": {
            "baseline": {"event": "baseline_arm_1", "forms": ["visit"]},
            "doses": {"event": "dose_arm_1", "forms": ["visit"]},
            "months": {"events": ["m1_arm_1", "m2_arm_1"], "forms": ["visit"]},
            "log": {"event": "log_arm_1", "forms": ["event_log"]},
        },
    }
)


BUILDER = ParticipantBuilder(MAPPING, SCHEMA)


PARAMS = """
[limits]  # protocol: section 1
weight_max = 100.0

[codes.visit_status]
done = "1"
"""


CHECKS = """
from worker.core.rules import Hit, at, at_part, check, check_all


@check("T-HEAVY", kind="query", severity="minor", title="Weight above the limit")
def heavy(p, as_of, params):
    for dose in p.doses:
        if dose.weight_kg is not None and dose.weight_kg > params.limits.weight_max:
            yield at(dose, "weight_kg", f"Weight is above {params.limits.weight_max:g} kg.")


@check("T-NO-BASELINE", kind="deviation", severity="major", title="No baseline visit")
def no_baseline(p, as_of, params):
    if p.baseline is None or p.baseline.visit_date is None:
        yield at_part("baseline", "visit_date", "There is no baseline visit date.")


@check("T-M2", kind="query", severity="minor", title="Month 2 not done")
def month_two(p, as_of, params):
    if not any(m.ordinal == 2 for m in p.months):
        yield at_part("months", "visit_date", "Month 2 has no data.", ordinal=2)


def _first_dose(p, as_of, params):
    dated = [d.visit_date for d in p.doses if d.visit_date is not None]
    return (p.record_id, min(dated)) if dated else None


@check_all("T-CAP", kind="deviation", severity="major", title="Over the cap", key=_first_dose)
def over_cap(keys, as_of, params):
    for record, first in sorted(keys, key=lambda k: (k[1], k[0]))[1:]:
        yield Hit(field="visit_date", message="Over the cap of 1.", event="dose_arm_1",
                  instance=1, record=record)
"""


LOGIC = """
[[rule]]
id = "T-AE-ORDER"
kind = "query"
severity = "minor"
title = "Event ends before it starts"
field = "ae_end"
logic = "[ae_end] < [ae_start]"
message = "The end is earlier than the start."

[[rule]]
id = "T-SKIPPED"
kind = "query"
severity = "minor"
title = "Visit skipped"
field = "visit_status"
logic = "[visit_status] = '2'"
message = "The visit was skipped."
events = ["dose_arm_1", "m1_arm_1"]
"""


def rules_folder(
    tmp_path: Path,
    *,
    params: str = PARAMS,
    checks: str | None = CHECKS,
    logic: str | None = LOGIC,
    name: str = "toy",
) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "params.toml").write_text(params, encoding="utf-8")
    if checks is not None:
        (folder / "checks.py").write_text(textwrap.dedent(checks), encoding="utf-8")
    if logic is not None:
        (folder / "logic_rules.toml").write_text(logic, encoding="utf-8")
    return folder


def load(folder: Path) -> Ruleset:
    return load_ruleset(folder, schema=SCHEMA, mapping=MAPPING)


def record(record_id: str, *rows: dict[str, Any]) -> RecordData:
    full = [
        {
            "study_id": record_id,
            "redcap_repeat_instrument": "",
            "redcap_repeat_instance": "",
        }
        | row
        for row in rows
    ]
    return group_rows(SCHEMA, full)[record_id]


def baseline(**values: Any) -> dict[str, Any]:
    return {"redcap_event_name": "baseline_arm_1", "visit_date": "2026-01-05"} | values


def dose(instance: int, **values: Any) -> dict[str, Any]:
    return {"redcap_event_name": "dose_arm_1", "redcap_repeat_instance": instance} | values


def month(k: int, **values: Any) -> dict[str, Any]:
    return {"redcap_event_name": f"m{k}_arm_1", "visit_date": "2026-03-01"} | values


def log(instance: int, **values: Any) -> dict[str, Any]:
    return {
        "redcap_event_name": "log_arm_1",
        "redcap_repeat_instrument": "event_log",
        "redcap_repeat_instance": instance,
    } | values


def check_all_records(rules: Ruleset, *records: RecordData, as_of: date = AS_OF):
    run = rules.start(as_of)
    found = []
    for rec in records:
        found += run.check(BUILDER.build(rec), rec)
    found += run.finish()
    return run, found


def places(found) -> list[tuple]:
    return sorted((f.rule, f.record, f.event, f.instance, f.field) for f in found)


# A record's rows that no check of the toy study finds anything in.
CLEAN = (baseline(), month(1), month(2), dose(1, visit_date="2026-02-01", weight_kg="70"))
