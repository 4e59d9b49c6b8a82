"""``run``: the worker as one long-running process that syncs on a schedule (APScheduler 3.x).

- A full sync on a crontab schedule (``schedule.full_sync_cron``, daily by default) and an
  incremental sync every ``schedule.incremental_interval_minutes``, plus one sync at
  start-up: full if a scheduled full sync was missed (the job store is in memory, so a
  full sync due while the container was down is otherwise never made up), else incremental.
- One sync at a time: a single worker thread, ``max_instances=1``; missed runs coalesce
  into one; a run later than ``misfire_grace_s`` is skipped. Skips are logged (APScheduler
  alone would only drop them).
- A failed run is logged and the schedule goes on. REDCap being down is announced once per
  outage (``OutageTracker``). Failed runs in a row are counted across restarts: after
  ``email.alert_after_failures`` of them the data manager gets one alert, and one message
  when a run succeeds again (``worker.notify.failures``).
- The first SIGTERM or SIGINT is a warm shutdown: the running sync stops at its next safe
  point (between batches, or before the REDCap client's next attempt), the scheduler
  finishes, the process exits 0. A second signal is a cold shutdown: exit at once (safe
  too: writes are idempotent batches). ``worker.stopping`` holds the handlers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from datetime import date, datetime, timedelta
from threading import TIMEOUT_MAX
from typing import Any, Literal
from zoneinfo import ZoneInfo

import structlog
from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_SCHEDULER_STARTED,
    JobExecutionEvent,
    JobSubmissionEvent,
    SchedulerEvent,
)
from apscheduler.schedulers.base import STATE_STOPPED
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from worker.config import ScheduleSettings, Settings
from worker.connect import make_client
from worker.errors import (
    ConfigError,
    RedcapError,
    RedcapUnreachable,
    StopRequested,
    SyncBusy,
    WorkerError,
)
from worker.health import OutageTracker
from worker.jobs import incomplete_reason, run_sync_job
from worker.logs import REDACTOR
from worker.notify.failures import count_scheduled_run, unexpected_error
from worker.redcap_client import retry_log_level
from worker.session import Session, today_in
from worker.state import StateDir, utc_now
from worker.state_records import RunRecord
from worker.stopping import STOP_POLL_S, Shutdown

log = structlog.get_logger(__name__)

JobKind = Literal["full", "incremental", "startup"]
JOB_NAMES: dict[JobKind, str] = {
    "full": "full sync",
    "incremental": "incremental sync",
    "startup": "start-up sync",
}


# -- triggers ------------------------------------------------------------------------------


def full_sync_trigger(schedule: ScheduleSettings) -> CronTrigger:
    """The full sync's trigger: ``full_sync_cron`` (minute hour day month weekday) read in
    ``schedule.timezone``."""
    expr = schedule.full_sync_cron
    fields = expr.split()
    if len(fields) != 5:
        raise ConfigError(
            f"schedule.full_sync_cron: {expr!r} needs 5 fields (minute hour day month weekday)"
        )
    if any(ch.isdigit() for ch in fields[4]):
        # APScheduler 3 numbers weekdays from Monday = 0, crontab from Sunday = 0: a number
        # would silently run on the wrong day.
        raise ConfigError(
            f"schedule.full_sync_cron: {expr!r}: name the weekdays (e.g. mon-fri, sun), "
            "do not number them"
        )
    try:
        return CronTrigger.from_crontab(expr, timezone=ZoneInfo(schedule.timezone))
    except ValueError as exc:
        raise ConfigError(f"schedule.full_sync_cron: {expr!r}: {exc}") from None


def incremental_trigger(
    schedule: ScheduleSettings, *, start: datetime | None = None
) -> IntervalTrigger:
    """Every ``incremental_interval_minutes``, first at ``start`` (default: one interval
    from now)."""
    return IntervalTrigger(
        minutes=schedule.incremental_interval_minutes,
        start_date=start,
        timezone=ZoneInfo(schedule.timezone),
    )


def full_sync_due(history: Iterable[RunRecord], trigger: CronTrigger, now: datetime) -> bool:
    """Whether a scheduled full sync has come round since the last successful full sync
    started (always, if there is none): then the start-up sync is a full one. A degraded
    full sync (a check quarantined or erring) did its writes: it counts. (A damaged history
    reads as none: it costs a full sync, never the start-up sync itself.)"""
    started = [run.started_at for run in history if run.mode == "full" and run.succeeded]
    if not started:
        return True
    # The next full-sync time strictly after that start (the trigger's "next" includes the
    # instant it is given, and a scheduled run starts at its fire time to the second).
    due = trigger.get_next_fire_time(None, max(started) + timedelta(seconds=1))
    return due is not None and due <= now


# -- one scheduled run ---------------------------------------------------------------------


class SyncRunner:
    """What each scheduled run does around ``run_sync_job``.

    It never raises: a failed run is logged and the scheduler goes on. Each run gets a
    fresh REDCap client (the data dictionary is re-read, a rotated token file is picked
    up), today's as-of date unless one is fixed, and a clean log context (APScheduler runs
    jobs on its own thread, where the main thread's context variables are not seen).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        should_stop: Callable[[], bool],
        as_of: date | None = None,
        outage: OutageTracker | None = None,
        job: Callable[..., object] = run_sync_job,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.settings = settings
        self.should_stop = should_stop
        self.as_of = as_of
        self.outage = outage or OutageTracker(clock)
        self.job = job
        self.clock = clock

    def __call__(self, kind: JobKind) -> None:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(job=kind)
        try:
            self._run(kind)
        finally:
            structlog.contextvars.clear_contextvars()

    def _run(self, kind: JobKind) -> None:
        if self.should_stop():
            # A run queued behind the one being stopped: the executor still starts it.
            log.info("scheduled sync skipped", reason="shutting down")
            return
        # Once an outage has been announced, the client's per-attempt retry warnings would
        # only repeat it at every retry of every run.
        quiet = retry_log_level(logging.DEBUG) if self.outage.down else nullcontext()
        try:
            with quiet, self._session() as session:
                outcome = self.job(
                    session, incremental=self._incremental(kind), should_stop=self.should_stop
                )
        except SyncBusy as exc:
            log.warning("scheduled sync skipped", reason=str(exc))
        except StopRequested:
            pass  # the run's own line says "stopped"; the shutdown is logged by serve()
        except RedcapUnreachable as exc:
            self.outage.unreachable(exc)
            self._count(str(exc))
        except RedcapError as exc:
            self.outage.reachable()  # REDCap answered, if only to refuse
            log.error("sync failed", error=str(exc))
            self._count(str(exc))
        except WorkerError as exc:
            log.error("sync failed", error=str(exc))  # one line, safe to show by design
            self._count(str(exc))
        except Exception as exc:
            log.exception("sync failed")
            self._count(unexpected_error(exc))
        else:
            self.outage.reachable()
            self._count(incomplete_reason(outcome))

    def _count(self, error: str | None) -> None:
        """Count the run in the failure streak (``error`` None: it succeeded)."""
        count_scheduled_run(
            self.settings.state_dir, self.settings.email, error=error, now=self.clock()
        )

    def _incremental(self, kind: JobKind) -> bool:
        if kind != "startup":
            return kind == "incremental"
        history = StateDir(self.settings.state_dir).history()
        trigger = full_sync_trigger(self.settings.schedule)
        return not full_sync_due(history, trigger, self.clock())

    @contextmanager
    def _session(self) -> Iterator[Session]:
        settings = self.settings
        token = settings.redcap.resolved_token()
        if token is not None:
            REDACTOR.add(token.get_secret_value())
        as_of = self.as_of or today_in(settings.study.timezone)
        # The client asks about a stop before each attempt and during its retry waits.
        with make_client(settings.redcap, should_stop=self.should_stop) as client:
            yield Session(settings=settings, client=client, as_of=as_of)


