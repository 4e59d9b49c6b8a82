"""The worker is general: a classic project (no events) with a mapping and no study rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.sandbox import write_classic_project
from tests.support.worker_process import run_worker, worker_env
from worker.sandbox import Sandbox

pytestmark = pytest.mark.e2e

TOKEN = "C1A55IC0000000000000000000000000"
ROWS = [
    # Clean: no finding.
    {
        "record_id": "1",
        "redcap_repeat_instrument": "",
        "redcap_repeat_instance": "",
        "age": "40",
        "dob": "1985-01-02",
        "sex": "1",
        "demographics_complete": "2",
    },
    # An impossible date and a code that is not a choice.
    {
        "record_id": "2",
        "redcap_repeat_instrument": "",
        "redcap_repeat_instance": "",
        "age": "40",
        "dob": "1985-02-30",
        "sex": "7",
        "demographics_complete": "2",
    },
    # A repeating-instrument row with a non-integer score.
    {
        "record_id": "2",
        "redcap_repeat_instrument": "visit",
        "redcap_repeat_instance": "2",
        "visit_date": "2026-01-05",
        "visit_score": "4.5",
        "visit_complete": "1",
    },
]


@pytest.fixture
def classic(tmp_path: Path):
    folder = write_classic_project(tmp_path / "classic", dags=False)
    with Sandbox.from_folder(project_dir=folder, data=ROWS, token=TOKEN) as sandbox:
        yield sandbox


def test_check_runs_the_generic_checks_on_a_classic_project(classic, tmp_path: Path) -> None:
    (tmp_path / "mapping.toml").write_text(
        'study = "classic"\n'
        '[parts.demographics]\nforms = ["demographics"]\n'
        '[parts.visits]\nforms = ["visit"]\n',
        encoding="utf-8",
    )
    (tmp_path / "config.toml").write_text('[study]\nmapping = "mapping.toml"\n', encoding="utf-8")
    run = run_worker(
        "check",
        "--config",
        str(tmp_path / "config.toml"),
        "--format",
        "json",
        env=worker_env(classic.url, classic.token),
    )
    assert run.returncode == 1, run.stderr
    found = {
        (f["rule"], f["record"], f["event"], f["instance"], f["field"])
        for f in json.loads(run.stdout)["findings"]
    }
    assert found == {
        ("DQ-TYPE", "2", None, None, "dob"),
        ("DQ-CHOICE", "2", None, None, "sex"),
        ("DQ-TYPE", "2", None, 2, "visit_score"),
    }
