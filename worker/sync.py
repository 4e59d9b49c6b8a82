"""``sync``: check, reconcile the findings with the queries already in REDCap, write the
difference.

Two passes over bounded memory: the first streams records batch by batch, checking each
and keeping only its query rows and findings; once cross-participant checks have finished,
the second plans each record's writes and imports them in batches. Every written row names
its instance explicitly, so a retried or repeated batch lands on the same instances and a
crash between batches is repaired by the next run without duplicates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

import structlog

from worker.core.export_rights import export_rights_error, hidden_fields
from worker.core.findings import Finding
from worker.core.outcome import RunOutcome
from worker.core.queries import Change, Plan, QueryBook
from worker.pipeline import (
    ProgressCallback,
    check_batches,
    load_study,
    query_instrument,
    reads_ahead,
)
from worker.redcap_client import RedcapClient
from worker.sync_run import (
    WRITE_BATCH_ROWS,
    StopCheck,
    SyncOptions,
    SyncStopped,
    open_visit,
    rules_that_ran,
    until_stopped,
)
from worker.writes import write_rows

log = structlog.get_logger(__name__)


def run_sync(
    client: RedcapClient,
    options: SyncOptions,
    *,
    as_of: date,
    now: datetime | None = None,
    records: Sequence[str] | None = None,
    date_begin: datetime | None = None,
    dry_run: bool = False,
    on_progress: ProgressCallback | None = None,
    on_change: Callable[[Change], None] | None = None,
    should_stop: StopCheck | None = None,
    on_write_progress: ProgressCallback | None = None,
) -> RunOutcome:
    """Check, reconcile, write. ``should_stop`` is asked before each export and each write
    batch; when it says yes, ``SyncStopped`` is raised there. ``on_progress`` and
    ``on_write_progress`` get (done, total) records exported and query rows written.

    Stops with ``ExportRightsMissing`` before any write if the export lacks a query field
    (the token's export rights), with ``WritesInterrupted`` at a ban or lost rights during
    the writes."""

    if options.queries.target == "drw":
        from worker.drw_sync import run_drw_sync  # the DRW target: its own module

        return run_drw_sync(
            client,
            options,
            as_of=as_of,
            now=now,
            records=records,
            date_begin=date_begin,
            dry_run=dry_run,
            on_progress=on_progress,
            on_change=on_change,
            should_stop=should_stop,
        )
    # Some records only (named, or changed since a time): other records and cross-participant
    # checks are not judged, so their queries are left alone.
    partial = bool(records) or date_begin is not None
    # A full sync exports every record: their IDs are listed alongside the structure.
    schema = client.schema(list_records=not partial)
    study = load_study(options.study, schema)
    book = QueryBook(query_instrument(study), schema)
    now = now or datetime.now(UTC)

    batches: Iterable[Sequence[dict[str, Any]]] = client.iter_record_batches(
        forms=[*study.forms_to_export, book.spec.form],
        records=list(records) if records else None,
        date_begin=date_begin,
        on_progress=on_progress,
    )
    batches = _checked_columns(batches, book)
    if should_stop is not None:
        batches = until_stopped(batches, should_stop)
    result = check_batches(
        study,
        batches,
        as_of=as_of,
        partial=partial,
        queries=book,
        visits=open_visit,
        max_error_share=options.max_error_share,
        source_reads_ahead=reads_ahead(client),
    )

    by_record: dict[str, list[Finding]] = {rid: [] for rid in result.query_rows}
    for finding in result.findings:
        # A check's own failure is for the data manager, not a query for the site.
        if not finding.check_error and finding.record in by_record:
            by_record[finding.record].append(finding)
    listed = None
    if not dry_run and client.lists_every_record(_certainly_written(result, by_record)):
        # The writes' existence check will read the listing of every record: it runs while
        # the plan is worked out (a second at 5,000 participants) rather than after it.
        listed = client.existence_listing_started()
    ran = rules_that_ran(study, partial=partial)
    plan = Plan()
    for record_id, queries in result.query_rows.items():
        ran_here = ran - result.failed.get(record_id, set())
        plan.extend(
            book.reconcile(
                queries.record,
                by_record[record_id],
                ran=ran_here.__contains__,
                now=now,
                event=queries.event,
            )
        )
    result.plan, result.dry_run = plan, dry_run
    for change in plan.changes:
        if on_change is not None:
            on_change(change)
    if not dry_run:
        _write(client, plan.changes, result, should_stop, on_write_progress, listed)
    _after_writes(result, book)
    log.info("sync finished", **result.counts())
    return result


def _certainly_written(sync: RunOutcome, by_record: dict[str, list[Finding]]) -> int:
    """How many records the writes will certainly touch, before the plan is made: those with
    a finding for a query and no query yet (a first sync: every one with a finding)."""
    return sum(
        1
        for record_id, found in by_record.items()
        if found and not sync.query_rows[record_id].record.rows
    )


def _after_writes(sync: RunOutcome, book: QueryBook) -> None:
    """Each record's queries as REDCap now holds them (a dry run: as it would); the records
    deleted since the export are left out."""
    by_record: dict[str, list[Change]] = {}
    for change in sync.plan.changes:
        if (change.record, change.instance) not in sync.rejected:
            by_record.setdefault(change.record, []).append(change)
    sync.queries = {}
    for record_id, kept in sync.query_rows.items():
        if record_id in sync.gone:
            sync.groups.pop(record_id, None)
            continue
        queries = book.after(kept.record, by_record.get(record_id, ()), event=kept.event)
        if queries:
            sync.queries[record_id] = queries


def _write(
    client: RedcapClient,
    changes: list[Change],
    sync: RunOutcome,
    should_stop: StopCheck | None = None,
    on_progress: ProgressCallback | None = None,
    listed: Callable[[], set[str]] | None = None,
) -> None:
    """Import the planned rows (worker.writes: batched, refusing records isolated, never a
    record created); what could not be written is reported in ``sync``."""

    def before_batch(written: int, total: int) -> None:
        if should_stop is not None and should_stop():
            raise SyncStopped(f"stopped after writing {written} of {total} query rows")

    def written(batch: Sequence[Change]) -> None:
        sync.written += len(batch)
        # A first sync writes a line per query, 17,000 at 5,000 participants: structlog builds
        # each (context, timestamp) before the stdlib level drops it, seconds on the thread
        # the writes wait for.
        if not logging.getLogger(__name__).isEnabledFor(logging.INFO):
            return
        for change in batch:
            log.info(
                "query " + change.action.value,
                record=change.record,
                instance=change.instance,
                rule=change.rule,
                query_id=change.query_id,
            )

    report = write_rows(
        client,
        changes,
        batch_rows=WRITE_BATCH_ROWS,
        before_batch=before_batch,
        on_progress=on_progress,
        on_written=written,
        listed=listed,
    )
    for refusal in report.refused:
        sync.write_errors.append(
            f"record {refusal.record}: {refusal.rows} query rows not written: {refusal.message}"
        )
    sync.rejected.update((c.record, c.instance) for c in report.refused_rows)
    sync.rejected.update((c.record, c.instance) for c in report.gone_rows)
    sync.gone.update(report.gone)


def _checked_columns(
    batches: Iterable[Sequence[dict]], book: QueryBook
) -> Iterator[Sequence[dict]]:
    """The batches, stopping at the first whose rows lack a query field the worker reads
    (the token user's export rights leave it out): before anything is written."""
    needed = book.f.read_back
    for batch in batches:
        if batch:
            missing = hidden_fields(needed, batch[0].keys())
            if missing:
                raise export_rights_error(book.spec.form, missing)
        yield batch
