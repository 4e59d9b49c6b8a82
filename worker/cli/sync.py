"""``sync``: check, then write the findings into REDCap as data queries."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import groupby
from typing import TYPE_CHECKING

from worker.cli.common import (
    add_as_of_option,
    add_connection_options,
    add_records_option,
    open_session,
    progress_printer,
)
from worker.output import summary_line
from worker.stopping import Shutdown
from worker.text_safety import visible

if TYPE_CHECKING:
    from worker.core.outcome import RunOutcome
    from worker.session import Session

EXIT_OK, EXIT_INCOMPLETE, EXIT_DEGRADED = 0, 4, 6


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sync",
        help="check, then write findings into REDCap as data queries and close fixed ones",
        description=(
            "Pull the records, run every check, reconcile the findings with the data queries "
            "already in REDCap, and write the difference: new queries opened, fixed ones "
            "resolved, returning ones reopened, site-verified ones closed. Only the worker's "
            'own query fields are written. With queries.target = "drw" the queries are '
            "REDCap's own Data Resolution Workflow queries instead (through the Data Quality "
            "API module): the worker appends resolutions as queries.drw_username and never "
            "touches what people wrote. Exit codes: 0 done, 2 usage or configuration "
            "error, 3 REDCap unreachable or refused (also: the token's export rights hide query "
            "fields, checked before any write; or a ban or lost rights during the writes, "
            "which stop at once), 4 incomplete (REDCap refused some records' writes, e.g. "
            "locked records: each named, every other record's written; or a summary not "
            "sent; it is kept and sent by the next run), 5 not started because another sync "
            "is running with the same state folder, 6 degraded (a check quarantined because "
            "the project lacks a field, form or event it reads, its queries left as they are; "
            "or a check erring on more than check.max_error_share of the participants it "
            "tried). A record deleted after the export is skipped and named, never created "
            "again. SIGTERM or Ctrl-C stops the sync at its next safe point (between "
            "batches; at most one REDCap request's timeouts later), records the run as "
            "stopped and exits 0; a second signal exits at once. The next sync completes what "
            "was left. Export and import batches go redcap.max_concurrent_requests at a time "
            "(default 3; 1: one after another), never above redcap.max_requests_per_second."
        ),
    )
    add_connection_options(parser)
    add_as_of_option(parser)
    add_records_option(
        parser,
        "sync only this record (repeatable); queries of other records and of "
        "cross-participant checks are left alone",
    )
    parser.add_argument(
        "--incremental",
        action="store_true",
        help="check only records changed since the last successful sync (less the overlap "
        "margin); the first run, or one after a lost state folder, is a full sync",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the planned changes per record and write nothing",
    )
    parser.add_argument(
        "--scheduled",
        action="store_true",
        help="count this run as `run` counts its scheduled syncs, for a sync an outside "
        "scheduler starts (a Kubernetes CronJob, cron): after email.alert_after_failures "
        "failed runs in a row the data manager gets one alert, and one message when a run "
        "succeeds again. A run stopped by a signal, or not started because another sync is "
        "running, does not count",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from worker.jobs import run_sync_job  # sync, writes and email: not for `--help`

    # Before anything can fail or log. Also what lets `sync` stop on SIGTERM as PID 1 (a
    # Kubernetes CronJob's container): the kernel gives PID 1 no default action for it.
    shutdown = Shutdown()
    shutdown.install()
    with (
        open_session(args, should_stop=shutdown) as session,
        counted_in_streak(session, args.scheduled) as count,
    ):
        outcome = run_sync_job(
            session,
            incremental=args.incremental,
            records=args.records,
            dry_run=args.dry_run,
            on_progress=progress_printer("downloading"),
            on_write_progress=progress_printer("writing", "query rows"),
            should_stop=shutdown,
        )
        count(outcome)
    result = outcome.sync
    if args.dry_run:
        print(render_plan(result))
    print(render_summary(result))
    for error in result.write_errors:
        print(f"write error: {visible(error)}")
    for record, rows in sorted(result.gone.items()):
        print(
            f"skipped: record {visible(record)} was deleted from REDCap after this run's "
            f"export; its {rows} query rows were not written (that would have created the "
            "record again)"
        )
    for line in outcome.notify.sent + outcome.notify.written + outcome.notify.failed:
        print(line)
    for problem in result.degraded:
        print(f"degraded: {problem}")
    if not outcome.ok:
        return EXIT_INCOMPLETE
    return EXIT_DEGRADED if outcome.status == "degraded" else EXIT_OK


@contextmanager
def counted_in_streak(session: Session, scheduled: bool) -> Iterator[Callable[[object], None]]:
    """With ``scheduled``, the run's end in the failure streak (``notify.failures``): the
    block's error, else what the outcome handed to the callable says. As ``run`` counts:
    the worker's own one-line errors, an unexpected one by its class only."""
    from worker.errors import StopRequested, SyncBusy, WorkerError
    from worker.jobs import incomplete_reason
    from worker.notify.failures import count_scheduled_run, unexpected_error
    from worker.state import utc_now

    def record(error: str | None) -> None:
        if scheduled:
            settings = session.settings
            count_scheduled_run(settings.state_dir, settings.email, error=error, now=utc_now())

    try:
        yield lambda outcome: record(incomplete_reason(outcome))
    except (StopRequested, SyncBusy):
        raise
    except WorkerError as exc:
        record(str(exc))
        raise
    except Exception as exc:
        record(unexpected_error(exc))
        raise


def render_plan(result: RunOutcome) -> str:
    if result.resolutions is not None:  # the DRW target
        from worker.drw_sync import render_drw_plan

        return render_drw_plan(result)
    lines = ["Planned changes (dry run, nothing written):"]
    changes = sorted(result.plan.changes, key=lambda c: (c.record, c.instance))
    for record, group in groupby(changes, key=lambda c: c.record):
        lines.append(f"Record {visible(record)}")
        for change in group:
            lines.append(f"  {change.action.value:<8} query #{change.instance:<4} {change.rule}")
    if not changes:
        lines.append("  none: REDCap already matches the findings")
    return "\n".join(lines)


def render_summary(result: RunOutcome) -> str:
    counts = result.counts()
    if result.resolutions is not None:  # the DRW target
        prefix = "dry run: " if result.dry_run else ""
        return (
            f"{prefix}{summary_line(result)}; DRW queries {counts['created']} opened, "
            f"{counts['resolved']} closed, {counts['reopened']} reopened, "
            f"{counts['updated']} updated, {counts['unchanged']} unchanged, "
            f"{counts['not_run']} left alone (check not run); {result.written} resolutions "
            "written"
        )
    queries = ", ".join(
        f"{counts[k]} {k}"
        for k in ("created", "resolved", "reopened", "verified", "updated", "unchanged")
    )
    prefix = "dry run: " if result.dry_run else ""
    return (
        f"{prefix}{summary_line(result)}; queries {queries}, "
        f"{counts['not_run']} left alone (check not run); "
        f"{counts['write_errors']} write errors"
    )
