"""`python -m worker doctor`: connectivity, REDCap version, and every drift, before any check."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO, run_worker, worker_env

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


def test_check_refuses_to_run_on_a_drifted_mapping(demo_sandbox, tmp_path: Path) -> None:
    original = (REPO / "mappings" / "nk_trial.toml").read_text(encoding="utf-8")
    config = config_with_mapping(tmp_path, original.replace('"fu_m6_arm_1"', '"fu_m7_arm_1"'))
    run = run_worker(
        "check", "--config", str(config), env=worker_env(demo_sandbox.url, demo_sandbox.token)
    )
    assert run.returncode == 2
    assert run.stdout == ""
    [line] = run.stderr.strip().splitlines()
    assert "fu_m7_arm_1" in line


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
