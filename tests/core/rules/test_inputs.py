"""Quarantine (worker/core/rules/inputs.py): checks whose inputs the project no longer has
are set aside, naming what is missing; the rest of the study runs."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.support.toy_study import (
    AS_OF,
    CHECKS,
    CLEAN,
    LOGIC,
    MAPPING,
    SCHEMA,
    check_all_records,
    dose,
    load,
    log,
    record,
    rules_folder,
)
from worker.core.mapping import ParticipantBuilder
from worker.core.rules import load_ruleset


def test_logic_rules_naming_what_the_project_lacks_are_quarantined_not_refused(
    tmp_path: Path,
) -> None:
    logic = (
        LOGIC.replace('field = "ae_end"', 'field = "ae_stop"')
        .replace('"m1_arm_1"]', '"log_arm_1"]')
        .replace("[ae_end] < [ae_start]", "[ae_end] < [ae_begin]")
    )
    rules = load(rules_folder(tmp_path, logic=logic))
    held = {q.check.id: q.reasons for q in rules.quarantined}
    assert held == {
        "T-AE-ORDER": (
            "rule T-AE-ORDER: field 'ae_stop' is not in the project",
            "rule T-AE-ORDER: [ae_begin]: no such field in the project",
        ),
        "T-SKIPPED": (
            "rule T-SKIPPED: form 'visit' of field 'visit_status' is not designated for "
            "event 'log_arm_1'",
        ),
    }
    # Listed among the checks (reports and doctor name them), but never run.
    assert {"T-AE-ORDER", "T-SKIPPED"} <= {c.id for c in rules.checks}
    assert rules.logic_rules == ()
    run, found = check_all_records(rules, record("1", *CLEAN, log(1, ae_start="2026-02-02")))
    assert {f.rule for f in found} <= {"T-HEAVY", "T-CAP", "T-M2", "T-NO-BASELINE"}
    assert run.coverage["T-AE-ORDER"].skipped == {"quarantined": 1}
    assert run.coverage["T-AE-ORDER"].ran == 0


def test_a_python_check_declaring_a_field_the_project_lacks_is_quarantined(
    tmp_path: Path,
) -> None:
    checks = CHECKS.replace(
        'title="Weight above the limit")',
        'title="Weight above the limit", reads=["weight_kg", "height_cm"])',
    )
    rules = load(rules_folder(tmp_path, checks=checks))
    assert [(q.check.id, q.reasons) for q in rules.quarantined] == [
        ("T-HEAVY", ("field 'height_cm' is not in the project",))
    ]
    heavy_dose = record("1", *CLEAN, dose(2, weight_kg="150"))
    run, found = check_all_records(rules, heavy_dose)
    assert "T-HEAVY" not in {f.rule for f in found}
    assert run.check_errors == 0


def test_a_drifted_mapping_part_is_built_empty_and_quarantines_the_checks_reading_it(
    tmp_path: Path,
) -> None:
    drifted = MAPPING.model_copy(
        update={
            "parts": MAPPING.parts
            | {"doses": MAPPING.parts["doses"].model_copy(update={"event": "dosing_arm_1"})}
        }
    )
    builder = ParticipantBuilder(drifted, SCHEMA)  # no longer refuses the whole run
    assert builder.broken_parts == {
        "doses": ["part 'doses': event 'dosing_arm_1' is not in the project"]
    }
    rules = load_ruleset(rules_folder(tmp_path), schema=SCHEMA, mapping=drifted)
    # T-HEAVY reads p.doses; T-CAP's key reads it through a helper function.
    assert [q.check.id for q in rules.quarantined] == ["T-CAP", "T-HEAVY"]
    rec = record("1", *CLEAN[:-1], dose(1, visit_date="2026-02-01", weight_kg="150"))
    participant = builder.build(rec)
    assert not participant.doses  # empty: no rows are read for a drifted part
    run = rules.start(AS_OF)
    found = run.check(participant, rec) + run.finish()
    assert run.check_errors == 0
    assert {f.rule for f in found} == set()  # baseline and month 2 are there


def test_a_check_reading_a_drifted_part_through_a_cached_helper_is_quarantined(
    tmp_path: Path,
) -> None:
    checks = CHECKS + textwrap.dedent(
        """
        import functools

        @functools.cache
        def _dose_count(p):
            return len(p.doses)

        @check("T-COUNT", kind="query", severity="minor", title="Counted doses")
        def counted(p, as_of, params):
            return [] if _dose_count(p) < 9 else [at_part("baseline", "visit_date", "Many.")]
        """
    )
    drifted = MAPPING.model_copy(
        update={
            "parts": MAPPING.parts
            | {"doses": MAPPING.parts["doses"].model_copy(update={"forms": ["dosing"]})}
        }
    )
    rules = load_ruleset(rules_folder(tmp_path, checks=checks), schema=SCHEMA, mapping=drifted)
    assert [q.check.id for q in rules.quarantined] == ["T-CAP", "T-COUNT", "T-HEAVY"]
    assert rules.quarantined[1].reasons == ("part 'doses': form 'dosing' is not in the project",)
