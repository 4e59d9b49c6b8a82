"""Grace periods end to end: ``check`` on the dNK demo with the study's schedule.toml
giving sites time to enter data, and ``check --ignore-grace`` showing everything again."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support.projects import AS_OF, REPO
from tests.support.worker_process import run_worker, worker_env

pytestmark = pytest.mark.e2e


def rules_with_grace(tmp_path: Path, days: int) -> Path:
    """The dNK rules with ``days`` of grace for missed months and for DQ-REQUIRED."""
    target = tmp_path / "nk_trial"
    shutil.copytree(REPO / "rules" / "nk_trial", target, ignore=shutil.ignore_patterns("__py*"))
    schedule = target / "schedule.toml"
    text = schedule.read_text(encoding="utf-8")
    assert text.count("grace_days = 0") == 2  # the missed check's, then [data_entry]'s
    schedule.write_text(text.replace("grace_days = 0", f"grace_days = {days}"), encoding="utf-8")
    return target


def findings(sandbox, rules: Path | None, *extra: str) -> set[tuple]:
    env = {"WORKER_STUDY__RULES": str(rules)} if rules else {}
    run = run_worker(
        "check",
        "--config",
        str(REPO / "config.example.toml"),
        "--as-of",
        AS_OF.isoformat(),
        "--format",
        "json",
        *extra,
        env=worker_env(sandbox.url, sandbox.token, **env),
    )
    assert run.returncode == 1, run.stderr
    return {
        (f["rule"], f["record"], f["event"], f["field"]) for f in json.loads(run.stdout)["findings"]
    }


def test_grace_holds_back_data_not_yet_entered_and_ignore_grace_shows_it(
    demo_sandbox, tmp_path: Path
) -> None:
    everything = findings(demo_sandbox, None)
    patient = rules_with_grace(tmp_path, 10_000)
    waiting = findings(demo_sandbox, patient)
    held_back = everything - waiting
    assert waiting <= everything
    # Every missed month waits, and a blank required field of a dated follow-up month...
    assert {f for f in everything if f[0] == "NK-WIN-02"} <= held_back
    assert ("DQ-REQUIRED", "11", "fu_m1_arm_1", "mba_cycle_day") in held_back
    # ...but not one in an event the study does not date, and never a wrong value.
    assert ("DQ-REQUIRED", "14", "treatment_arm_1", "cp_endotoxin") in waiting
    assert {f[0] for f in held_back} == {"NK-WIN-02", "DQ-REQUIRED"}
    assert findings(demo_sandbox, patient, "--ignore-grace") == everything


def test_sync_takes_no_ignore_grace_option(demo_sandbox) -> None:
    run = run_worker("sync", "--ignore-grace", env=worker_env(demo_sandbox.url, "x"))
    assert run.returncode == 2
    assert "unrecognized arguments: --ignore-grace" in run.stderr
