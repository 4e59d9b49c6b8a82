"""The study-check framework (worker/core/rules): loading a rules folder, running its
Python and REDCap-logic checks, and keeping a run going when a check fails.

Everything here uses a small made-up project, not the dNK trial: the framework is generic.
"""

from __future__ import annotations

import dataclasses
import sys
import textwrap
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from worker.core.mapping import MappingSpec, ParticipantBuilder
from worker.core.records import RecordData, group_rows
from worker.core.rules import Params, Ruleset, load_ruleset
from worker.core.schema import ProjectSchema
from worker.errors import ConfigError, MappingError

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


CLEAN = (baseline(), month(1), month(2), dose(1, visit_date="2026-02-01", weight_kg="70"))


# --- Loading ------------------------------------------------------------------------------


def test_a_rules_folder_declares_python_and_logic_checks(tmp_path: Path) -> None:
    rules = load(rules_folder(tmp_path))
    assert [(c.id, c.source, c.cross_participant) for c in rules.checks] == [
        ("T-AE-ORDER", "logic", False),
        ("T-CAP", "python", True),
        ("T-HEAVY", "python", False),
        ("T-M2", "python", False),
        ("T-NO-BASELINE", "python", False),
        ("T-SKIPPED", "logic", False),
    ]
    heavy = next(c for c in rules.checks if c.id == "T-HEAVY")
    assert (heavy.kind.value, heavy.severity.value, heavy.title) == (
        "query",
        "minor",
        "Weight above the limit",
    )


def test_a_checks_package_is_imported_by_path_with_its_submodules(tmp_path: Path) -> None:
    folder = rules_folder(tmp_path, checks=None, logic=None)
    package = folder / "checks"
    package.mkdir()
    (package / "__init__.py").write_text("from . import weights\n", encoding="utf-8")
    (package / "common.py").write_text("LIMIT_KEY = 'weight_max'\n", encoding="utf-8")
    (package / "weights.py").write_text(
        textwrap.dedent(
            """
            from worker.core.rules import at, check
            from .common import LIMIT_KEY

            @check("P-1", kind="query", severity="minor", title="Heavy")
            def heavy(p, as_of, params):
                for d in p.doses:
                    if d.weight_kg and d.weight_kg > params.limits[LIMIT_KEY]:
                        yield at(d, "weight_kg", "Too heavy.")
            """
        ),
        encoding="utf-8",
    )
    rules = load(folder)
    assert [c.id for c in rules.checks] == ["P-1"]
    _, found = check_all_records(rules, record("1", dose(1, weight_kg="120")))
    assert places(found) == [("P-1", "1", "dose_arm_1", 1, "weight_kg")]


def test_two_copies_of_a_rules_folder_load_side_by_side(tmp_path: Path) -> None:
    strict = load(rules_folder(tmp_path, name="a"))
    lenient = load(rules_folder(tmp_path, name="b", params=PARAMS.replace("100.0", "200.0")))
    rec = record("1", *CLEAN, dose(2, weight_kg="150"))
    assert [f.rule for f in check_all_records(strict, rec)[1]] == ["T-HEAVY"]
    assert check_all_records(lenient, rec)[1] == []


def private_rule_modules() -> list[str]:
    return [name for name in sys.modules if name.startswith("_worker_rules_")]


def test_checks_are_imported_once_per_content_and_leave_sys_modules_as_they_were(
    tmp_path: Path,
) -> None:
    folder = rules_folder(tmp_path, checks=None, logic=None)
    package = folder / "checks"
    package.mkdir()
    (package / "__init__.py").write_text("from . import weights\n", encoding="utf-8")
    (package / "weights.py").write_text(textwrap.dedent(CHECKS), encoding="utf-8")
    before = set(sys.modules)
    first = load(folder)
    assert set(sys.modules) == before
    again = [load(folder) for _ in range(5)]
    assert set(sys.modules) == before
    assert private_rule_modules() == []
    # Not executed again: the very same check functions.
    heavy = {id(c.run) for r in [first, *again] for c in r.python_checks if c.info.id == "T-HEAVY"}
    assert len(heavy) == 1


