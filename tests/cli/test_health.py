"""``health`` (worker/cli/health.py): exit 0 when the last successful sync is recent enough,
1 otherwise, also for a configuration problem (Docker reserves 2); one line saying why."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from worker.cli import main
from worker.state import StateDir


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StateDir:
    for key in list(os.environ):
        if key.startswith(("WORKER_", "REDCAP_API_")):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # no config.toml here
    monkeypatch.setenv("WORKER_STATE_DIR", str(tmp_path / "state"))
    return StateDir(tmp_path / "state")


def test_health_exits_0_when_healthy_and_says_why(
    state: StateDir, capsys: pytest.CaptureFixture[str]
) -> None:
    state.record_run({"finished_at": datetime.now(UTC).isoformat(), "status": "ok"})
    assert main(["health"]) == 0
    assert capsys.readouterr().out.startswith("healthy: last successful run")


def test_health_exits_1_when_stale_and_honours_the_limit_override(
    state: StateDir, capsys: pytest.CaptureFixture[str]
) -> None:
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    state.record_run({"finished_at": two_hours_ago.isoformat(), "status": "ok"})
    assert main(["health", "--max-age-hours", "1"]) == 1
    assert capsys.readouterr().out.startswith("unhealthy: last successful run 2.0 h ago")
    assert main(["health"]) == 0  # the configured 26 h


def test_a_configuration_problem_is_unhealthy_1_not_dockers_reserved_2(
    state: StateDir, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WORKER_SCHEDULE__MAX_AGE_HOURS", "soon")
    assert main(["health"]) == 1
    assert "schedule.max_age_hours" in capsys.readouterr().out


def test_no_run_yet_is_unhealthy(state: StateDir, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["health"]) == 1
    assert capsys.readouterr().out.startswith("unhealthy: ")
