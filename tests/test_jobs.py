"""A sync as a job (worker/jobs.py): where an incremental run starts, which run is recorded
and what moves the cursor, and the status a run ends with. Incremental runs against REDCap's
clock: tests/e2e/test_incremental.py."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.projects import AS_OF, REPO
from tests.support.worker_process import worker_env
from worker.config import Settings, load_settings
from worker.core.outcome import RunOutcome
from worker.jobs import JobOutcome, changed_since, run_sync_job, saved_structure
from worker.notify import NotifyOutcome
from worker.pipeline import make_client
from worker.session import Session
from worker.state import StateDir


@pytest.fixture
def settings(demo_sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    env = worker_env(demo_sandbox.url, demo_sandbox.token, WORKER_STATE_DIR=str(tmp_path))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return load_settings(REPO / "config.example.toml")


def session_of(settings: Settings) -> Session:
    return Session(settings=settings, client=make_client(settings.redcap), as_of=AS_OF)


def with_redcap(settings: Settings, **values: object) -> Settings:
    return settings.model_copy(update={"redcap": settings.redcap.model_copy(update=values)})


def with_schedule(settings: Settings, **values: object) -> Settings:
    schedule = settings.schedule.model_copy(update=values)
    return settings.model_copy(update={"schedule": schedule})


@pytest.mark.e2e
def test_with_no_cursor_a_run_is_full(settings: Settings) -> None:
    assert changed_since(StateDir(settings.state_dir), session_of(settings)) is None


@pytest.mark.e2e
def test_an_incremental_run_starts_the_overlap_before_the_cursor_in_server_time(
    settings: Settings,
) -> None:
    state = StateDir(settings.state_dir)
    state.set_cursor(datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
    configured = with_schedule(
        with_redcap(settings, server_timezone="America/Chicago"), incremental_overlap_minutes=10
    )
    # 11:50 UTC is 05:50 in Chicago; REDCap compares naive server-local times.
    assert changed_since(state, session_of(configured)) == datetime(2026, 11, 26, 5, 50)


@pytest.mark.e2e
def test_a_saved_structure_is_not_reused_when_reuse_is_off(settings: Settings) -> None:
    session = session_of(settings)
    state = StateDir(settings.state_dir)
    now = datetime.now(UTC)
    state.save_structure(session.client.url, session.client.schema(), now)
    assert saved_structure(state, session, now) is not None
    off = with_schedule(settings, incremental_structure_max_age_hours=0)
    assert saved_structure(state, session_of(off), now) is None


@pytest.mark.e2e
def test_a_run_is_recorded_and_a_complete_full_run_moves_the_cursor(settings: Settings) -> None:
    state = StateDir(settings.state_dir)
    outcome = run_sync_job(session_of(settings))
    assert outcome.mode == "full"
    assert outcome.ok
    [entry] = state.history()
    assert (entry.run_id, entry.mode, entry.status) == (
        outcome.run_id,
        "full",
        outcome.status,
    )
    assert entry.counts["created"] == len(outcome.sync.plan.changes)
    assert state.cursor() is not None
    assert run_sync_job(session_of(settings), incremental=True).mode == "incremental"


@pytest.mark.e2e
def test_a_dry_run_and_a_run_of_named_records_leave_the_cursor_alone(settings: Settings) -> None:
    state = StateDir(settings.state_dir)
    assert run_sync_job(session_of(settings), dry_run=True).mode == "full"
    assert state.history() == []
    assert run_sync_job(session_of(settings), records=["1"]).mode == "records"
    assert state.cursor() is None
    assert [run.mode for run in state.history()] == ["records"]


def outcome(*, write_errors: list[str] = (), failed: list[str] = (), quarantined=None):
    sync = RunOutcome(as_of=AS_OF, quarantined=quarantined or {}, write_errors=list(write_errors))
    return JobOutcome("r1", "full", sync, NotifyOutcome(failed=list(failed)), 1.0)


def test_a_run_is_incomplete_when_writes_or_summaries_failed_else_degraded_or_ok() -> None:
    assert outcome().status == "ok"
    assert outcome(quarantined={"NK-X": "field gone"}).status == "degraded"
    assert outcome(write_errors=["record 7: locked"]).status == "incomplete"
    assert outcome(failed=["summary: relay down"], quarantined={"NK-X": "x"}).status == (
        "incomplete"
    )
