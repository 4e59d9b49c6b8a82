"""``check``: pull the records, run every check, print the findings. Never writes to REDCap."""

from __future__ import annotations

import argparse
import sys

from worker.cli.common import (
    add_as_of_option,
    add_connection_options,
    add_records_option,
    open_session,
    progress_printer,
)
from worker.core.findings import Severity
from worker.output import CHUNKED, NO_STUDY_RULES

EXIT_OK, EXIT_FINDINGS = 0, 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check",
        help="check the study's records and print the findings (read-only)",
        description=(
            "Pull the study's records from REDCap, run the protocol's checks and the data "
            "dictionary's generic checks, and print the findings. With no study mapping and "
            "rules configured (no config file, or an empty [study]), the generic checks run "
            "alone on every form, event, arm and instance. Read-only: nothing is written to "
            "REDCap; the query instrument is not needed. A check whose inputs the project "
            "no longer has (a field, form or event deleted) is quarantined: not run, and "
            "listed in the summary, which then says DEGRADED; JSON output carries each "
            "check's coverage (participants it ran on, skipped and why, errored). Exit "
            "codes: 0 no finding at or above --fail-on, 1 findings, 2 usage or "
            "configuration error, 3 REDCap unreachable or refused. Export batches are "
            "requested redcap.max_concurrent_requests at a time (default 3; 1: one after "
            "another), never above redcap.max_requests_per_second, and checked in order."
        ),
    )
    add_connection_options(parser)
    add_as_of_option(parser)
    add_records_option(
        parser,
        "check only this record (repeatable); cross-participant checks are then skipped",
    )
    parser.add_argument(
        "--format",
        choices=sorted(CHUNKED),
        default="table",
        help="table for people (default), json or csv for programs; control characters in "
        "record IDs and values are shown as escapes (\\x1b), and a csv cell a spreadsheet "
        "would run as a formula (=, +, -, @) starts with a ' (a plain negative number does "
        "not)",
    )
    parser.add_argument(
        "--fail-on",
        choices=[s.value for s in Severity],
        default=None,
        help="exit 1 only for findings at or above this severity "
        "(default: [check] fail_on, i.e. any finding)",
    )
    parser.add_argument(
        "--ignore-grace",
        action="store_true",
        help="report data not yet entered at once: judge as if every grace period of the "
        "study's schedule.toml were 0 days (missed visits, required fields of recent "
        "visits). sync has no such option: it never queries work in progress",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with open_session(args) as session:
        # The checks' machinery is imported while REDCap answers the structure requests
        # (read as run_check reads them), not before the first one goes out.
        with session.client.schema_read_ahead(
            labels=False, ids=False, list_records=not args.records
        ):
            from worker.pipeline import run_check
        settings = session.settings
        result = run_check(
            session.client,
            settings.study,
            as_of=session.as_of,
            records=args.records,
            on_progress=progress_printer("downloading"),  # type: ignore[arg-type]
            ignore_grace=args.ignore_grace,
            max_error_share=settings.check.max_error_share,
        )
        fail_on = Severity(args.fail_on or session.settings.check.fail_on)
    for piece in CHUNKED[args.format](result):  # never the whole output as one string
        sys.stdout.write(piece)
    if args.format == "csv" and result.study_checks == 0:
        # A CSV has no summary: the one fact it cannot carry goes to stderr.
        print(f"note: {NO_STUDY_RULES}", file=sys.stderr)
    failing = any(f.severity.rank >= fail_on.rank for f in result.findings)
    return EXIT_FINDINGS if failing else EXIT_OK
