"""``sync``: check, reconcile the findings with the queries already in REDCap, write the
difference.

Two passes over bounded memory: the first streams records batch by batch, checking each
and keeping only its query rows and findings; once cross-participant checks have finished,
the second plans each record's writes and imports them in batches. Every written row names
its instance explicitly, so a retried or repeated batch lands on the same instances and a
crash between batches is repaired by the next run without duplicates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime

import structlog

from worker.config import Settings
from worker.core.findings import CheckResult, Finding
from worker.core.generic_checks import GenericRule
from worker.core.queries import Action, Change, Plan, Query, QueryBook
from worker.core.records import RecordData
from worker.core.rules.tally import StudyTally
from worker.core.schema import ProjectSchema
from worker.core.visits import VisitRow, VisitStatus
from worker.errors import RedcapRefused, StopRequested
from worker.pipeline import (
    ProgressCallback,
    Study,
    check_batches,
    load_study,
    query_instrument,
)
from worker.redcap_client import RedcapClient

log = structlog.get_logger(__name__)

WRITE_BATCH_ROWS = 100

StopCheck = Callable[[], bool]


class SyncStopped(StopRequested):
    """A stop was requested and the sync ended at a safe point: between export batches
    (nothing written yet) or between write batches (each written batch is whole, with
    explicit instances, so the next run completes the rest without duplicates)."""


@dataclass
class SyncResult:
    check: CheckResult
    plan: Plan
    dry_run: bool
    written: int = 0
    write_errors: list[str] = field(default_factory=list)
    # What the run's summaries need (worker.notify), gathered on the way at no extra request:
    # the project's structure (for links), the checks' titles, each record's queries as they
    # stand after this run's writes (rejected rows excluded), the records' data access
    # groups, and the study's progress and still-open visits counted while checking.
    schema: ProjectSchema | None = None
    titles: dict[str, str] = field(default_factory=dict)
    queries: dict[str, list[Query]] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)
    tally: StudyTally | None = None
    rejected: set[tuple[str, int]] = field(default_factory=set)  # (record, query instance)

    @property
    def complete(self) -> bool:
        return not self.write_errors


# Visits a summary lists: those still waiting for a sample (not taken, not excused).
OPEN_VISITS = frozenset({VisitStatus.MISSED, VisitStatus.DUE, VisitStatus.UPCOMING})


def _open_visit(row: VisitRow) -> bool:
    return row.status in OPEN_VISITS


@dataclass(frozen=True)
class _KeptQueries:
    """A record's query rows alone (all the second pass needs, and small), and the query
    event of the record's own arm, resolved while its other rows were at hand."""

    record: RecordData
    event: str | None


def _queries_only(record: RecordData, book: QueryBook) -> _KeptQueries:
    form, event = book.spec.form, book.event_of(record)
    rows = {
        key: values
        for key, values in record.rows.items()
        if key.repeat_instrument == form and key.event == event
    }
    return _KeptQueries(RecordData(record.record_id, rows, record.data_access_group), event)


def rules_that_ran(study: Study, *, partial: bool) -> set[str]:
    """Every check that ran in this run (per record, check errors are subtracted)."""
    ran = {rule.value for rule in GenericRule}
    if study.ruleset is not None:
        ran |= {c.id for c in study.ruleset.checks if not (partial and c.cross_participant)}
    return ran


