"""The scheduler: triggers read with explicit times, the start-up choice, each run's guard
rails (never raising, outage told once, stop honoured) and warm shutdown."""

from __future__ import annotations

import json
import logging
import os
import socket
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import structlog
from structlog.testing import capture_logs

from tests.support.smtpd import free_port, smtp_server
from tests.support.state import run_record
from worker.config import EmailSettings, ScheduleSettings, Settings
from worker.errors import ConfigError, RedcapRefused, SyncBusy
from worker.health import OutageTracker
from worker.redcap_client import RedcapRequestFailed
from worker.redcap_client.transport import _retry_log_level
from worker.scheduler import (
    Shutdown,
    SyncRunner,
    build_scheduler,
    full_sync_due,
    full_sync_trigger,
    incremental_trigger,
    scheduler_options,
    serve,
)
from worker.state import StateDir
from worker.state_records import RunRecord
from worker.sync import SyncStopped


def schedule(**kw: object) -> ScheduleSettings:
    return ScheduleSettings(**kw)


def at(*args: int, tz: str = "UTC") -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(tz))


# -- the full sync's cron trigger ------------------------------------------------------------


def test_the_default_full_sync_runs_daily_at_two_in_the_schedule_timezone() -> None:
    trigger = full_sync_trigger(schedule())
    assert trigger.get_next_fire_time(None, at(2026, 11, 26, 8, 0)) == at(2026, 11, 27, 2, 0)
    assert trigger.get_next_fire_time(None, at(2026, 11, 27, 1, 59)) == at(2026, 11, 27, 2, 0)


def test_the_cron_is_read_in_the_configured_timezone_not_utc() -> None:
    trigger = full_sync_trigger(schedule(timezone="Asia/Shanghai"))
    fire = trigger.get_next_fire_time(None, at(2026, 11, 26, 0, 0))
    # 02:00 in Shanghai (UTC+8) is 18:00 UTC the day before.
    assert fire == at(2026, 11, 27, 2, 0, tz="Asia/Shanghai")
    assert fire.astimezone(UTC) == datetime(2026, 11, 26, 18, 0, tzinfo=UTC)


def test_weekday_names_mean_what_crontab_means() -> None:
    trigger = full_sync_trigger(schedule(full_sync_cron="30 1 * * mon-fri"))
    friday_night = at(2026, 11, 27, 23, 0)  # 2026-11-27 is a Friday
    assert trigger.get_next_fire_time(None, friday_night) == at(2026, 11, 30, 1, 30)  # Monday


@pytest.mark.parametrize("cron", ["0 2 * * 1", "0 2 * * 1-5", "0 2 * * */2"])
def test_numbered_weekdays_are_refused_as_apscheduler_counts_them_from_monday(cron: str) -> None:
    with pytest.raises(ConfigError, match="name the weekdays"):
        full_sync_trigger(schedule(full_sync_cron=cron))


