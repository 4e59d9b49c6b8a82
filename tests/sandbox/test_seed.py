"""Starting data: the project folder's demo_data.py, empty, a JSON file, in-process rows."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from tests.support.projects import DEMO_PROJECT
from tests.support.sandbox import SandboxFactory, pycap, write_classic_project
from tests.support.synthetic import nk_rows
from worker.errors import ConfigError
from worker.sandbox import Sandbox

DEMO_MODULE = """
import datetime

CALLS = []


def generate(as_of, participants=None):
    CALLS.append((as_of, participants))
    n = 2 if participants is None else participants
    rows = []
    for i in range(1, n + 1):
        rows.append({
            "record_id": str(i),
            "redcap_repeat_instrument": "",
            "redcap_repeat_instance": "",
            "name": f"P{i} as of {as_of.isoformat()}",
            "dob": "2001-02-30",  # deliberately invalid: seeds skip validation
            "sex": "7",
        })
    return rows
"""


@pytest.fixture
def demo_dir(tmp_path: Path) -> Path:
    folder = write_classic_project(tmp_path / "demo_project")
    (folder / "demo_data.py").write_text(DEMO_MODULE)
    return folder


def test_demo_means_the_project_folders_demo_data(
    make_sandbox: SandboxFactory, demo_dir: Path
) -> None:
    sb = make_sandbox(project_dir=demo_dir, data="demo", as_of=date(2026, 11, 26), participants=3)
    rows = pycap(sb).export_records()
    assert [r["name"] for r in rows] == [f"P{i} as of 2026-11-26" for i in (1, 2, 3)]
    # Invalid values survive seeding: the worker's checks are meant to find them.
    assert (rows[0]["dob"], rows[0]["sex"]) == ("2001-02-30", "7")


def test_demo_default_participants_and_as_of(make_sandbox: SandboxFactory, demo_dir: Path) -> None:
    sb = make_sandbox(project_dir=demo_dir, data="demo")
    assert len(sb.rows()) == 2
    assert sb.rows()[0]["name"].endswith(date.today().isoformat())


def test_demo_without_demo_data_is_a_one_line_error(classic_dir: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        Sandbox.from_folder(project_dir=classic_dir, data="demo")
    assert str(caught.value) == f"--data demo: project folder {classic_dir} has no demo_data.py"
    assert "\n" not in str(caught.value)


def test_json_file_of_rows(make_sandbox: SandboxFactory, tmp_path: Path) -> None:
    path = tmp_path / "rows.json"
    path.write_text(json.dumps(nk_rows(2)))
    sb = make_sandbox(project_dir=DEMO_PROJECT, data=str(path))
    assert {r["record_id"] for r in sb.rows()} == {"1", "2"}
    with pytest.raises(ConfigError, match="not 'demo', 'empty' or an existing JSON file"):
        Sandbox.from_folder(project_dir=DEMO_PROJECT, data=str(tmp_path / "nope.json"))


def test_seed_rows_must_still_fit_the_layout(classic_dir: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        Sandbox.from_folder(project_dir=classic_dir, data=[{"record_id": "1", "shoe": "42"}])
    assert str(caught.value) == (
        "seed data does not fit the project: The following fields were not found in the "
        "project as real data fields: shoe"
    )
    bad_layout = [{"record_id": str(i), "visit_date": "2026-01-01"} for i in range(5)]
    with pytest.raises(ConfigError) as caught:
        Sandbox.from_folder(project_dir=classic_dir, data=bad_layout)
    message = str(caught.value)
    assert message.startswith(
        "seed data does not fit the project: record 0, visit_date: This field is located on a "
        "repeating instrument;"
    )
    assert message.endswith("(and 2 more problems)")
    assert "2026-01-01" not in message


def test_load_rows_in_process(classic: Sandbox) -> None:
    assert classic.load_rows([{"record_id": "1", "age": "not a number"}]) == ["1"]
    assert classic.rows()[0]["age"] == "not a number"


def test_copy_of_the_real_project_folder_works(make_sandbox: SandboxFactory, tmp_path) -> None:
    folder = tmp_path / "nk_copy"
    shutil.copytree(DEMO_PROJECT, folder, ignore=shutil.ignore_patterns("*.py", "__py*"))
    sb = make_sandbox(project_dir=folder, data=nk_rows(1))
    assert sb.project.is_longitudinal
    assert len(sb.rows()) == 8


@pytest.mark.skipif(
    not (DEMO_PROJECT / "demo_data.py").exists(),
    reason="demo/nk_trial/demo_data.py is not written yet",
)
def test_the_real_demo_loads(make_sandbox: SandboxFactory) -> None:
    sb = make_sandbox(data="demo", as_of=date(2026, 11, 26))
    assert len(sb.store) > 0
    assert pycap(sb).export_records(fields=["record_id"])
