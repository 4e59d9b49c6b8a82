"""``run`` (worker/cli/run.py): sync on a schedule until stopped. What this module decides
itself: settings that cannot work (email, the schedule's overrides) fail the start in one
line, before any sync. Syncing on schedule and stopping: tests/e2e/test_run.py."""

from __future__ import annotations

import pytest

from tests.conftest import REPO
from worker.cli import main

CONFIG = str(REPO / "config.example.toml")

pytestmark = pytest.mark.usefixtures("restore_signals", "restore_log_stream")


@pytest.mark.e2e
def test_plain_smtp_to_a_remote_host_fails_the_start_before_any_sync(
    redcap_env, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("WORKER_EMAIL__SMTP_HOST", "smtp.example.org")
    monkeypatch.setenv("WORKER_EMAIL__SECURITY", "none")
    assert main(["run", "--config", CONFIG]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("error: ")
    assert "email.security" in line
    assert len(redcap_env.request_log) == 0


@pytest.mark.e2e
def test_a_full_sync_cron_override_is_checked_before_any_sync(redcap_env, capsys) -> None:
    assert main(["run", "--config", CONFIG, "--full-sync-cron", "0 2 * *"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert "needs 5 fields" in line
    assert len(redcap_env.request_log) == 0


@pytest.mark.parametrize("minutes", ["0", "-5", "often"])
def test_the_incremental_interval_must_be_a_positive_number_of_minutes(
    minutes: str, capsys
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["run", "--incremental-minutes", minutes])
    assert stopped.value.code == 2
    assert f"not a positive number of minutes: {minutes!r}" in capsys.readouterr().err