@pytest.mark.parametrize(
    ("cron", "says"),
    [("0 2 * *", "needs 5 fields"), ("61 2 * * *", "full_sync_cron"), ("x 2 * * *", "x 2")],
)
def test_a_bad_cron_is_a_configuration_error_naming_the_key(cron: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        full_sync_trigger(schedule(full_sync_cron=cron))


def test_a_bad_cron_stops_the_scheduler_from_being_built() -> None:
    with pytest.raises(ConfigError):
        build_scheduler(schedule(full_sync_cron="0 2 * *"), print, should_stop=bool)


# -- the incremental interval trigger --------------------------------------------------------


def test_incremental_syncs_follow_the_interval_from_their_start() -> None:
    start = at(2026, 11, 26, 8, 0)
    trigger = incremental_trigger(schedule(incremental_interval_minutes=60), start=start)
    assert trigger.get_next_fire_time(None, start) == start
    assert trigger.get_next_fire_time(start, start) == at(2026, 11, 26, 9, 0)
    # Asked late (the process was suspended), it names the next slot on the same grid.
    assert trigger.get_next_fire_time(None, at(2026, 11, 26, 11, 30)) == at(2026, 11, 26, 12, 0)


def test_a_fractional_interval_is_kept_for_quick_tries() -> None:
    start = at(2026, 11, 26, 8, 0)
    trigger = incremental_trigger(schedule(incremental_interval_minutes=0.5), start=start)
    assert trigger.get_next_fire_time(start, start) == start + timedelta(seconds=30)


# -- the scheduler's configuration -----------------------------------------------------------


def test_one_sync_at_a_time_missed_runs_coalesced_and_the_configured_grace() -> None:
    options = scheduler_options(schedule(misfire_grace_s=600, timezone="Europe/Berlin"))
    assert options["executors"] == {"default": {"type": "threadpool", "max_workers": 1}}
    assert options["job_defaults"] == {
        "misfire_grace_time": 600,
        "coalesce": True,
        "max_instances": 1,
    }
    assert options["timezone"] == ZoneInfo("Europe/Berlin")


def test_the_scheduler_holds_the_full_incremental_and_start_up_jobs() -> None:
    scheduler = build_scheduler(schedule(), print, should_stop=bool)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"full", "incremental", "startup"}
    assert {job_id: job.args for job_id, job in jobs.items()} == {
        "full": ("full",),
        "incremental": ("incremental",),
        "startup": ("startup",),
    }
    later = build_scheduler(schedule(), print, should_stop=bool, sync_at_start=False)
    assert {job.id for job in later.get_jobs()} == {"full", "incremental"}


# -- which sync runs at start-up ---------------------------------------------------------------


def full(started_at: datetime, status: str = "ok") -> RunRecord:
    return run_record(mode="full", status=status, started_at=started_at)


def test_start_up_is_a_full_sync_without_a_successful_full_sync_on_record() -> None:
    trigger = full_sync_trigger(schedule())
    now = at(2026, 11, 26, 12, 0)
    assert full_sync_due([], trigger, now)
    stopped = [full(at(2026, 11, 26, 2, 0), status="stopped")]
    assert full_sync_due(stopped, trigger, now)
    incremental_only = [run_record(mode="incremental", started_at=now)]
    assert full_sync_due(incremental_only, trigger, now)


def test_a_damaged_history_means_a_full_sync_not_a_crash(tmp_path: Path) -> None:
    trigger = full_sync_trigger(schedule())
    lines = [
        {"run_id": "r", "mode": "full", "status": "ok", "finished_at": "2026-11-26T03:00:00+00:00"}
        | {"started_at": x}
        for x in ("soon", None, 7, "2026-11-26T03:00:00")  # the last has no UTC offset
    ]
    (tmp_path / "history.json").write_text(json.dumps(lines))  # unversioned, as before
    (tmp_path / "copy").mkdir()
    (tmp_path / "copy" / "history.json").write_text(json.dumps({"format": 1, "runs": lines}))
    for folder in (tmp_path, tmp_path / "copy"):
        history = StateDir(folder).history()
        assert history == []
        assert full_sync_due(history, trigger, at(2026, 11, 26, 12, 0))


def test_start_up_is_incremental_when_no_scheduled_full_sync_was_missed() -> None:
    trigger = full_sync_trigger(schedule())
    history = [full(at(2026, 11, 25, 2, 0)), full(at(2026, 11, 26, 2, 0))]
    assert not full_sync_due(history, trigger, at(2026, 11, 26, 12, 0))


def test_start_up_is_full_when_the_container_was_down_at_the_full_sync_time() -> None:
    trigger = full_sync_trigger(schedule())
    history = [full(at(2026, 11, 25, 2, 0))]
    assert full_sync_due(history, trigger, at(2026, 11, 26, 12, 0))


# -- one run ------------------------------------------------------------------------------------


class FakeJob:
    """Stands in for run_sync_job: records its calls, raises what it is given."""

    def __init__(self, *outcomes: BaseException | None) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[dict] = []

    def __call__(self, session, **kw) -> None:
        self.calls.append({"session": session, "retry_level": _retry_log_level.get(), **kw})
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    # The environment beats the arguments in Settings: keep the caller's out.
    for key in list(os.environ):
        if key.startswith(("WORKER_", "REDCAP_API_", "SMTP_PASSWORD")):
            monkeypatch.delenv(key)
    return Settings(
        redcap={"url": "http://127.0.0.1:9/api/", "token": "A" * 32},
        study={"timezone": "Asia/Shanghai"},
        state_dir=tmp_path / "state",
    )


