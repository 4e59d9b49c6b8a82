"""``run``: sync on a schedule until stopped (the container's default command)."""

from __future__ import annotations

import argparse

from worker.cli.common import add_connection_options, open_session, parse_date, positive_number
from worker.stopping import Shutdown


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="sync on a schedule until stopped: full syncs by cron, incremental ones between",
        description=(
            "Run as a long-lived scheduler (the container's default command): a sync at "
            "start-up, a full sync on schedule.full_sync_cron, and an incremental sync (only "
            "records changed since the last successful sync) every "
            "schedule.incremental_interval_minutes. One sync at a time; a failed run is "
            "logged and the schedule goes on; after email.alert_after_failures failed runs in "
            "a row email.data_manager gets one alert, and one message when a run succeeds "
            "again. Logs are JSON lines on stdout (readable text on "
            "a terminal), one 'sync run' line per run. SIGTERM or Ctrl-C stops the running "
            "sync at its next safe point and exits 0; a second signal exits at once. Each "
            "finished run refreshes the heartbeat that `health` reads."
        ),
    )
    add_connection_options(parser)
    # A scheduler's output is its log: its per-run lines are at info.
    parser.set_defaults(log_level="info")
    for action in parser._actions:
        if action.dest == "log_level":
            action.help = "log level (default: info, which shows one line per run)"
    parser.add_argument(
        "--as-of",
        type=parse_date,
        metavar="YYYY-MM-DD",
        help="evaluate every run as on this fixed date, e.g. for demo data (default: today "
        "in the study's timezone, at each run)",
    )
    parser.add_argument(
        "--full-sync-cron",
        metavar="CRON",
        help="override schedule.full_sync_cron: 5 crontab fields in schedule.timezone, "
        "weekdays by name, e.g. '30 1 * * mon-fri'",
    )
    parser.add_argument(
        "--incremental-minutes",
        type=positive_number("minutes"),
        metavar="N",
        help="override schedule.incremental_interval_minutes (fractions allowed, e.g. 0.5 "
        "for a quick try)",
    )
    parser.add_argument(
        "--no-sync-at-start",
        dest="sync_at_start",
        action="store_false",
        help="do not sync at start-up; wait for the first scheduled time",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # The scheduler, syncs and email: imported by a run, not by `--help`.
    from worker.logs import set_default_stream
    from worker.notify.smtp import check_transport
    from worker.scheduler import SyncRunner, build_scheduler, serve

    # Before anything can fail or log: the handler is what lets PID 1 stop on SIGTERM.
    shutdown = Shutdown()
    shutdown.install()
    # A container's log is its stdout; open_session configures logging to the default.
    set_default_stream("stdout")
    with open_session(args, should_stop=shutdown) as session:
        settings = session.settings
        # Email settings that cannot work fail the start, not every run after its writes.
        check_transport(settings.email)
        overrides = {
            key: value
            for key, value in (
                ("full_sync_cron", args.full_sync_cron),
                ("incremental_interval_minutes", args.incremental_minutes),
            )
            if value is not None
        }
        if overrides:
            schedule = settings.schedule.model_copy(update=overrides)
            settings = settings.model_copy(update={"schedule": schedule})
        runner = SyncRunner(settings, should_stop=shutdown, as_of=args.as_of)
        scheduler = build_scheduler(
            settings.schedule, runner, should_stop=shutdown, sync_at_start=args.sync_at_start
        )
        return serve(scheduler, shutdown)
