"""The dNK checks read typed classes (rules/nk_trial/checks/models.py): the worker builds the
participant as that class and reads params.toml into that one, checks both against the
project when it loads the rules, and a check that raises says where in the study's files
and which name it missed."""

from __future__ import annotations

import shutil
import sys
from datetime import date
from pathlib import Path

import pytest

from tests.support.nk_trial import AS_OF, RULES, Rec, day, mapping, ruleset, schema, treated
from worker.core.mapping import ParticipantBuilder
from worker.core.rules import load_ruleset
from worker.core.rules.params import StudyParams
from worker.errors import MappingError

MODELS = Path("checks") / "models.py"


def study_copy(tmp_path: Path, file: str, old: str, new: str) -> Path:
    """A copy of rules/nk_trial with ``old`` replaced by ``new`` (once) in ``file``."""
    rules = tmp_path / "nk_trial"
    shutil.copytree(RULES, rules, ignore=shutil.ignore_patterns("__pycache__"))
    path = rules / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not once in {file}"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return rules


def load_problems(rules: Path) -> str:
    with pytest.raises(MappingError) as raised:
        load_ruleset(rules, schema=schema(), mapping=mapping())
    return str(raised.value)


# --- the participant and parameters are the study's own classes ---------------------------


def test_participants_are_built_as_the_studys_declared_classes() -> None:
    p = treated().participant()
    declared = ruleset().participant_model
    assert declared is not None
    assert type(p) is declared
    assert type(p).__name__ == "Participant"
    assert type(p.follow_up[0]).__name__ == "FollowUp"
    assert p.follow_up[0].mba_date == date(2026, 3, 30)
    assert p.treatments[0].cp_viability_pct == 92.5


def test_an_entry_holds_the_declared_fields_but_judges_and_keeps_every_field() -> None:
    # mba_cycle_day is on the form but no check reads it, so the class leaves it out.
    p = treated().fu(1, mba_cycle_day="not a number").participant()
    month1 = p.follow_up[0]
    assert not hasattr(month1, "mba_cycle_day")
    assert month1.raw["mba_cycle_day"] == "not a number"  # in the query fingerprint
    assert month1.invalid == frozenset({"mba_cycle_day"})  # and judged as before


def test_declared_and_generated_participants_read_the_same_values() -> None:
    rec = treated().pregnancy(1, pg_hcg_pos=1, pg_hcg_date="2026-05-01", pg_neonates="x")
    generated = ParticipantBuilder(mapping(), schema()).build(rec.record())
    declared = rec.participant()
    assert declared.record_id == generated.record_id == "1"
    for name in mapping().parts:
        typed, built = getattr(declared, name), getattr(generated, name)
        entries = typed if isinstance(typed, list) else [typed]
        others = built if isinstance(built, list) else [built]
        assert len(entries) == len(others)
        for entry, other in zip(entries, others, strict=True):
            if entry is None:
                assert other is None
                continue
            for field in type(entry).model_fields:
                assert getattr(entry, field) == getattr(other, field), (name, field)


def test_params_are_the_studys_declared_class_with_labels_from_the_project() -> None:
    params = ruleset().params
    assert isinstance(params, StudyParams)
    assert type(params).__name__ == "Params"
    assert params.follow_up.min_days_between_samples == 14  # type: ignore[union-attr]
    assert params.label("mba_unk_status", "1") == "Normal"


# --- checked against the project at load --------------------------------------------------


def test_a_declared_field_the_project_lacks_quarantines_its_parts_checks_naming_it(
    tmp_path: Path,
) -> None:
    # Deleted or renamed in REDCap, or misspelt here: the two look alike to the worker. The
    # checks reading the part do not run and say why (doctor fails on them); the rest run.
    rules = study_copy(
        tmp_path, str(MODELS), "    eos_date: date | None\n", "    eos_dat: date | None\n"
    )
    ruleset = load_ruleset(rules, schema=schema(), mapping=mapping())
    held = {q.check.id: q.reason for q in ruleset.quarantined}
    assert held
    why = f"{MODELS}: EndOfStudy.eos_dat: field 'eos_dat' is not in the project"
    assert all(why in reason for reason in held.values())
    assert "NK-EOS-01" in held  # it reads the end-of-study part
    assert ruleset.quarantined_ids == set(held)
    assert len({c.id for c in ruleset.checks} - set(held)) > 20  # every other check runs


def test_a_declared_type_other_than_the_data_dictionarys_is_a_load_error(tmp_path: Path) -> None:
    rules = study_copy(
        tmp_path, str(MODELS), "    cp_endotoxin: float | None\n", "    cp_endotoxin: int | None\n"
    )
    problems = load_problems(rules)
    assert (
        f"{MODELS}: Treatment.cp_endotoxin is declared int | None, but field 'cp_endotoxin' "
        "(text, number) is float | None"
    ) in problems


def test_a_field_of_a_form_the_part_does_not_read_is_a_load_error(tmp_path: Path) -> None:
    rules = study_copy(
        tmp_path,
        str(MODELS),
        "    inf_date: date | None\n",
        "    inf_date: date | None\n    eos_date: date | None\n",
    )
    problems = load_problems(rules)
    assert (
        f"{MODELS}: Treatment.eos_date: field 'eos_date' is on form 'end_of_study', which "
        "part 'treatments' does not read"
    ) in problems