def runner(settings: Settings, job: FakeJob, **kw) -> SyncRunner:
    kw.setdefault("should_stop", lambda: False)
    return SyncRunner(settings, job=job, **kw)


def unreachable() -> RedcapRequestFailed:
    return RedcapRequestFailed(
        "cannot reach REDCap at http://127.0.0.1:9/api/: connection refused",
        what="export project info",
        reason="connection refused",
        error_class="ConnectionError",
        attempts=5,
        maybe_applied=False,
    )


def test_each_job_asks_for_its_kind_of_sync(settings: Settings) -> None:
    job = FakeJob()
    run = runner(settings, job)
    run("full")
    run("incremental")
    run("startup")  # nothing on record: full
    assert [c["incremental"] for c in job.calls] == [False, True, False]


def test_start_up_after_todays_full_sync_is_incremental(settings: Settings) -> None:
    StateDir(settings.state_dir).record_run(full(at(2026, 11, 26, 2, 0, 1)))
    job = FakeJob()
    runner(settings, job, clock=lambda: at(2026, 11, 26, 12, 0))("startup")
    assert job.calls[0]["incremental"] is True


def test_each_run_is_evaluated_as_of_today_unless_a_date_is_fixed(settings: Settings) -> None:
    job = FakeJob()
    before = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    runner(settings, job)("full")
    after = datetime.now(ZoneInfo("Asia/Shanghai")).date()  # the same, unless at midnight
    runner(settings, job, as_of=date(2026, 11, 26))("full")
    assert job.calls[0]["session"].as_of in {before, after}
    assert job.calls[1]["session"].as_of == date(2026, 11, 26)


def test_a_failing_run_never_raises_into_the_scheduler(settings: Settings) -> None:
    job = FakeJob(RuntimeError("a bug"), RedcapRefused("REDCap refused: bad token"), None)
    run = runner(settings, job)
    with capture_logs() as logs:
        run("incremental")
        run("incremental")
        run("incremental")
    failures = [e for e in logs if e["event"] == "sync failed"]
    assert [e["log_level"] for e in failures] == ["error", "error"]
    assert failures[0]["exc_info"]  # an unexpected error keeps its traceback
    assert failures[1]["error"] == "REDCap refused: bad token"
    assert len(job.calls) == 3


def test_an_outage_is_logged_once_and_its_end_once(settings: Settings) -> None:
    job = FakeJob(unreachable(), unreachable(), unreachable(), None, None)
    run = runner(settings, job)
    with capture_logs() as logs:
        for _ in range(5):
            run("incremental")
    told = [(e["event"], e["log_level"]) for e in logs if "REDCap" in e["event"]]
    assert told == [
        ("REDCap unreachable", "error"),
        ("REDCap still unreachable", "debug"),
        ("REDCap still unreachable", "debug"),
        ("REDCap reachable again", "info"),
    ]
    # Once the outage is known, the client's per-attempt retry lines go quiet.
    levels = [c["retry_level"] for c in job.calls]
    assert levels == [logging.WARNING, logging.DEBUG, logging.DEBUG, logging.DEBUG, logging.WARNING]


def test_a_refusal_during_an_outage_means_redcap_answers_again(settings: Settings) -> None:
    outage = OutageTracker()
    job = FakeJob(unreachable(), RedcapRefused("REDCap refused to export records: locked"))
    run = runner(settings, job, outage=outage)
    run("incremental")
    assert outage.down
    run("incremental")
    assert not outage.down


def test_a_stopped_run_is_quiet_and_runs_queued_behind_it_are_skipped(settings: Settings) -> None:
    job = FakeJob(SyncStopped("stopped before the next export batch"))
    shutdown = Shutdown()
    run = runner(settings, job, should_stop=shutdown)
    with capture_logs() as logs:
        run("full")
        shutdown.requested = True
        run("incremental")
    assert len(job.calls) == 1
    assert job.calls[0]["should_stop"] is shutdown
    assert [e["event"] for e in logs] == ["scheduled sync skipped"]


