"""``health`` (worker/cli/health.py): exit 0 when the last successful sync is recent enough,
1 otherwise, also for a configuration problem (Docker reserves 2); one line saying why."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.state import run_record
from worker.cli import main
from worker.notify.outbox import load_ledger
from worker.notify.plan import Ledger
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
    state.record_run(run_record(finished_at=datetime.now(UTC)))
    assert main(["health"]) == 0
    assert capsys.readouterr().out.startswith("healthy: last successful run")


def test_health_exits_1_when_stale_and_honours_the_limit_override(
    state: StateDir, capsys: pytest.CaptureFixture[str]
) -> None:
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    state.record_run(run_record(finished_at=two_hours_ago))
    assert main(["health", "--max-age-hours", "1"]) == 1
    assert capsys.readouterr().out.startswith("unhealthy: last successful run 2.0 h ago")
    assert main(["health"]) == 0  # the configured 26 h


def test_state_a_newer_worker_wrote_is_named_and_unhealthy_until_someone_removes_it(
    state: StateDir, capsys: pytest.CaptureFixture[str]
) -> None:
    # A rollback: a newer worker left its ledger, this one wrote a fresh heartbeat since.
    (state.path / "notify.json").write_text('{"format": 2, "announced": {"moved": "here"}}')
    state.record_run(run_record(finished_at=datetime.now(UTC)))
    assert load_ledger(state) == Ledger()  # not misread: set aside
    capsys.readouterr()  # its warning
    assert main(["health"]) == 1
    [set_aside] = state.newer_format_set_aside()
    assert set_aside.startswith("notify.json.newer-format-2-")
    out = capsys.readouterr().out
    assert out.startswith(f"unhealthy: state files from a newer worker set aside: {set_aside}")
    assert "healthy: last successful run" in out  # the heartbeat's own verdict still shown
    (state.path / set_aside).unlink()  # looked at
    assert main(["health"]) == 0


def test_a_newer_heartbeat_is_set_aside_by_health_itself_and_named(
    state: StateDir, capsys: pytest.CaptureFixture[str]
) -> None:
    (state.path / "heartbeat.json").write_text('{"format": 9, "beats": []}')
    assert main(["health"]) == 1
    verdict = capsys.readouterr().out.splitlines()[-1]
    assert verdict.startswith("unhealthy: state files from a newer worker set aside: heartbeat")
    assert "heartbeat.json.newer-format-9-" in verdict
    assert verdict.endswith("unhealthy: no successful run yet")


def test_a_configuration_problem_is_unhealthy_1_not_dockers_reserved_2(
    state: StateDir, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WORKER_SCHEDULE__MAX_AGE_HOURS", "soon")
    assert main(["health"]) == 1
    assert "schedule.max_age_hours" in capsys.readouterr().out


def test_no_run_yet_is_unhealthy(state: StateDir, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["health"]) == 1
    assert capsys.readouterr().out.startswith("unhealthy: ")
