"""`check` on a project with missing-data codes: a code is an answer, a real error beside it
is still reported. The project folder (tests/fixtures/missing_codes_project) sets
``missing_data_codes`` in its project info, which the sandbox serves as REDCap would."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support.projects import REPO
from tests.support.worker_process import run_worker, worker_env
from worker.sandbox import Sandbox

pytestmark = pytest.mark.e2e

PROJECT = REPO / "tests" / "fixtures" / "missing_codes_project"
TOKEN = "M155INGC0DE50000000000000000000A"
BLANK_ROW = {"redcap_repeat_instrument": "", "redcap_repeat_instance": ""}
ROWS = [
    # Codes in a date, a number, an integer and a radio; one real error: weight too high.
    {
        **BLANK_ROW,
        "record_id": "1",
        "visit_date": "UNK",
        "weight": "250",
        "smoker": "1",
        "cigs": "UNK",
        "blood_group": "NA",
        "visit_complete": "2",
    },
    # Codes in a number and a yes/no; an impossible date and a code that is no choice.
    {
        **BLANK_ROW,
        "record_id": "2",
        "visit_date": "2026-02-30",
        "weight": "NA",
        "smoker": "UNK",
        "blood_group": "7",
        "visit_complete": "2",
    },
    # No codes: a date of only spaces is blank, a padded weight is read trimmed.
    {
        **BLANK_ROW,
        "record_id": "3",
        "visit_date": "   ",
        "weight": " 61.5 ",
        "smoker": "0",
        "blood_group": "1",
        "visit_complete": "2",
    },
]
REAL_ERRORS = {
    ("DQ-RANGE", "1", "weight"),
    ("DQ-TYPE", "2", "visit_date"),
    ("DQ-CHOICE", "2", "blood_group"),
    ("DQ-REQUIRED", "3", "visit_date"),
}


def check_findings(project: Path, tmp_path: Path) -> set[tuple[str, str, str]]:
    (tmp_path / "mapping.toml").write_text(
        'study = "codes"\n[parts.visit]\nforms = ["visit"]\n', encoding="utf-8"
    )
    (tmp_path / "config.toml").write_text('[study]\nmapping = "mapping.toml"\n', encoding="utf-8")
    with Sandbox.from_folder(project_dir=project, data=ROWS, token=TOKEN) as sandbox:
        run = run_worker(
            "check",
            "--config",
            str(tmp_path / "config.toml"),
            "--format",
            "json",
            env=worker_env(sandbox.url, sandbox.token),
        )
    assert run.returncode == 1, run.stderr
    return {(f["rule"], f["record"], f["field"]) for f in json.loads(run.stdout)["findings"]}


def test_a_missing_code_is_an_answer_and_a_real_error_beside_it_is_reported(
    tmp_path: Path,
) -> None:
    assert check_findings(PROJECT, tmp_path) == REAL_ERRORS


def test_without_the_codes_the_same_values_are_errors(tmp_path: Path) -> None:
    project = shutil.copytree(PROJECT, tmp_path / "project")
    info = json.loads((project / "project.json").read_text(encoding="utf-8"))
    (project / "project.json").write_text(json.dumps({**info, "missing_data_codes": ""}))
    assert check_findings(project, tmp_path) == REAL_ERRORS | {
        ("DQ-TYPE", "1", "visit_date"),
        ("DQ-TYPE", "1", "cigs"),
        ("DQ-CHOICE", "1", "blood_group"),
        ("DQ-TYPE", "2", "weight"),
        ("DQ-CHOICE", "2", "smoker"),
    }