def test_each_run_logs_with_its_job_and_leaves_no_context_behind(settings: Settings) -> None:
    seen: list[dict] = []

    def job(session, **kw) -> None:
        seen.append(structlog.contextvars.get_contextvars())

    structlog.contextvars.bind_contextvars(leftover="from another run")
    SyncRunner(settings, should_stop=lambda: False, job=job)("incremental")
    assert seen == [{"job": "incremental"}]
    assert structlog.contextvars.get_contextvars() == {}


def test_a_run_that_finds_another_sync_running_is_skipped_with_a_warning(
    settings: Settings,
) -> None:
    job = FakeJob(SyncBusy("another sync is running with the state folder /state"))
    with capture_logs() as logs:
        runner(settings, job)("incremental")
    [line] = [e for e in logs if e["log_level"] != "debug"]
    assert line["event"] == "scheduled sync skipped"
    assert line["log_level"] == "warning"
    assert "another sync is running" in line["reason"]


def test_a_real_run_against_a_closed_port_reports_the_outage_once(settings: Settings) -> None:
    """Through the real client: retries, give-up, the outage line, no exception."""
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    closed = settings.model_copy(
        update={
            "redcap": settings.redcap.model_copy(
                update={
                    "url": f"http://127.0.0.1:{port}/api/",
                    "retry_attempts": 2,
                    "retry_base_delay_s": 0.0,
                    "retry_max_delay_s": 0.0,
                }
            ),
        }
    )
    run = SyncRunner(closed, should_stop=lambda: False)
    with capture_logs() as logs:
        run("incremental")
        run("incremental")
    retries = [e["log_level"] for e in logs if e["event"] == "redcap request failed, retrying"]
    assert retries == ["warning", "debug"]
    assert [e["event"] for e in logs if e["log_level"] == "error"] == ["REDCap unreachable"]
    assert [run.status for run in StateDir(closed.state_dir).history()] == ["failed", "failed"]


# -- warm and cold shutdown ----------------------------------------------------------------------


def test_the_scheduler_returns_once_a_stop_is_asked_for_and_waits_for_the_run() -> None:
    shutdown = Shutdown()
    ran: list[str] = []

    def runner(kind: str) -> None:
        ran.append(kind)
        shutdown.requested = True  # as the signal handler does, while a sync runs

    scheduler = build_scheduler(schedule(), runner, should_stop=shutdown)
    with capture_logs() as logs:
        assert serve(scheduler, shutdown) == 0
    assert ran == ["startup"]
    assert not scheduler.running
    assert [e["event"] for e in logs][-2:] == [
        "shutting down: waiting for the running sync to stop",
        "scheduler stopped",
    ]


def test_a_stop_asked_for_before_the_start_runs_nothing() -> None:
    shutdown = Shutdown()
    shutdown.requested = True
    ran: list[str] = []
    assert serve(build_scheduler(schedule(), ran.append, should_stop=shutdown), shutdown) == 0
    assert ran == []


# -- failure alerts ----------------------------------------------------------------------------


def alerting(settings: Settings, port: int, **email: object) -> Settings:
    """The settings with a loopback relay and a data manager to alert."""
    values = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "security": "none",
        "sender": "worker@example.org",
        "data_manager": ["dm@example.org"],
        "alert_after_failures": 3,
        "study_name": "NK-01",
    } | email
    return settings.model_copy(update={"email": EmailSettings(**values)})


