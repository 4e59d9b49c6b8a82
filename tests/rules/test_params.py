"""Every number and code of the protocol is a parameter in rules/nk_trial/params.toml, and
changing one changes the checks with no code change."""

from __future__ import annotations

import io
import re
import shutil
import tokenize
import tomllib
from pathlib import Path

import pytest

from tests.support.nk_trial import (
    AS_OF,
    RULES,
    Rec,
    day,
    mapping,
    product,
    schema,
    screened,
    treated,
)
from worker.core.rules import Ruleset, load_ruleset
from worker.errors import MappingError

PARAMS = tomllib.loads((RULES / "params.toml").read_text(encoding="utf-8"))


def test_every_protocol_number_is_a_parameter() -> None:
    p = PARAMS
    assert p["enrollment"]["cap"] == 14
    assert p["treatment"]["max_infusions"] == 2
    assert (p["treatment"]["culture_min_days"], p["treatment"]["culture_max_days"]) == (10, 21)
    assert p["treatment"]["second_infusion_max_days"] == 183
    assert p["treatment"]["screening_to_first_infusion_max_days"] == 90
    assert p["release"] == {"viability_min": 80, "phenotype_min": 60, "endotoxin_below": 0.5}
    # The months and their windows are the schedule's (schedule.toml), not parameters.
    assert p["follow_up"] == {"min_days_between_samples": 14}
    assert p["laboratory"] == {"cd56bright_min": 50, "cd49a_min": 30}
    assert p["pregnancy"] == {
        "ongoing_min_days": 84,
        "live_birth_min_days": 182,
        "ga_tolerance_days": 7,
        "max_days_pregnant": 301,
    }
    assert p["safety"] == {"sae_report_max_days": 1}


def test_every_code_the_checks_use_is_a_parameter() -> None:
    assert PARAMS["codes"] == {
        "mba_unk_status": {"normal": "1", "abnormal": "2"},
        "cp_sterility": {"negative": "1"},
        "cp_mycoplasma": {"negative": "1"},
        "pg_outcome": {"still_pregnant": "1"},
        "ae_grade": {"death": "5"},
        "ae_outcome": {"fatal": "4"},
    }


def test_every_parameter_table_names_its_protocol_section() -> None:
    text = (RULES / "params.toml").read_text(encoding="utf-8")
    tables = re.findall(r"^\[([a-z_]+)\]\n# protocol: \S", text, flags=re.MULTILINE)
    assert set(tables) == {k for k in PARAMS if k != "codes"}


PROTOCOL_NUMBERS = {"14", "10", "21", "90", "183", "28", "80", "60", "0.5", "50", "30"}
PROTOCOL_NUMBERS |= {"301", "84", "182", "6", "80.0", "60.0", "50.0", "30.0"}


def test_the_check_code_holds_no_protocol_number() -> None:
    # Allowed literals: 0 and 1 (counting), 2 (the "second" infusion, an ordinal) and 7
    # (days in a week, for gestational ages in weeks + days).
    found = []
    for path in sorted((RULES / "checks").glob("*.py")):
        source = path.read_text(encoding="utf-8")
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            numbers: list[str] = []
            if tok.type == tokenize.NUMBER:
                numbers = [tok.string]
            elif tok.type == tokenize.STRING:  # f-strings are one token in Python 3.11
                numbers = re.findall(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])", tok.string)
            found += [f"{path.name}:{tok.start[0]}: {n}" for n in numbers if n in PROTOCOL_NUMBERS]
            if tok.type == tokenize.NUMBER and tok.string not in {"0", "1", "2", "7"}:
                found.append(f"{path.name}:{tok.start[0]}: unexpected literal {tok.string}")
    assert found == []


# --- Changing a parameter in a copy of the rules ------------------------------------------


def copy_rules(
    tmp_path: Path, *replacements: tuple[str, str], file: str = "params.toml"
) -> Ruleset:
    """The dNK rules, with ``replacements`` made in ``file`` of a copy of the folder."""
    target = tmp_path / "nk_trial"
    shutil.copytree(RULES, target, ignore=shutil.ignore_patterns("__pycache__"))
    params = target / file
    text = params.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new, 1)
    params.write_text(text, encoding="utf-8")
    return load_ruleset(target, schema=schema(), mapping=mapping())


def rules_fired(rules: Ruleset, *recs: Rec, rule: str) -> list[str]:
    """The records on which ``rule`` fires, under ``rules``."""
    run = rules.start(AS_OF)
    found = []
    for rec in recs:
        found += run.check(rec.participant(), rec.record())
    found += run.finish()
    return [f.record for f in found if f.rule == rule]


def test_a_longer_culture_limit_in_params_changes_nk_trt04(tmp_path: Path) -> None:
    rec = treated().treatment(1, pb_date=day(-22), cp_culture_start=day(-22))
    original = load_ruleset(RULES, schema=schema(), mapping=mapping())
    assert rules_fired(original, rec, rule="NK-TRT-04") == ["1"]
    relaxed = copy_rules(tmp_path, ("culture_max_days = 21", "culture_max_days = 22"))
    assert rules_fired(relaxed, rec, rule="NK-TRT-04") == []


def test_a_wider_window_in_the_schedule_changes_nk_win01(tmp_path: Path) -> None:
    rec = treated().fu(2, mba_date=day(56 + 8))
    original = load_ruleset(RULES, schema=schema(), mapping=mapping())
    assert rules_fired(original, rec, rule="NK-WIN-01") == ["1"]
    wider = copy_rules(tmp_path, ('window = "7 days"', 'window = "8 days"'), file="schedule.toml")
    assert rules_fired(wider, rec, rule="NK-WIN-01") == []


def test_a_smaller_enrollment_cap_in_params_changes_nk_enr01(tmp_path: Path) -> None:
    recs = [screened(str(k)).treatment(1, **product(1, k)) for k in (1, 2, 3)]
    capped = copy_rules(tmp_path, ("cap = 14", "cap = 2"))
    assert rules_fired(capped, *recs, rule="NK-ENR-01") == ["3"]


def test_a_code_in_params_changes_the_checks(tmp_path: Path) -> None:
    # If Pending (3) were the code that counts as passing sterility:
    rec = treated().treatment(1, cp_sterility=3)
    # The first `negative = "1"` in the file is [codes.cp_sterility]'s.
    changed = copy_rules(tmp_path, ('negative = "1"', 'negative = "3"'))
    assert rules_fired(changed, rec, rule="NK-TRT-03") == []


def test_a_code_the_project_lacks_is_refused_at_load(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match=r"codes\.ae_outcome\.fatal: '9' is not a code") as e:
        copy_rules(tmp_path, ('fatal = "4"', 'fatal = "9"'))
    assert "\n" not in str(e.value)


def test_a_code_table_for_a_field_the_project_lacks_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="field 'ae_outcome_v2' is not in the project"):
        copy_rules(tmp_path, ("[codes.ae_outcome]", "[codes.ae_outcome_v2]"))


def test_a_follow_up_month_the_mapping_lacks_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="'fu_m7_arm_1' is not an event of part 'follow_up'"):
        copy_rules(tmp_path, ('"fu_m6_arm_1"', '"fu_m7_arm_1"'), file="schedule.toml")
