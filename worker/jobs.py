"""A sync as a job: what ``sync`` and each scheduled run do around the sync itself.

Incremental runs start from the cursor of the last successful sync (less an overlap
margin) and reuse the project structure a recent sync read (see ``saved_structure``);
summaries go out; the run is recorded in the state folder's history and heartbeat.
A run that fails still leaves its history line, and never moves the cursor.

This is the glue of ``sync`` and the scheduler, the one place besides them that reads the
whole settings: it hands each library call the section, or the small options, it needs.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import structlog

from worker.core.outcome import RunOutcome
from worker.core.schema import ProjectSchema
from worker.errors import RedcapRefused, StopRequested
from worker.notify import NotifyOutcome, after_sync
from worker.notify.smtp import check_transport
from worker.session import Session, summary_options, sync_options
from worker.state import StateDir, utc_now
from worker.state_records import RunRecord
from worker.sync import run_sync
from worker.sync_run import StopCheck

log = structlog.get_logger(__name__)

Mode = Literal["full", "incremental", "records"]


@dataclass
class JobOutcome:
    run_id: str
    mode: Mode
    sync: RunOutcome
    notify: NotifyOutcome
    duration_s: float

    @property
    def ok(self) -> bool:
        return self.sync.complete and self.notify.ok

    @property
    def status(self) -> str:
        """``incomplete`` (writes or summaries failed), ``degraded`` (a check quarantined or
        erring on too many participants: not a clean bill of health) or ``ok``."""
        if not self.ok:
            return "incomplete"
        return self.sync.status


def incomplete_reason(outcome: object) -> str | None:
    """Why a run that finished still failed (write batches rejected, summaries not sent),
    in counts only: REDCap's rejection messages can quote the rows' values."""
    if not isinstance(outcome, JobOutcome) or outcome.ok:
        return None
    problems = []
    if outcome.sync.write_errors:
        n = len(outcome.sync.write_errors)
        problems.append(f"REDCap rejected {n} query write batch{'es' if n > 1 else ''}")
    if outcome.notify.failed:
        n = len(outcome.notify.failed)
        problems.append(f"{n} summar{'ies' if n > 1 else 'y'} not sent")
    return "the run was incomplete: " + ", ".join(problems)


def changed_since(state: StateDir, session: Session) -> datetime | None:
    """The ``dateRangeBegin`` for an incremental run, in REDCap's server time; None: full."""
    cursor = state.cursor()
    if cursor is None:
        return None
    schedule, redcap = session.settings.schedule, session.settings.redcap
    begin = cursor - timedelta(minutes=schedule.incremental_overlap_minutes)
    return begin.astimezone(ZoneInfo(redcap.server_timezone)).replace(tzinfo=None)


def saved_structure(state: StateDir, session: Session, now: datetime) -> ProjectSchema | None:
    """The project structure an incremental run may reuse instead of reading it again:
    saved by a sync of the same project at most ``incremental_structure_max_age_hours`` ago.

    Why reuse it: reading the structure takes several requests, more than the changed
    records themselves, and design changes are rare and deliberate. An incremental run
    judges only the records that changed; a design change reaches every record at the next
    full sync (which always reads the structure), or as soon as a saved structure has aged
    out. If REDCap refuses an export because the design changed (a form or field gone), the
    run reads the structure again and starts over (``_sync_reading_structure_if_refused``).
    """
    hours = session.settings.schedule.incremental_structure_max_age_hours
    if hours <= 0:
        return None
    return state.structure(session.client.url, read_since=now - timedelta(hours=hours))


def run_sync_job(
    session: Session,
    *,
    incremental: bool = False,
    records: Sequence[str] | None = None,
    dry_run: bool = False,
    on_progress=None,
    should_stop: StopCheck | None = None,
    on_write_progress=None,
) -> JobOutcome:
    """One sync run. ``should_stop`` lets a scheduler end it early at a safe point
    (``SyncStopped``); a stopped or failed run is recorded and never moves the cursor.
    ``SyncBusy`` if another sync holds the state folder (a dry run writes nothing and
    needs no lock). Email settings that cannot work (a username with no password, plain
    SMTP to a remote relay) are a ``ConfigError`` before anything is read or written: found
    only after the query writes, they would cost the run's summaries."""
    check_transport(session.settings.email)
    run_id = uuid.uuid4().hex[:12]
    state = StateDir(session.settings.state_dir)
    # Every line of the run (client, sync, notify) carries its run_id.
    with (
        structlog.contextvars.bound_contextvars(run_id=run_id),
        nullcontext() if dry_run else state.sync_lock(),
    ):
        return _sync_job(
            session,
            state,
            run_id,
            incremental=incremental,
            records=records,
            dry_run=dry_run,
            on_progress=on_progress,
            should_stop=should_stop,
            on_write_progress=on_write_progress,
        )