# -- the scheduler -------------------------------------------------------------------------


def scheduler_options(schedule: ScheduleSettings) -> dict[str, Any]:
    """The scheduler's configuration (APScheduler's own defaults are not what we want)."""
    return {
        "timezone": ZoneInfo(schedule.timezone),
        # One worker thread: a sync never overlaps another, whichever job started it; a
        # run due meanwhile waits for it (and is dropped if that takes past its grace).
        "executors": {"default": {"type": "threadpool", "max_workers": 1}},
        "job_defaults": {
            # APScheduler's default grace is 1 s: a run that waited behind another, or a
            # machine that was busy for a second, would lose its run.
            "misfire_grace_time": schedule.misfire_grace_s,
            # A backlog (after a suspend, or a run longer than the interval) becomes one run.
            "coalesce": True,
            "max_instances": 1,
        },
    }


class StoppableScheduler(BlockingScheduler):
    """APScheduler's BlockingScheduler whose ``start()`` also returns once ``should_stop()``.

    Why the private ``_main_loop`` is overridden: ``start()`` blocks in it until
    ``shutdown()`` sets the loop's ``threading.Event``, and a signal handler may do neither
    safely (``shutdown()`` can deadlock on the executor's lock; ``Event.set()`` takes a lock
    too; a raised SystemExit can be swallowed by APScheduler: see ``Shutdown``). The handler
    only sets a flag, which the library's loop never reads, and it may sleep until the next
    job, hours away. So the six-line loop (``BlockingScheduler._main_loop``, 3.11) is
    repeated with the wait bounded by ``STOP_POLL_S`` and the flag checked around it; the
    scheduler is then shut down outside the handler (``serve``). APScheduler 4 replaces
    this API altogether. tests/test_scheduler_contract.py pins the library's loop and how
    ``start()`` enters it, so an APScheduler release that changes either fails there.
    """

    def __init__(self, should_stop: Callable[[], bool], **options: Any) -> None:
        super().__init__(**options)
        self._should_stop = should_stop

    def _main_loop(self) -> None:
        wait_seconds: float | None = TIMEOUT_MAX
        while self.state != STATE_STOPPED and not self._should_stop():
            self._event.wait(
                STOP_POLL_S if wait_seconds is None else min(wait_seconds, STOP_POLL_S)
            )
            self._event.clear()
            if self._should_stop():
                return
            wait_seconds = self._process_jobs()