def run_sync(
    client: RedcapClient,
    settings: Settings,
    *,
    as_of: date,
    now: datetime | None = None,
    records: Sequence[str] | None = None,
    date_begin: datetime | None = None,
    dry_run: bool = False,
    on_progress: ProgressCallback | None = None,
    on_change: Callable[[Change], None] | None = None,
    should_stop: StopCheck | None = None,
) -> SyncResult:
    """Check, reconcile, write. ``should_stop`` is asked before each export and each write
    batch; when it says yes, ``SyncStopped`` is raised there."""
    schema = client.schema()
    study = load_study(settings, schema)
    book = QueryBook(query_instrument(study), schema)
    now = now or datetime.now(UTC)
    # Some records only (named, or changed since a time): other records and cross-participant
    # checks are not judged, so their queries are left alone.
    partial = bool(records) or date_begin is not None
    tally = None
    if study.ruleset is not None:
        tally = StudyTally(study.ruleset, keep_visit=_open_visit)
        study = replace(study, ruleset=study.ruleset.observed_by(tally.observe))

    kept: dict[str, _KeptQueries] = {}
    check_failed: dict[str, set[str]] = {}

    def keep(record: RecordData, found: list[Finding]) -> None:
        kept[record.record_id] = _queries_only(record, book)
        failed = {f.rule for f in found if f.check_error}
        if failed:
            check_failed[record.record_id] = failed

    batches = client.iter_record_batches(
        forms=[*study.forms_to_export, book.spec.form],
        records=list(records) if records else None,
        date_begin=date_begin,
        on_progress=on_progress,
    )
    if should_stop is not None:
        batches = _until_stopped(batches, should_stop)
    result = check_batches(study, batches, as_of=as_of, partial=partial, on_record=keep)

    by_record: dict[str, list[Finding]] = {rid: [] for rid in kept}
    for finding in result.findings:
        # A check's own failure is for the data manager, not a query for the site.
        if not finding.check_error and finding.record in by_record:
            by_record[finding.record].append(finding)
    ran = rules_that_ran(study, partial=partial)
    plan = Plan()
    for record_id, queries in kept.items():
        failed = check_failed.get(record_id, set())
        plan.extend(
            book.reconcile(
                queries.record,
                by_record[record_id],
                ran=lambda rule, failed=failed: rule in ran and rule not in failed,
                now=now,
                event=queries.event,
            )
        )
    sync = SyncResult(check=result, plan=plan, dry_run=dry_run, schema=schema, tally=tally)
    if study.ruleset is not None:
        sync.titles = {c.id: c.title for c in study.ruleset.checks}
    for change in plan.changes:
        if on_change is not None:
            on_change(change)
    if not dry_run:
        _write(client, plan.changes, sync, should_stop)
    _after_writes(sync, book, kept)
    log.info("sync finished", **sync_counts(sync))
    return sync


def _after_writes(sync: SyncResult, book: QueryBook, kept: dict[str, _KeptQueries]) -> None:
    """Each record's queries as REDCap now holds them (a dry run: as it would)."""
    by_record: dict[str, list[Change]] = {}
    for change in sync.plan.changes:
        if (change.record, change.instance) not in sync.rejected:
            by_record.setdefault(change.record, []).append(change)
    for record_id, kept_queries in kept.items():
        record = kept_queries.record
        queries = book.after(record, by_record.get(record_id, ()), event=kept_queries.event)
        if queries:
            sync.queries[record_id] = queries
        if record.data_access_group:
            sync.groups[record_id] = record.data_access_group


def _until_stopped(
    batches: Iterable[Sequence[dict]], should_stop: StopCheck
) -> Iterator[Sequence[dict]]:
    """The batches, asking about a stop before each is requested."""
    iterator = iter(batches)
    while True:
        if should_stop():
            raise SyncStopped("stopped before the next export batch; nothing written")
        try:
            batch = next(iterator)
        except StopIteration:
            return
        yield batch


def _write(
    client: RedcapClient,
    changes: list[Change],
    sync: SyncResult,
    should_stop: StopCheck | None = None,
) -> None:
    """Import the planned rows in batches; a rejected batch is reported and the rest go on."""
    for start in range(0, len(changes), WRITE_BATCH_ROWS):
        if should_stop is not None and should_stop():
            raise SyncStopped(f"stopped after writing {sync.written} of {len(changes)} query rows")
        batch = changes[start : start + WRITE_BATCH_ROWS]
        try:
            # Overwrite, so a reopen can clear the closing time and the verified mark; rows
            # carry only the worker's own fields, so nothing else is touched.
            client.import_records([c.row for c in batch], overwrite="overwrite", idempotent=True)
        except RedcapRefused as exc:
            records = sorted({c.record for c in batch})
            message = f"REDCap rejected a batch of {len(batch)} query rows: {exc}"
            sync.write_errors.append(message)
            sync.rejected.update((c.record, c.instance) for c in batch)
            log.error("query write rejected", records=records, rows=len(batch), error=str(exc))
            continue
        sync.written += len(batch)
        for change in batch:
            log.info(
                "query " + change.action.value,
                record=change.record,
                instance=change.instance,
                rule=change.rule,
                query_id=change.query_id,
            )


def sync_counts(sync: SyncResult) -> dict[str, int]:
    plan = sync.plan
    return {
        "findings": len(sync.check.findings),
        "created": plan.count(Action.CREATE),
        "resolved": plan.count(Action.RESOLVE),
        "reopened": plan.count(Action.REOPEN),
        "verified": plan.count(Action.VERIFY),
        "updated": plan.count(Action.UPDATE),
        "unchanged": plan.unchanged,
        "not_run": plan.not_run,
        "write_errors": len(sync.write_errors),
    }
