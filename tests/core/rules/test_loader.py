"""Loading a rules folder (worker/core/rules/loader.py): its Python checks imported by path
and once per content, its logic rules and schedule, and every mistake in one error."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from tests.support.toy_study import (
    AS_OF,
    BUILDER,
    CHECKS,
    CLEAN,
    LOGIC,
    PARAMS,
    check_all_records,
    dose,
    load,
    places,
    record,
    rules_folder,
)
from worker.errors import ConfigError, MappingError


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
