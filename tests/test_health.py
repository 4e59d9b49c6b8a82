"""Health: the heartbeat verdict behind `health`, and the outage tracker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from tests.support.state import run_record
from worker.health import OutageTracker, evaluate, read_heartbeat
from worker.state import StateDir
from worker.state_records import Heartbeat

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
DAY = timedelta(hours=26)


def beat(success: datetime | None, last: datetime | None = None, status: str = "ok") -> Heartbeat:
    last = last or success
    return Heartbeat(
        last_run_at=last, last_status=status if last else None, last_success_at=success
    )


def test_a_recent_success_is_healthy() -> None:
    health = evaluate(beat(NOW - timedelta(hours=3)), max_age=DAY, now=NOW)
    assert health.healthy
    assert str(health) == "healthy: last successful run 3.0 h ago (limit 26.0 h)"


def test_a_success_older_than_the_limit_is_unhealthy_even_if_runs_go_on() -> None:
    heartbeat = beat(NOW - timedelta(hours=30), last=NOW - timedelta(minutes=5), status="failed")
    health = evaluate(heartbeat, max_age=DAY, now=NOW)
    assert not health.healthy
    assert "30.0 h ago" in health.reason
    assert "last run failed at 2026-11-26T11:55:00+00:00" in health.reason


def test_no_success_yet_is_unhealthy_the_start_period_covers_a_new_worker() -> None:
    assert evaluate(Heartbeat(), max_age=DAY, now=NOW).reason == "no successful run yet"
    failed_only = beat(None, last=NOW, status="failed")
    assert not evaluate(failed_only, max_age=DAY, now=NOW).healthy


def test_a_degraded_last_run_is_unhealthy_however_recent_the_last_success() -> None:
    degraded = beat(NOW - timedelta(hours=3), last=NOW - timedelta(minutes=5), status="degraded")
    health = evaluate(degraded, max_age=DAY, now=NOW)
    assert not health.healthy
    assert (
        health.reason == "last run at 2026-11-26T11:55:00+00:00 was degraded (see the run history)"
    )
    # The next clean run makes it healthy again.
    assert evaluate(beat(NOW - timedelta(minutes=1)), max_age=DAY, now=NOW).healthy


@pytest.mark.parametrize("value", ['"yesterday"', '"2026-11-26T10:00:00"', "17", "null"])
def test_an_unreadable_or_naive_timestamp_is_not_trusted(tmp_path: Path, value: str) -> None:
    (tmp_path / "heartbeat.json").write_text(f'{{"format": 1, "last_success_at": {value}}}')
    assert not evaluate(read_heartbeat(tmp_path), max_age=DAY, now=NOW).healthy


def test_the_heartbeat_written_by_a_run_is_what_health_reads(tmp_path: Path) -> None:
    StateDir(tmp_path).record_run(run_record(finished_at=NOW))
    assert evaluate(read_heartbeat(tmp_path), max_age=DAY, now=NOW + timedelta(hours=1)).healthy


def test_looking_at_a_missing_state_folder_does_not_create_it(tmp_path: Path) -> None:
    assert read_heartbeat(tmp_path / "absent") == Heartbeat()
    assert not (tmp_path / "absent").exists()


# -- the outage tracker ---------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def test_an_outage_is_announced_once_and_its_end_once_with_its_length() -> None:
    clock = Clock()
    tracker = OutageTracker(clock)
    with capture_logs() as logs:
        tracker.reachable()  # nothing to say while all is well
        tracker.unreachable(ConnectionError("cannot reach REDCap at https://r.example/api/"))
        clock.now += timedelta(hours=1)
        tracker.unreachable(ConnectionError("again"))
        assert tracker.down
        clock.now += timedelta(hours=1)
        tracker.reachable()
        tracker.reachable()
    assert [(e["event"], e["log_level"]) for e in logs] == [
        ("REDCap unreachable", "error"),
        ("REDCap still unreachable", "debug"),
        ("REDCap reachable again", "info"),
    ]
    assert logs[0]["error"] == "cannot reach REDCap at https://r.example/api/"
    assert (logs[2]["down_for_s"], logs[2]["failed_runs"]) == (7200, 2)
    assert not tracker.down


def test_a_second_outage_is_announced_again() -> None:
    tracker = OutageTracker(Clock())
    with capture_logs() as logs:
        for _ in range(2):
            tracker.unreachable(ConnectionError("down"))
            tracker.reachable()
    assert [e["event"] for e in logs].count("REDCap unreachable") == 2