def _sync_reading_structure_if_refused(
    sync: Callable[[], RunOutcome], session: Session, saved: ProjectSchema | None
) -> RunOutcome:
    """``sync()``; if REDCap refuses it while a saved structure is in use, the design has
    changed since (a form or field is gone): read the structure and sync again. Nothing was
    written by then (rejected writes are reported in the result, never raised)."""
    if saved is None:
        return sync()
    try:
        return sync()
    except RedcapRefused as exc:
        # A design change is REDCap's 400 (an unknown field or form); a ban or lost rights
        # refuses every request alike, so asking again would only send more.
        if getattr(exc, "status", 400) != 400:
            raise
        log.warning("project structure changed; reading it again", error=str(exc))
        session.client.forget_schema()
        return sync()


def _sync_job(
    session: Session,
    state: StateDir,
    run_id: str,
    *,
    incremental: bool,
    records: Sequence[str] | None,
    dry_run: bool,
    on_progress,
    should_stop: StopCheck | None,
    on_write_progress=None,
) -> JobOutcome:
    settings = session.settings
    started_at = utc_now()
    clock = time.monotonic()
    date_begin = changed_since(state, session) if incremental and not records else None
    mode: Mode = "records" if records else ("incremental" if date_begin else "full")
    log.info("sync started", run_id=run_id, mode=mode)
    saved = saved_structure(state, session, started_at) if mode == "incremental" else None
    if saved is not None:
        session.client.use_schema(saved)

    def sync() -> RunOutcome:
        return run_sync(
            session.client,
            sync_options(settings),
            as_of=session.as_of,
            now=started_at,
            records=records,
            date_begin=date_begin,
            dry_run=dry_run,
            on_progress=on_progress,
            should_stop=should_stop,
            on_write_progress=on_write_progress,
        )

    try:
        result = _sync_reading_structure_if_refused(sync, session, saved)
        if result.schema is not saved and result.schema is not None and not dry_run:
            state.save_structure(session.client.url, result.schema, started_at)
        notify = after_sync(
            summary_options(settings),
            state,
            result,
            as_of=session.as_of,
            now=started_at,
            dry_run=dry_run,
        )
    except BaseException as exc:
        status = "stopped" if isinstance(exc, StopRequested) else "failed"
        duration_s = round(time.monotonic() - clock, 3)
        if not dry_run:
            state.record_run(
                RunRecord(
                    run_id=run_id,
                    mode=mode,
                    status=status,
                    started_at=started_at,
                    finished_at=utc_now(),
                    duration_s=duration_s,
                    error=type(exc).__name__,
                )
            )
        # The run's one line exists for failed runs too; why it failed is the caller's to
        # log (a scheduler says "REDCap unreachable" once per outage, not once per run).
        log.info(
            "sync run",
            run_id=run_id,
            mode=mode,
            status=status,
            duration_s=duration_s,
            error=type(exc).__name__,
        )
        raise
    outcome = JobOutcome(run_id, mode, result, notify, time.monotonic() - clock)
    if not dry_run:
        if result.complete and mode != "records":
            state.set_cursor(started_at)
        state.record_run(
            RunRecord(
                run_id=run_id,
                mode=mode,
                status=outcome.status,
                started_at=started_at,
                finished_at=utc_now(),
                duration_s=round(outcome.duration_s, 3),
                counts=result.counts()
                | {
                    "records_checked": result.records_checked,
                    "summaries_failed": len(notify.failed),
                },
                quarantined=dict(result.quarantined),
                degraded=tuple(result.degraded),
            )
        )
    log.info(
        "sync run",
        run_id=run_id,
        mode=mode,
        status=outcome.status,
        duration_s=round(outcome.duration_s, 3),
        records=result.records_checked,
        **result.counts(),
    )
    return outcome