def test_a_changed_check_file_is_imported_afresh(tmp_path: Path) -> None:
    folder = rules_folder(tmp_path)
    rec = record("1", *CLEAN, dose(2, weight_kg="150"))
    assert [f.rule for f in check_all_records(load(folder), rec)[1]] == ["T-HEAVY"]
    before = set(sys.modules)
    checks = folder / "checks.py"
    checks.write_text(
        checks.read_text(encoding="utf-8").replace(
            "dose.weight_kg > params.limits.weight_max",
            "dose.weight_kg > 2 * params.limits.weight_max",
        ),
        encoding="utf-8",
    )
    assert check_all_records(load(folder), rec)[1] == []
    # A new file in a package counts as a change too.
    package = rules_folder(tmp_path, name="pkg", checks=None, logic=None) / "checks"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    assert load(package.parent).checks == []
    (package / "__init__.py").write_text("from . import weights\n", encoding="utf-8")
    (package / "weights.py").write_text(textwrap.dedent(CHECKS), encoding="utf-8")
    assert "T-HEAVY" in [c.id for c in load(package.parent).checks]
    assert set(sys.modules) == before


def test_checks_that_failed_to_import_leave_nothing_behind(tmp_path: Path) -> None:
    folder = rules_folder(tmp_path, checks=CHECKS + "\nraise RuntimeError('half done')\n")
    before = set(sys.modules)
    with pytest.raises(MappingError, match="RuntimeError: half done"):
        load(folder)
    assert set(sys.modules) == before
    (folder / "checks.py").write_text(textwrap.dedent(CHECKS), encoding="utf-8")
    assert "T-HEAVY" in [c.id for c in load(folder).checks]


def test_a_folder_without_checks_or_logic_has_no_checks(tmp_path: Path) -> None:
    assert load(rules_folder(tmp_path, checks=None, logic=None)).checks == []


def test_a_missing_folder_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="rules folder not found"):
        load(tmp_path / "nowhere")


def test_checks_that_cannot_be_imported_are_a_one_line_error(tmp_path: Path) -> None:
    folder = rules_folder(tmp_path, checks="import no_such_module_anywhere\n")
    with pytest.raises(MappingError, match="cannot be loaded: ModuleNotFoundError") as caught:
        load(folder)
    assert "\n" not in str(caught.value)


def test_a_bad_kind_in_a_declaration_is_refused_at_load(tmp_path: Path) -> None:
    checks = CHECKS.replace(
        'kind="query", severity="minor", title="Weight',
        'kind="note", severity="minor", title="Weight',
    )
    with pytest.raises(MappingError, match="'note' is not a valid Kind"):
        load(rules_folder(tmp_path, checks=checks))


def test_every_mistake_in_the_rules_folder_is_listed_in_one_error(tmp_path: Path) -> None:
    params = PARAMS + '\n[codes.visit_status_v2]\ndone = "1"\n[extra]\nsource_field = "wt"\n'
    params = params.replace('done = "1"', 'done = "3"', 1)
    logic = LOGIC + (
        '\n[[rule]]\nid = "T-BAD"\nkind = "query"\nseverity = "minor"\ntitle = "x"\n'
        'field = "ae_end"\nlogic = "[ae_end] < [ae_start] and ("\nmessage = "x"\n'
    )
    with pytest.raises(MappingError) as caught:
        load(rules_folder(tmp_path, params=params, logic=logic))
    message = str(caught.value)
    assert "\n" not in message
    for problem in (
        "codes.visit_status.done: '3' is not a code of field 'visit_status'",
        "codes.visit_status_v2: field 'visit_status_v2' is not in the project",
        "extra.source_field: field 'wt' is not in the project",
        "rule T-BAD: the logic cannot be read",
    ):
        assert problem in message


# --- Quarantine: checks whose inputs the project no longer has ------------------------------


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


def test_a_check_declared_both_in_python_and_as_logic_is_refused(tmp_path: Path) -> None:
    logic = LOGIC.replace('id = "T-SKIPPED"', 'id = "T-HEAVY"')
    with pytest.raises(MappingError, match=r"T-HEAVY is declared twice.*one source of truth"):
        load(rules_folder(tmp_path, logic=logic))


def test_a_study_validate_hook_adds_its_problems(tmp_path: Path) -> None:
    checks = CHECKS + (
        "\ndef validate(params, schema, mapping):\n"
        "    return [] if 'doses' not in mapping.parts else ['doses must be renamed']\n"
    )
    with pytest.raises(MappingError, match="doses must be renamed"):
        load(rules_folder(tmp_path, checks=checks))


# --- Parameters ---------------------------------------------------------------------------