def test_a_part_missing_from_the_participant_or_of_the_wrong_shape_is_a_load_error(
    tmp_path: Path,
) -> None:
    rules = study_copy(
        tmp_path,
        str(MODELS),
        "    screening: Screening | None\n",
        "    screening: list[Screening]\n",
    )
    problems = load_problems(rules)
    assert f"{MODELS}: Participant.screening is declared list[" in problems
    assert "but part 'screening' is one entry or None: declare it" in problems
    rules = study_copy(tmp_path / "2", str(MODELS), "    end_of_study: EndOfStudy | None\n", "")
    assert (
        f"{MODELS}: class Participant has no attribute 'end_of_study' for the mapping's "
        "part 'end_of_study'"
    ) in load_problems(rules)


def test_params_toml_must_match_the_declared_params(tmp_path: Path) -> None:
    rules = study_copy(
        tmp_path, "params.toml", "min_days_between_samples = 14", "min_days_between_sample = 14"
    )
    problems = load_problems(rules)
    assert (
        f"params.toml follow_up.min_days_between_samples: Field required (class Params in {MODELS})"
    ) in problems
    assert "params.toml follow_up.min_days_between_sample: Extra inputs are not permitted" in (
        problems
    )


# --- a check that raises names the study's file, line and the name it missed ---------------


def _line_of(path: Path, text: str) -> int:
    [number] = [n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line]
    return number


@pytest.mark.parametrize(
    ("old", "new", "missed"),
    [
        (
            "gap = days(sample_date(later), sample_date(earlier))",
            "gap = days(later.mba_dat, sample_date(earlier))",  # type: a part entry's field
            "mba_dat",
        ),
        (
            "minimum = params.follow_up.min_days_between_samples",
            "minimum = params.follow_up.min_days_between_sample",  # a parameter
            "min_days_between_sample",
        ),
    ],
)
def test_a_check_error_names_the_study_file_and_line_and_the_missing_name(
    tmp_path: Path, old: str, new: str, missed: str
) -> None:
    rules = study_copy(tmp_path, "checks/follow_up.py", old, new)
    loaded = load_ruleset(rules, schema=schema(), mapping=mapping())
    builder = ParticipantBuilder(mapping(), schema(), model=loaded.participant_model)
    rec = treated()
    run = loaded.start(AS_OF)
    found = run.check(builder.build(rec.record()), rec.record())
    [error] = [f for f in found if f.check_error]
    line = _line_of(rules / "checks" / "follow_up.py", new)
    assert error.rule == "NK-WIN-03"
    assert (
        f"(internal error AttributeError: no attribute or name '{missed}' at "
        f"nk_trial/checks/follow_up.py:{line})"
    ) in error.message
    assert "pydantic" not in error.message
    assert "main.py" not in error.message
    cause = (
        f"AttributeError: no attribute or name '{missed}' at nk_trial/checks/follow_up.py:{line}"
    )
    assert run.failures == {("NK-WIN-03", cause): ["1"]}
    assert [f for f in found if not f.check_error] == []  # the other checks ran, and pass


def test_a_check_error_in_a_shared_term_names_that_file(tmp_path: Path) -> None:
    rules = study_copy(
        tmp_path, "checks/terms.py", "return self.entry.inf_date\n", "return self.entry.inf_dat\n"
    )
    loaded = load_ruleset(rules, schema=schema(), mapping=mapping())
    builder = ParticipantBuilder(mapping(), schema(), model=loaded.participant_model)
    rec: Rec = treated()
    found = loaded.start(AS_OF).check(builder.build(rec.record()), rec.record())
    line = _line_of(rules / "checks" / "terms.py", "return self.entry.inf_dat")
    errors = [f for f in found if f.check_error]
    assert errors
    assert all(
        f"'inf_dat' at nk_trial/checks/terms.py:{line})" in error.message for error in errors
    )


# --- with drift quarantine and the loader's private imports ---------------------------------


def test_a_drifted_part_is_built_empty_as_the_declared_class_and_its_checks_quarantined() -> None:
    spec = mapping()
    drifted = spec.model_copy(
        update={
            "parts": spec.parts
            | {"pregnancies": spec.parts["pregnancies"].model_copy(update={"event": "gone_arm_1"})}
        }
    )
    before = set(sys.modules)
    rules = load_ruleset(RULES, schema=schema(), mapping=drifted)  # not refused
    assert set(sys.modules) == before  # models.py too was imported under a private name
    assert rules.participant_model is not None
    held = {q.check.id for q in rules.quarantined}
    assert {"NK-PRG-01", "NK-WIN-01", "NK-WIN-02"} <= held  # they read p.pregnancies
    assert "NK-WIN-03" not in held
    rec = treated().pregnancy(1, pg_hcg_pos="1", pg_hcg_date=day(40))
    p = ParticipantBuilder(drifted, schema(), model=rules.participant_model).build(rec.record())
    assert type(p) is rules.participant_model
    assert p.pregnancies == []  # no rows are read for a drifted part
    run = rules.start(AS_OF)
    run.check(p, rec.record())
    run.finish()
    assert run.check_errors == 0
