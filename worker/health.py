"""Is the worker doing its job? The verdict behind ``health`` (Docker's HEALTHCHECK), and
REDCap's reachability as a scheduler sees it across runs.

Health is judged from the state folder's heartbeat, which every finished run refreshes:
healthy while the last *successful* run is younger than ``schedule.max_age_hours`` and the
last run was not ``degraded`` (a check quarantined, or erring on more than
``check.max_error_share`` of its participants). A worker that runs but keeps failing is
unhealthy on purpose: someone should look.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import structlog

from worker.state import StateDir, utc_now
from worker.state_records import Heartbeat

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Health:
    healthy: bool
    reason: str  # one line, for ``docker inspect`` and a probe's event

    def __str__(self) -> str:
        return f"{'healthy' if self.healthy else 'unhealthy'}: {self.reason}"


def _hours(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    if seconds < 3600:
        return f"{max(0, round(seconds / 60))} min"
    return f"{seconds / 3600:.1f} h"


def evaluate(
    heartbeat: Heartbeat,
    *,
    max_age: timedelta,
    now: datetime,
    set_aside: Sequence[str] = (),
) -> Health:
    """The verdict on a heartbeat (see ``StateDir.record_run``) at ``now``. ``set_aside``:
    state files a newer worker wrote, set aside by this one (``StateDir.newer_format_set_aside``):
    unhealthy until someone has looked, since what they held (announced deviations, the
    failure streak, the cursor) was lost to this worker."""
    health = _judge(heartbeat, max_age=max_age, now=now)
    if not set_aside:
        return health
    return Health(
        False,
        f"state files from a newer worker set aside: {', '.join(set_aside)} "
        f"(look, then remove them); {health}",
    )


def _judge(heartbeat: Heartbeat, *, max_age: timedelta, now: datetime) -> Health:
    last_success = heartbeat.last_success_at
    last_status = heartbeat.last_status
    last_run = heartbeat.last_run_at.isoformat() if heartbeat.last_run_at else None
    latest = f"; last run {last_status} at {last_run}" if last_run else ""
    if last_success is None:
        # Also the state of a worker that has only just started: Docker's --start-period
        # (and a probe's initialDelaySeconds) must cover the first full sync.
        return Health(False, f"no successful run yet{latest}")
    age = now - last_success
    if last_status == "degraded":
        # A run that skipped or failed a check on many participants is no clean bill of
        # health, however recent: `history` says which checks and why.
        return Health(False, f"last run at {last_run} was degraded (see the run history)")
    if age > max_age:
        return Health(
            False,
            f"last successful run {_hours(age)} ago, at {last_success.isoformat()} "
            f"(limit {_hours(max_age)}){latest}",
        )
    return Health(True, f"last successful run {_hours(age)} ago (limit {_hours(max_age)})")


def read_heartbeat(state_dir: Path) -> Heartbeat:
    """The heartbeat, or none: a missing folder is not created by merely looking."""
    if not Path(state_dir).is_dir():
        return Heartbeat()
    return StateDir(state_dir).heartbeat()


def newer_format_set_aside(state_dir: Path) -> list[str]:
    """State files set aside because a newer worker wrote them (none if no folder)."""
    if not Path(state_dir).is_dir():
        return []
    return StateDir(state_dir).newer_format_set_aside()


class OutageTracker:
    """REDCap's reachability across scheduled runs, so that an outage is announced once.

    The first run that cannot reach REDCap logs "REDCap unreachable" at ERROR; later failed
    runs of the same outage log at DEBUG only (each run's own "sync run" line still says it
    failed); the first run that reaches REDCap again logs "REDCap reachable again" once,
    with how long it was down. ``down`` tells the scheduler to quieten the client's
    per-attempt retry warnings meanwhile.
    """

    def __init__(self, clock: Callable[[], datetime] = utc_now) -> None:
        self._clock = clock
        self.down_since: datetime | None = None
        self.failed_runs = 0

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def unreachable(self, error: BaseException) -> None:
        now = self._clock()
        self.failed_runs += 1
        if self.down_since is None:
            self.down_since = now
            # The message is the client's: one line, URL shown without credentials.
            log.error("REDCap unreachable", error=str(error))
            return
        log.debug(
            "REDCap still unreachable",
            failed_runs=self.failed_runs,
            down_for_s=round((now - self.down_since).total_seconds()),
        )

    def reachable(self) -> None:
        if self.down_since is None:
            return
        down_for = self._clock() - self.down_since
        log.info(
            "REDCap reachable again",
            down_for_s=round(down_for.total_seconds()),
            failed_runs=self.failed_runs,
        )
        self.down_since = None
        self.failed_runs = 0