def test_params_read_as_attributes_and_name_a_missing_key() -> None:
    params = Params({"limits": {"weight_max": 100.0, "sites": ["a", "b"]}})
    assert params.limits.weight_max == 100.0
    assert params.limits.sites == ("a", "b")
    assert params["limits"]["weight_max"] == 100.0
    with pytest.raises(AttributeError, match=r"no parameter 'limits\.weight_min'"):
        _ = params.limits.weight_min
    with pytest.raises(AttributeError, match="read-only"):
        params.limits = {}  # type: ignore[misc]


def test_a_parameter_named_like_a_params_method_is_read_by_subscript() -> None:
    params = Params({"codes": {"label": "3", "done": "1"}})
    assert params.codes["label"] == "3"
    assert params.codes.done == params.codes["done"] == "1"
    assert callable(params.codes.label)  # the method, as documented
    with pytest.raises(AttributeError, match=r"no parameter 'codes\.missing'"):
        _ = params.codes["missing"]


def test_params_give_code_labels_from_the_data_dictionary(tmp_path: Path) -> None:
    params = load(rules_folder(tmp_path)).params
    assert params.label("visit_status", "2") == "Skipped"
    assert params.codes.visit_status.label("visit_status", None) == "blank"


# --- Running Python checks ----------------------------------------------------------------


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


# --- Cross-participant checks -------------------------------------------------------------


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


# --- Logic rules --------------------------------------------------------------------------


def test_logic_rules_are_evaluated_in_each_event_and_instance(tmp_path: Path) -> None:
    rules = load(rules_folder(tmp_path))
    rec = record(
        "1",
        *CLEAN,
        dose(2, visit_status="2"),
        dose(3, visit_status="1"),
        month(1, visit_status="2"),
        month(2, visit_status="2"),  # not one of the rule's events
        baseline(visit_status="2"),  # nor this
        log(1, ae_start="2026-02-10", ae_end="2026-02-09"),
        log(2, ae_start="2026-02-10", ae_end="2026-02-10"),
        log(3, ae_start="2026-02-10", ae_end="2026-02-01"),
    )
    _, found = check_all_records(rules, rec)
    assert places(found) == [
        ("T-AE-ORDER", "1", "log_arm_1", 1, "ae_end"),
        ("T-AE-ORDER", "1", "log_arm_1", 3, "ae_end"),
        ("T-SKIPPED", "1", "dose_arm_1", 2, "visit_status"),
        ("T-SKIPPED", "1", "m1_arm_1", None, "visit_status"),
    ]
    ae = next(f for f in found if f.instance == 3)
    assert ae.instrument == "event_log"
    assert ae.message == "The end is earlier than the start."
    assert ae.evidence == {
        "log_arm_1[3].ae_end": "2026-02-01",
        "log_arm_1[3].ae_start": "2026-02-10",
    }


def test_logic_rules_see_an_invalid_value_as_blank(tmp_path: Path) -> None:
    rules = load(rules_folder(tmp_path))
    # As text "2026-13-99" > "2026-02-10"; it is not a date, so the rule reads a blank.
    rec = record("1", *CLEAN, log(1, ae_start="2026-13-99", ae_end="2026-02-10"))
    assert check_all_records(rules, rec)[1] == []
    rec = record("1", *CLEAN, dose(2, visit_status="9"))  # not a code of visit_status
    assert check_all_records(rules, rec)[1] == []


def test_logic_rules_read_padded_values_trimmed_and_spaces_as_blank(tmp_path: Path) -> None:
    rules = load(rules_folder(tmp_path))
    rec = record(
        "1",
        *CLEAN,
        log(1, ae_start=" 2026-02-10", ae_end="2026-02-09 "),  # as text " 2" sorts first
        log(2, ae_start="   ", ae_end="2026-02-09"),  # blank start: no comparison
        dose(2, visit_status=" 2 "),
    )
    assert places(check_all_records(rules, rec)[1]) == [
        ("T-AE-ORDER", "1", "log_arm_1", 1, "ae_end"),
        ("T-SKIPPED", "1", "dose_arm_1", 2, "visit_status"),
    ]