@pytest.mark.e2e
def test_the_data_manager_hears_once_that_runs_keep_failing_and_once_that_they_recovered(
    settings: Settings,
) -> None:
    with smtp_server() as relay:
        configured = alerting(settings, relay.port)
        job = FakeJob(unreachable(), unreachable(), unreachable(), unreachable(), None, None)
        hours = iter(range(8, 14))
        now = at(2026, 11, 26, 8)
        run = runner(configured, job, clock=lambda: now)

        def hourly() -> None:
            nonlocal now
            now = at(2026, 11, 26, next(hours))
            run("incremental")

        hourly()
        hourly()
        assert relay.messages == []  # two failures: not yet
        hourly()
        [alert] = relay.messages
        hourly()  # still failing: no second alert
        assert len(relay.messages) == 1
        hourly()
        hourly()  # a second success: nothing more
    alert, recovered = relay.messages
    assert alert.subject == "[REDCap worker: NK-01] ALERT: scheduled syncs failing (3 in a row)"
    assert alert.rcpt_tos == ["dm@example.org"]
    assert "failed 3 times in a row, since 2026-11-26 08:00 UTC" in alert.text
    assert "cannot reach REDCap at http://127.0.0.1:9/api/" in alert.text
    assert "cannot reach REDCap" in alert.html
    assert recovered.subject == "[REDCap worker: NK-01] Recovered: scheduled syncs succeed again"
    assert "succeeded after 4 failed runs since 2026-11-26 08:00 UTC" in recovered.text
    assert recovered.rcpt_tos == ["dm@example.org"]


@pytest.mark.e2e
def test_the_failure_count_survives_a_restart_and_a_restart_does_not_alert_again(
    settings: Settings,
) -> None:
    with smtp_server() as relay:
        configured = alerting(settings, relay.port)
        # Each run in a new runner, as after a restart of the process: only the state
        # folder carries the count.
        for _ in range(2):
            runner(configured, FakeJob(RedcapRefused("REDCap refused: bad token")))("full")
        assert relay.messages == []
        for _ in range(3):
            runner(configured, FakeJob(RedcapRefused("REDCap refused: bad token")))("full")
        assert [m.subject.split("] ")[1] for m in relay.messages] == [
            "ALERT: scheduled syncs failing (3 in a row)"
        ]
        runner(configured, FakeJob(None))("full")
    assert [m.subject.split("] ")[1].split(":")[0] for m in relay.messages] == [
        "ALERT",
        "Recovered",
    ]


@pytest.mark.e2e
def test_an_alert_the_relay_did_not_take_goes_out_with_a_later_run(settings: Settings) -> None:
    port = free_port()
    configured = alerting(settings, port, alert_after_failures=1)
    runner(configured, FakeJob(unreachable()))("full")  # the relay is down too
    assert len(list((configured.state_dir / "outbox").glob("sync-failing-*.eml"))) == 1
    with smtp_server(port) as relay:
        runner(configured, FakeJob(unreachable()))("full")
    [alert] = relay.messages
    assert "ALERT" in alert.subject
    assert list((configured.state_dir / "outbox").glob("*.eml")) == []


@pytest.mark.e2e
def test_an_unexpected_error_is_named_by_its_class_only(settings: Settings) -> None:
    with smtp_server() as relay:
        configured = alerting(settings, relay.port, alert_after_failures=1)
        runner(configured, FakeJob(KeyError("record 17: Jane Doe")))("full")
    [alert] = relay.messages
    assert "unexpected error KeyError" in alert.text
    assert "Jane" not in alert.text


@pytest.mark.e2e
def test_an_incomplete_run_counts_as_failed_without_redcaps_message(settings: Settings) -> None:
    from tests.support.notify import sync_result
    from worker.jobs import JobOutcome
    from worker.notify import NotifyOutcome

    rejected = sync_result({}, write_errors=["REDCap rejected a batch: value '79.9' invalid"])
    outcome = JobOutcome("r1", "full", rejected, NotifyOutcome(), 1.0)

    def job(session, **kw) -> JobOutcome:
        return outcome

    with smtp_server() as relay:
        configured = alerting(settings, relay.port, alert_after_failures=1)
        SyncRunner(configured, should_stop=lambda: False, job=job)("full")
    [alert] = relay.messages
    assert "the run was incomplete: REDCap rejected 1 query write batch" in alert.text
    assert "79.9" not in alert.text


@pytest.mark.e2e
def test_no_alert_when_alerts_are_turned_off(settings: Settings) -> None:
    with smtp_server() as relay:
        configured = alerting(settings, relay.port, alert_after_failures=0)
        for _ in range(5):
            runner(configured, FakeJob(unreachable()))("full")
        runner(configured, FakeJob(None))("full")
    assert relay.messages == []
