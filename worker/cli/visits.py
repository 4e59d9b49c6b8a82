"""``visits``: the visits of every participant with a visit schedule, soonest due first.
Read-only.

The schedule is the one the study declares in its rules folder (``schedule.toml``), computed
as the visit-window checks compute it, so the command and the checks cannot disagree. A
visit whose window closed within the missed check's grace period is still "due now".
Coordinators use the table to plan the next weeks; it shows calendar dates because that is
what they plan with, and is printed to the terminal only (reports and emails carry day
counts, never dates).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from worker.cli.common import (
    add_as_of_option,
    add_connection_options,
    open_session,
    progress_printer,
)
from worker.core.outcome import RunOutcome
from worker.core.rules.tally import keep_every_visit
from worker.core.rules.wording import GENERIC, Wording
from worker.core.visits import VisitRow, VisitStatus, sort_visits
from worker.core.wording import day_count
from worker.errors import ConfigError
from worker.pipeline import Study, check_project, load_study
from worker.text_safety import visible

EXIT_OK, EXIT_SCHEDULE_ERRORS = 0, 1
FORMATS = ("table", "json")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "visits",
        help="list the scheduled visits of every participant, soonest due first (read-only)",
        description=(
            "Pull the study's records and list, for each participant with a visit schedule "
            "(the study's rules say who has one), every scheduled visit: target date, window, "
            "sample date and status (in window, out of window, missed, due now, upcoming, or "
            "not expected, with the study's reason). Visits due soonest come first. The "
            "windows are the ones the visit-window checks use. Read-only. Exit codes: 0 "
            "listed, 1 some participants' schedules could not be computed, 2 usage or "
            "configuration error, 3 REDCap unreachable or refused."
        ),
    )
    add_connection_options(parser)
    add_as_of_option(parser)
    parser.add_argument(
        "--record",
        action="append",
        metavar="ID",
        dest="records",
        help="list only this record's visits (repeatable)",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="table for people (default), json for programs",
    )
    parser.set_defaults(func=run)


@dataclass
class VisitReport:
    as_of: date
    rows: list[VisitRow] = field(default_factory=list)
    participants: int = 0  # participants with a visit schedule
    records_checked: int = 0
    errors: list[str] = field(default_factory=list)  # records whose schedule failed
    wording: Wording = GENERIC  # the study's words for the summary line (study.toml)


NO_SCHEDULE = "the study's rules define no visit schedule (set study.rules)"


def require_schedule(study: Study) -> None:
    """A ConfigError unless the study declares a visit schedule (known before any export)."""
    ruleset = study.ruleset
    if ruleset is None or study.builder is None or not ruleset.has_schedule:
        raise ConfigError(NO_SCHEDULE)


def collect_visits(outcome: RunOutcome) -> VisitReport:
    """Every participant's schedule, as a run that kept every visit row computed it (the
    same rows its visit-window checks judged)."""
    tally = outcome.tally
    if tally is None or not tally.ruleset.has_schedule:
        raise ConfigError(NO_SCHEDULE)
    return VisitReport(
        as_of=outcome.as_of,
        rows=sort_visits(tally.visits),
        participants=tally.scheduled,
        records_checked=outcome.records_checked,
        errors=list(tally.schedule_errors),
        wording=tally.ruleset.wording,
    )


def run(args: argparse.Namespace) -> int:
    with open_session(args) as session:
        schema = session.client.schema()
        study = load_study(session.settings.study, schema)
        require_schedule(study)
        outcome = check_project(
            session.client,
            study,
            as_of=session.as_of,
            records=args.records,
            visits=keep_every_visit,
            on_progress=progress_printer("downloading"),  # type: ignore[arg-type]
        )
    report = collect_visits(outcome)
    sys.stdout.write(render_json(report) if args.format == "json" else render_table(report))
    if report.errors:
        print(
            f"error: the visit schedule could not be computed for {len(report.errors)} "
            f"record(s): {', '.join(map(visible, report.errors))}",
            file=sys.stderr,
        )
        return EXIT_SCHEDULE_ERRORS
    return EXIT_OK


# --- Rendering ----------------------------------------------------------------------------


def note(row: VisitRow, as_of: date) -> str:
    """What a coordinator needs next to the status: how soon, or which day the sample was."""
    if row.status is VisitStatus.DUE:
        left = (row.window_end - as_of).days
        if left < 0:  # closed, but within the schedule's grace for data entry
            return f"closed {day_count(-left)} ago, awaiting data entry"
        return "closes today" if left == 0 else f"closes in {day_count(left)}"
    if row.status is VisitStatus.UPCOMING:
        return f"opens in {day_count((row.window_start - as_of).days)}"
    if row.status is VisitStatus.MISSED:
        return f"closed {day_count((as_of - row.window_end).days)} ago"
    if row.sample_day is not None:
        return f"sample day {row.sample_day}, window days {row.start_day}–{row.end_day}"
    return ""


def summary(report: VisitReport) -> dict[str, object]:
    counts = Counter(row.status for row in report.rows)
    return {
        "records_checked": report.records_checked,
        "participants": report.participants,
        "visits": len(report.rows),
        "by_status": {status.value: counts.get(status, 0) for status in VisitStatus},
        "schedule_errors": len(report.errors),
    }


def render_json(report: VisitReport) -> str:
    document = {
        "as_of": report.as_of.isoformat(),
        "visits": [row.public() | {"note": note(row, report.as_of)} for row in report.rows],
        "summary": summary(report),
        "schedule_errors": report.errors,
    }
    return json.dumps(document, indent=2) + "\n"


_COLUMNS = ("record", "visit", "target", "window", "sample", "status", "note")


def render_table(report: VisitReport) -> str:
    as_of, words = report.as_of, report.wording
    counts = summary(report)["by_status"]
    assert isinstance(counts, dict)
    headline = (
        f"{words.visits[:1].upper()}{words.visits[1:]} as of {as_of.isoformat()}: "
        f"{counts[VisitStatus.DUE.value]} due now, {counts[VisitStatus.UPCOMING.value]} "
        f"upcoming, {counts[VisitStatus.MISSED.value]} missed "
        f"({words.participants(report.participants)})"
    )
    if not report.rows:
        return f"{headline}\n\nNo {words.visits} to show.\n"
    cells = [
        (
            visible(row.record),
            row.visit,
            row.target.isoformat(),
            f"{row.window_start.isoformat()} – {row.window_end.isoformat()}",
            row.sample_date.isoformat() if row.sample_date else "-",
            row.status_text,
            note(row, as_of),
        )
        for row in report.rows
    ]
    widths = [max(len(c[i]) for c in [_COLUMNS, *cells]) for i in range(len(_COLUMNS))]
    lines = [headline, ""]
    for line in [_COLUMNS, *cells]:
        lines.append("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
    return "\n".join(lines) + "\n"