def test_logic_rules_see_the_projects_missing_codes(tmp_path: Path) -> None:
    coded = SCHEMA.model_copy(update={"missing_codes": {"UNK": "Unknown", "NA": "N/A"}})
    logic = """
[[rule]]
id = "T-AE-END-UNKNOWN"
kind = "query"
severity = "minor"
title = "End date unknown"
field = "ae_end"
logic = "hasmissingcode([ae_end], 'UNK') and not isblanknotmissingcode([ae_end])"
message = "The end date is unknown."
"""
    rules = load_ruleset(rules_folder(tmp_path, logic=logic), schema=coded, mapping=MAPPING)
    # "UNK" is no date: a study check reads it as blank, but it is a code, not an error.
    rec = record("1", *CLEAN, log(1, ae_end="UNK"), log(2, ae_end="NA"), log(3, ae_end="x"))
    assert places(check_all_records(rules, rec)[1]) == [
        ("T-AE-END-UNKNOWN", "1", "log_arm_1", 1, "ae_end")
    ]


def test_a_logic_rule_failing_on_a_record_is_a_check_error(tmp_path: Path) -> None:
    class Unreadable:
        references: frozenset = frozenset()

        def is_true(self, context: object) -> bool:
            raise LookupError("no such row")

    rules = load(rules_folder(tmp_path))
    broken = dataclasses.replace(rules.logic_rules[0], expression=Unreadable())
    rules = dataclasses.replace(rules, logic_rules=(broken, *rules.logic_rules[1:]))
    rec = record("1", *CLEAN, log(1, ae_start="2026-02-10"))
    run, found = check_all_records(rules, rec)
    assert [(f.rule, f.check_error) for f in found] == [("T-AE-ORDER", True)]
    assert run.check_errors == 1


# --- Visit schedules ----------------------------------------------------------------------


def test_a_schedule_gets_its_events_from_the_mapping(tmp_path: Path) -> None:
    folder = rules_folder(tmp_path)
    (folder / "schedule.toml").write_text(
        textwrap.dedent(
            """
            [anchor]
            part = "baseline"
            date = "visit_date"

            [visits]
            part = "months"
            date = "visit_date"
            window = 0

            [[visit]]
            name = "month 1"
            event = "m1_arm_1"
            target = 30

            [[visit]]
            name = "month 2"
            event = "m2_arm_1"
            target = 60
            """
        ),
        encoding="utf-8",
    )
    rules = load(folder)
    assert rules.has_schedule
    rows = rules.schedule(BUILDER.build(record("1", *CLEAN)), AS_OF)
    assert [(r.event, r.target_day) for r in rows] == [("m1_arm_1", 30), ("m2_arm_1", 60)]


def test_a_python_schedule_hook_is_refused_with_the_file_to_use(tmp_path: Path) -> None:
    checks = CHECKS + "\n\ndef schedule(p, as_of, params):\n    return []\n"
    with pytest.raises(
        MappingError, match=r"schedule\(\), which is no longer read.*schedule\.toml"
    ):
        load(rules_folder(tmp_path, checks=checks))


def test_rules_without_a_schedule_say_so(tmp_path: Path) -> None:
    rules = load(rules_folder(tmp_path))
    assert not rules.has_schedule
    with pytest.raises(ConfigError, match="no visit schedule"):
        rules.schedule(BUILDER.build(record("1", *CLEAN)), AS_OF)


def test_a_logic_message_with_a_calendar_date_is_refused(tmp_path: Path) -> None:
    logic = LOGIC.replace("The end is earlier than the start.", "Ends before 2026-01-01.")
    with pytest.raises(MappingError, match="calendar date"):
        load(rules_folder(tmp_path, logic=logic))


def test_a_logic_rule_reads_other_events_on_valid_values(tmp_path: Path) -> None:
    logic = (
        '[[rule]]\nid = "T-X"\nkind = "query"\nseverity = "minor"\ntitle = "x"\n'
        'field = "visit_status"\nevents = ["m1_arm_1"]\nmessage = "Skipped after baseline."\n'
        "logic = \"[visit_status] = '2' and [baseline_arm_1][weight_kg] > 50\"\n"
    )
    rules = load(rules_folder(tmp_path, logic=logic, checks=None))
    heavy = record("1", baseline(weight_kg="80"), month(1, visit_status="2"))
    assert places(check_all_records(rules, heavy)[1]) == [
        ("T-X", "1", "m1_arm_1", None, "visit_status")
    ]
    invalid = record("1", baseline(weight_kg="80 kg"), month(1, visit_status="2"))
    assert check_all_records(rules, invalid)[1] == []
