"""``report``: the study's state as one self-contained HTML file. Read-only."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from worker.cli.common import (
    add_as_of_option,
    add_connection_options,
    open_session,
    progress_printer,
    require,
)
from worker.errors import ConfigError
from worker.text_safety import visible

EXIT_OK, EXIT_PARTIAL = 0, 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write the study report: one self-contained HTML file (read-only)",
        description=(
            "Pull the study's records, run every check and write one HTML file that opens in "
            "any browser with nothing else: counts per check, study progress, the deviations "
            "found grouped by check, open queries by record and age (read from the project's "
            'query form, or from the Data Resolution Workflow with queries.target = "drw"), '
            "and a visit-window timeline per participant with a visit schedule. "
            "Long lists are collapsed and cut (the page says what it leaves out; check "
            "--format csv lists every finding). It names records, "
            "events, forms, fields and checks, with day counts; no calendar date or free text "
            "of a record. "
            "Read-only. Exit codes: 0 written, 1 written but some participants' progress or "
            "schedule could not be computed, 2 usage or configuration error, 3 REDCap "
            "unreachable or refused."
        ),
    )
    add_connection_options(parser)
    add_as_of_option(parser)
    parser.add_argument(
        "--out",
        type=Path,
        metavar="PATH",
        default=Path("report.html"),
        help="the HTML file to write (replaced whole; default: report.html)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # The checks and the report's templates: imported by a report, not by `--help`.
    from worker.core.links import DataEntryLinks, redcap_base_url
    from worker.core.queries import QueryBook
    from worker.core.rules.tally import keep_every_visit
    from worker.pipeline import check_project, load_study
    from worker.report import collect_report, render_report
    from worker.session import sync_options
    from worker.state import atomic_write_bytes, utc_now

    # Known before any REDCap request: a folder cannot be replaced by the report.
    require(not args.out.is_dir(), f"--out {args.out} is a folder: name the report's file")
    with open_session(args) as session:
        settings, client = session.settings, session.client
        schema = client.schema()
        study = load_study(settings.study, schema)
        drw = settings.queries.target == "drw"
        book = QueryBook(study.queries, schema) if study.queries is not None and not drw else None
        outcome = check_project(
            client,
            study,
            as_of=session.as_of,
            queries=book,
            visits=keep_every_visit,
            max_error_share=settings.check.max_error_share,
            on_progress=progress_printer("downloading"),  # type: ignore[arg-type]
        )
        if drw:
            # Imported here: only the DRW target reads the DRW.
            from worker.drw_sync import read_drw_queries

            checks = study.ruleset.checks if study.ruleset else ()
            outcome.queries = read_drw_queries(client, outcome, sync_options(settings), checks)
        data = collect_report(
            outcome,
            now=utc_now(),
            links=DataEntryLinks(
                redcap_base_url(settings.email.redcap_base_url, settings.redcap.url), schema
            ),
            include_values=settings.email.include_values,
        )
    page = render_report(
        data,
        has_queries=drw or study.queries is not None,
        values=settings.email.include_values,
    )
    try:
        atomic_write_bytes(args.out, page.encode("utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot write the report to {args.out}: {exc.strerror}") from None
    print(f"report written to {args.out}")
    for line in data.degraded:
        print(f"degraded: {line}", file=sys.stderr)
    if data.failed_records:
        print(
            f"error: progress or schedule could not be computed for "
            f"{len(data.failed_records)} record(s): "
            f"{', '.join(map(visible, data.failed_records))}",
            file=sys.stderr,
        )
        return EXIT_PARTIAL
    return EXIT_OK
