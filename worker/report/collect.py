"""What the study report shows, gathered in one pass over the records (pure: no I/O).

Records stream through the same checks as ``check`` and ``sync`` (each participant built
once); on the way the report keeps each record's open queries (read from the project's
query instrument), the study's progress counters and every visit row of the schedule.
Only deviations, open queries and visit rows are kept, never the records themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from worker.core.findings import Finding, Kind, Severity, record_sort_key
from worker.core.queries import Query, QueryBook, query_id
from worker.core.records import RecordData
from worker.core.rules.tally import StudyTally
from worker.core.rules.wording import GENERIC, Wording
from worker.core.schema import ProjectSchema
from worker.core.visits import VisitRow
from worker.notify.links import DataEntryLinks
from worker.pipeline import Study, check_batches


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
    study: Study,
    batches: Iterable[Sequence[dict]],
    *,
    as_of: date,
    now: datetime,
    links: DataEntryLinks,
    include_values: bool = False,
    drw_queries: Callable[[list[Finding]], dict[str, list[Query]]] | None = None,
    max_error_share: float = 0.05,
) -> ReportData:
    """``drw_queries(findings)``: each record's queries read from REDCap's Data Resolution
    Workflow (``queries.target = "drw"``) instead of the query instrument."""
    schema = study.schema
    book = QueryBook(study.queries, schema) if study.queries else None
    tally = None
    if study.ruleset is not None:
        tally = StudyTally(study.ruleset)
        study = replace(study, ruleset=study.ruleset.observed_by(tally.observe))
    existing: dict[tuple[str, str], Query] = {}  # (record, query ID) -> its query
    groups: dict[str, str] = {}

    def keep(record: RecordData, found: list[Finding]) -> None:
        if record.data_access_group:
            groups[record.record_id] = record.data_access_group
        if book is not None:
            for query in book.read(record):
                existing.setdefault((record.record_id, query.query_id), query)

    result = check_batches(study, batches, as_of=as_of, on_record=keep)
    if drw_queries is not None:
        for record, queries in drw_queries(result.findings).items():
            for drw_query in queries:
                existing.setdefault((record, drw_query.query_id), drw_query)
    result.max_error_share = max_error_share
    titles = {c.id: c.title for c in study.ruleset.checks} if study.ruleset else {}
    data = ReportData(
        title=schema.title,
        project_id=schema.project_id,
        as_of=as_of,
        generated_at=now,
        records_checked=result.records_checked,
        check_errors=result.check_errors,
        titles=titles,
        coverage=[
            (rule, titles.get(rule, ""), c.ran, c.errored, dict(c.skipped))
            for rule, c in sorted(result.coverage.items())
        ],
        degraded=result.degraded,
    )
    for finding in result.findings:
        if finding.kind is Kind.DEVIATION and not finding.check_error:
            query = existing.get((finding.record, query_id(finding)))
            data.deviations.append(
                _deviation(finding, query, groups, titles, schema, links, now, include_values)
            )
    data.deviations.sort(key=lambda d: (-d.severity.rank, record_sort_key(d.record), d.rule))
    data.queries = _open_queries(existing, groups, schema, now)
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
