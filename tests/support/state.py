"""The worker's state records built by hand: a run as the history keeps it."""

from __future__ import annotations

from datetime import UTC, datetime

from worker.state_records import RunRecord


def run_record(
    *,
    status: str = "ok",
    mode: str = "full",
    started_at: datetime = datetime(2026, 11, 26, 8, 0, tzinfo=UTC),
    finished_at: datetime | None = None,
    run_id: str = "run",
) -> RunRecord:
    """A run as the history keeps it (``finished_at`` defaults to its start)."""
    return RunRecord(
        run_id=run_id,
        mode=mode,
        status=status,
        started_at=started_at,
        finished_at=finished_at or started_at,
        duration_s=0.0,
    )
