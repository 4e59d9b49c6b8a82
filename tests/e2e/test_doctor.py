"""`python -m worker doctor`: connectivity, REDCap version, and every drift, before any check."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support.projects import REPO
from tests.support.worker_process import run_worker, worker_env

pytestmark = pytest.mark.e2e


def config_with_mapping(tmp_path: Path, mapping_text: str) -> Path:
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(mapping_text, encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[study]\nmapping = "{mapping}"\nrules = "{REPO / "rules" / "nk_trial"}"\n',
        encoding="utf-8",
    )
    return config


def test_doctor_reports_version_project_and_a_matching_study(demo_sandbox) -> None:
    run = run_worker(
        "doctor",
        "--config",
        str(REPO / "config.example.toml"),
        env=worker_env(demo_sandbox.url, demo_sandbox.token),
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("ok   REDCap: version 15.")
    assert demo_sandbox.url in lines[0]
    assert any(line.startswith("ok   project: 4107") for line in lines)
    assert "ok   mapping: matches the project" in lines
    assert "ok   rules: matches the project" in lines
    [ran] = [line for line in lines if line.startswith("ok   checks: ")]
    assert ran.endswith(" without an error"), ran


def test_doctor_runs_every_check_and_names_where_one_raises(demo_sandbox, tmp_path: Path) -> None:
    rules = tmp_path / "nk_trial"
    shutil.copytree(
        REPO / "rules" / "nk_trial", rules, ignore=shutil.ignore_patterns("__pycache__")
    )
    follow_up = rules / "checks" / "follow_up.py"
    good = "gap = days(sample_date(later), sample_date(earlier))"
    bad = "gap = days(later.mba_dat, sample_date(earlier))"  # the attribute is mba_date
    follow_up.write_text(follow_up.read_text().replace(good, bad), encoding="utf-8")
    [line] = [n for n, text in enumerate(follow_up.read_text().splitlines(), 1) if bad in text]
    config = tmp_path / "config.toml"
    config.write_text(
        f'[study]\nmapping = "{REPO / "mappings" / "nk_trial.toml"}"\nrules = "{rules}"\n',
        encoding="utf-8",
    )
    run = run_worker(
        "doctor", "--config", str(config), env=worker_env(demo_sandbox.url, demo_sandbox.token)
    )
    assert run.returncode == 2, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert "ok   rules: matches the project" in lines  # it loads: only running finds it
    [failed] = [text for text in lines if text.startswith("FAIL")]
    assert failed.startswith("FAIL checks: check NK-WIN-03 raised on ")
    assert failed.endswith(
        f"AttributeError: no attribute or name 'mba_dat' at nk_trial/checks/follow_up.py:{line}"
    )
    assert "Traceback" not in run.stdout + run.stderr


def test_doctor_lists_every_drifted_name(demo_sandbox, tmp_path: Path) -> None:
    original = (REPO / "mappings" / "nk_trial.toml").read_text(encoding="utf-8")
    drifted = original.replace('"fu_m6_arm_1"', '"fu_m7_arm_1"').replace(
        '"end_of_study"]', '"end_of_studies"]'
    )
    config = config_with_mapping(tmp_path, drifted)
    run = run_worker(
        "doctor", "--config", str(config), env=worker_env(demo_sandbox.url, demo_sandbox.token)
    )
    assert run.returncode == 2
    failures = [line for line in run.stdout.splitlines() if line.startswith("FAIL mapping")]
    assert any("'fu_m7_arm_1' is not in the project" in line for line in failures)
    assert any("'end_of_studies' is not in the project" in line for line in failures)
    assert "Traceback" not in run.stderr


def test_a_drifted_mapping_part_quarantines_the_checks_reading_it_and_the_rest_run(
    demo_sandbox, tmp_path: Path
) -> None:
    original = (REPO / "mappings" / "nk_trial.toml").read_text(encoding="utf-8")
    env = worker_env(demo_sandbox.url, demo_sandbox.token)

    def check(mapping_text: str, folder: Path) -> dict:
        folder.mkdir()
        config = config_with_mapping(folder, mapping_text)
        run = run_worker("check", "--config", str(config), "--format", "json", env=env)
        assert run.returncode == 1, run.stderr  # findings, not a refusal
        return json.loads(run.stdout)

    clean = check(original, tmp_path / "clean")
    drifted = check(original.replace('"fu_m6_arm_1"', '"fu_m7_arm_1"'), tmp_path / "drifted")
    held = drifted["summary"]["quarantined"]
    assert "NK-WIN-03" in held  # the missed-month check reads the follow-up part
    assert all("'fu_m7_arm_1' is not in the project" in why for why in held.values())
    assert drifted["summary"]["status"] == "degraded"
    assert drifted["summary"]["check_errors"] == 0
    # Every check that does not read the drifted part finds exactly what it found before.
    assert [f for f in drifted["findings"] if f["rule"] not in held] == [
        f for f in clean["findings"] if f["rule"] not in held
    ]
    records = drifted["summary"]["records_checked"]
    assert drifted["coverage"]["NK-WIN-03"]["skipped"] == {"quarantined": records}


def test_doctor_with_redcap_down_exits_3() -> None:
    url = "http://127.0.0.1:9/api/"
    run = run_worker(
        "doctor",
        "--config",
        str(REPO / "config.example.toml"),
        env=worker_env(url, "0123456789ABCDEF0123456789ABCDEF"),
    )
    assert run.returncode == 3
    assert url in run.stdout


def test_doctor_says_the_query_fields_are_exported(demo_sandbox) -> None:
    run = run_worker(
        "doctor",
        "--config",
        str(REPO / "config.example.toml"),
        env=worker_env(demo_sandbox.url, demo_sandbox.token),
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "ok   export rights: every query field of 'data_query' is exported" in run.stdout


@pytest.mark.parametrize("right", ["deidentified", "none"])
def test_doctor_fails_when_export_rights_hide_query_fields(demo_sandbox, right: str) -> None:
    demo_sandbox.access.set_export_right("data_query", right)
    run = run_worker(
        "doctor",
        "--config",
        str(REPO / "config.example.toml"),
        env=worker_env(demo_sandbox.url, demo_sandbox.token),
    )
    assert run.returncode == 3
    [failure] = [line for line in run.stdout.splitlines() if line.startswith("FAIL")]
    assert failure.startswith("FAIL export rights: the API token's user cannot export")
    assert "'Full Data Set' export rights on the form 'data_query'" in failure
    assert not list(demo_sandbox.request_log.imports())
