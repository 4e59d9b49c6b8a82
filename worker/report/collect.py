"""What the study report shows, taken from one run's outcome (pure: no I/O).

The run (``worker.pipeline.check_batches``, the same one ``check`` and ``sync`` make) kept
each record's queries (read from the project's query instrument, or from the Data
Resolution Workflow), the study's progress counters and every visit row of the schedule;
this picks out the deviations, open queries and timelines. Nothing here reads a record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from worker.core.findings import Finding, Kind, Severity, record_sort_key
from worker.core.links import DataEntryLinks
from worker.core.outcome import RunOutcome
from worker.core.queries import Query, query_id
from worker.core.rules.wording import GENERIC, Wording
from worker.core.schema import ProjectSchema
from worker.core.visits import VisitRow


@dataclass(frozen=True, slots=True)
class DeviationRow:
    """A deviation the checks find as of the report's date, with its query's state."""

    record: str
    site: str
    rule: str
    title: str
    severity: Severity
    event_label: str
    form_label: str
    instance: int | None
    field: str
    query: str  # "open", "resolved", "verified", or "not written yet" (no sync since)
    days_open: int | None
    link: str | None
    message: str | None  # only when values are allowed


@dataclass(frozen=True, slots=True)
class OpenQuery:
    rule: str
    kind: Kind | None
    severity: Severity | None
    event_label: str
    form_label: str
    instance: int | None
    field: str
    days_open: int | None


@dataclass
class RecordQueries:
    record: str
    site: str
    queries: list[OpenQuery] = field(default_factory=list)

    @property
    def deviations(self) -> int:
        return sum(q.kind is Kind.DEVIATION for q in self.queries)

    @property
    def oldest_days(self) -> int | None:
        ages = [q.days_open for q in self.queries if q.days_open is not None]
        return max(ages) if ages else None


@dataclass
class Timeline:
    """One participant's visit schedule (day numbers after the schedule's anchor)."""

    record: str
    site: str
    rows: list[VisitRow]
    as_of_day: int  # the report's date, as a day number on this participant's axis


@dataclass
class ReportData:
    title: str
    project_id: int | None
    as_of: date
    generated_at: datetime
    records_checked: int = 0
    progress: list[tuple[str, int]] = field(default_factory=list)
    wording: Wording = GENERIC  # the study's words for headings (study.toml)
    deviations: list[DeviationRow] = field(default_factory=list)
    queries: list[RecordQueries] = field(default_factory=list)
    timelines: list[Timeline] = field(default_factory=list)
    check_errors: int = 0
    failed_records: list[str] = field(default_factory=list)  # progress/schedule failed
    has_schedule: bool = False
    has_progress: bool = False
    titles: dict[str, str] = field(default_factory=dict)  # the study's checks' titles
    # The coverage ledger: per study check, (ID, title, ran, errored, skipped by reason).
    coverage: list[tuple[str, str, int, int, dict[str, int]]] = field(default_factory=list)
    degraded: list[str] = field(default_factory=list)  # why this is not a clean bill of health


def collect_report(
    outcome: RunOutcome,
    *,
    now: datetime,
    links: DataEntryLinks,
    include_values: bool = False,
) -> ReportData:
    """The report of a run: its outcome must name the project's schema, and carry each
    record's queries and the study's tally (with every visit row) when there are any."""
    schema = outcome.schema
    if schema is None:
        raise ValueError("the outcome of a run names its project's schema")
    as_of, titles, groups = outcome.as_of, outcome.titles, outcome.groups
    existing: dict[tuple[str, str], Query] = {}  # (record, query ID) -> its query
    for record, held in outcome.queries.items():
        for stored in held:
            existing.setdefault((record, stored.query_id), stored)
    data = ReportData(
        title=schema.title,
        project_id=schema.project_id,
        as_of=as_of,
        generated_at=now,
        records_checked=outcome.records_checked,
        check_errors=outcome.check_errors,
        titles=titles,
        coverage=[
            (rule, titles.get(rule, ""), c.ran, c.errored, dict(c.skipped))
            for rule, c in sorted(outcome.coverage.items())
        ],
        degraded=outcome.degraded,
    )
    for finding in outcome.findings:
        if finding.kind is Kind.DEVIATION and not finding.check_error:
            query = existing.get((finding.record, query_id(finding)))
            data.deviations.append(
                _deviation(finding, query, groups, titles, schema, links, now, include_values)
            )
    data.deviations.sort(key=lambda d: (-d.severity.rank, record_sort_key(d.record), d.rule))
    data.queries = _open_queries(existing, groups, schema, now)
    tally = outcome.tally
    if tally is not None:
        data.progress = tally.progress()
        data.wording = tally.ruleset.wording
        data.failed_records = list(tally.errors)
        data.has_schedule = tally.ruleset.has_schedule
        data.has_progress = tally.ruleset.has_progress
        data.timelines = _timelines(tally.visits, groups, as_of)
    return data


def _deviation(
    finding: Finding,
    query: Query | None,
    groups: dict[str, str],
    titles: dict[str, str],
    schema: ProjectSchema,
    links: DataEntryLinks,
    now: datetime,
    include_values: bool,
) -> DeviationRow:
    return DeviationRow(
        record=finding.record,
        site=groups.get(finding.record, ""),
        rule=finding.rule,
        title=titles.get(finding.rule, finding.rule),
        severity=finding.severity,
        event_label=schema.event_label(finding.event),
        form_label=schema.form_label(finding.instrument),
        instance=finding.instance,
        field=finding.field or "",
        query="not written yet" if query is None else query.status.value,
        days_open=query.days_open(now) if query and query.is_open else None,
        link=links.form(finding.record, finding.event, finding.instrument, finding.instance),
        message=finding.message if include_values else None,
    )


def _open_queries(
    existing: dict[tuple[str, str], Query],
    groups: dict[str, str],
    schema: ProjectSchema,
    now: datetime,
) -> list[RecordQueries]:
    by_record: dict[str, RecordQueries] = {}
    for (record, _), query in existing.items():
        if not query.is_open:
            continue
        entry = by_record.setdefault(record, RecordQueries(record, groups.get(record, "")))
        entry.queries.append(
            OpenQuery(
                rule=query.rule,
                kind=query.kind,
                severity=query.severity,
                event_label=schema.event_label(query.event),
                form_label=schema.form_label(query.form),
                instance=query.form_instance,
                field=query.field,
                days_open=query.days_open(now),
            )
        )
    for entry in by_record.values():
        entry.queries.sort(key=lambda q: (-(q.days_open or 0), q.rule))
    return sorted(by_record.values(), key=lambda r: record_sort_key(r.record))


def _timelines(rows: Iterable[VisitRow], groups: dict[str, str], as_of: date) -> list[Timeline]:
    by_record: dict[str, list[VisitRow]] = {}
    for row in rows:
        by_record.setdefault(row.record, []).append(row)
    timelines = []
    for record, found in by_record.items():
        found.sort(key=lambda r: (r.start_day, r.ordinal or 0))
        timelines.append(Timeline(record, groups.get(record, ""), found, found[0].day(as_of)))
    return sorted(timelines, key=lambda t: record_sort_key(t.record))