def build_scheduler(
    schedule: ScheduleSettings,
    runner: Callable[[JobKind], None],
    *,
    should_stop: Callable[[], bool],
    sync_at_start: bool = True,
) -> StoppableScheduler:
    """A blocking scheduler with the full and incremental jobs (and the start-up sync)."""
    # Built first so a bad schedule fails at start-up with a configuration error.
    full, incremental = full_sync_trigger(schedule), incremental_trigger(schedule)
    scheduler = StoppableScheduler(should_stop, **scheduler_options(schedule))
    scheduler.add_job(runner, full, args=["full"], id="full", name=JOB_NAMES["full"])
    scheduler.add_job(
        runner, incremental, args=["incremental"], id="incremental", name=JOB_NAMES["incremental"]
    )
    if sync_at_start:
        # A date trigger with no date: once, now.
        scheduler.add_job(runner, "date", args=["startup"], id="startup", name=JOB_NAMES["startup"])
    scheduler.add_listener(
        lambda event: on_scheduler_event(scheduler, event),
        EVENT_SCHEDULER_STARTED | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES | EVENT_JOB_ERROR,
    )
    return scheduler


def on_scheduler_event(scheduler: BlockingScheduler, event: SchedulerEvent) -> None:
    """Log what APScheduler would otherwise drop quietly: skipped runs."""
    if event.code == EVENT_SCHEDULER_STARTED:
        log.info(
            "scheduler started",
            next_runs={
                job.id: job.next_run_time.isoformat() if job.next_run_time else None
                for job in scheduler.get_jobs()
            },
        )
    elif event.code == EVENT_JOB_MISSED and isinstance(event, JobExecutionEvent):
        log.warning(
            "scheduled sync skipped",
            job=event.job_id,
            reason="it could not start within misfire_grace_s of its time",
            scheduled_for=event.scheduled_run_time.isoformat(),
        )
    elif event.code == EVENT_JOB_MAX_INSTANCES and isinstance(event, JobSubmissionEvent):
        log.warning(
            "scheduled sync skipped",
            job=event.job_id,
            reason="its previous run is still going or waiting",
            scheduled_for=[t.isoformat() for t in event.scheduled_run_times],
        )
    elif event.code == EVENT_JOB_ERROR and isinstance(event, JobExecutionEvent):
        # SyncRunner catches everything, so this is a bug in the runner itself.
        log.error("scheduled job crashed", job=event.job_id, error=repr(event.exception))


def serve(scheduler: BlockingScheduler, shutdown: Shutdown) -> int:
    """Run the scheduler until a stop is asked for; let the running sync stop; return 0."""
    # Without Shutdown's handlers (embedding, tests) Ctrl-C arrives as KeyboardInterrupt.
    with suppress(KeyboardInterrupt):
        scheduler.start()
    shutdown.requested = True
    log.info("shutting down: waiting for the running sync to stop", signal=shutdown.signal_name)
    if scheduler.running:
        scheduler.shutdown(wait=True)  # outside any signal handler: may wait for the job
    log.info("scheduler stopped")
    return 0
