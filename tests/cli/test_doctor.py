"""``doctor`` (worker/cli/doctor.py): one line per finding about the setup, ``ok``, ``FAIL``
or ``info``, and exit 2 when the study cannot run as configured. End to end, through a
subprocess: tests/e2e/test_doctor.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.projects import AS_OF, REPO
from worker.cli import main
from worker.cli.doctor import check_run_problems
from worker.config import load_settings
from worker.pipeline import make_client

pytestmark = pytest.mark.e2e


def config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_without_a_mapping_the_generic_checks_run_alone_and_that_is_fine(
    redcap_env, tmp_path: Path, capsys
) -> None:
    assert main(["doctor", "--config", config(tmp_path, "[study]\n")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("ok   REDCap: version ")
    [info] = [line for line in lines if line.startswith("info mapping: ")]
    assert "none configured: check runs the generic checks alone" in info
    assert not [line for line in lines if line.startswith("FAIL")]


def test_rules_without_a_mapping_fail_with_exit_2(redcap_env, tmp_path: Path, capsys) -> None:
    rules = REPO / "rules" / "nk_trial"
    assert main(["doctor", "--config", config(tmp_path, f'[study]\nrules = "{rules}"\n')]) == 2
    assert "FAIL rules: study.rules needs study.mapping" in capsys.readouterr().out.splitlines()


def test_the_demo_studys_checks_run_on_every_record_without_an_error(redcap_env) -> None:
    settings = load_settings(REPO / "config.example.toml")
    client = make_client(settings.redcap)
    problems, ran = check_run_problems(settings, client.schema(), client, AS_OF)
    assert problems == []
    assert ran.endswith(f"record(s) as of {AS_OF} without an error")
    assert " checks ran on " in ran
