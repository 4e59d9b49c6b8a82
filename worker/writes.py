"""Writing rows into REDCap without losing, duplicating or creating anything.

Any write target (the query instrument today) hands over rows, each belonging to one record,
and gets back which rows were written, which REDCap refused (per record, with REDCap's
message) and which records were gone. The rules:

- Rows go in batches of up to ``BATCH_ROWS`` rows and ``BATCH_BYTES`` bytes of JSON,
  whichever comes first, a record's rows together (unless they alone exceed that); each
  batch is written whole or not at all (REDCap validates a whole request before writing any
  of it). Batches are written ``max_concurrent_requests`` at a time (the client's bound on
  requests in flight), under the client's rate ceiling.
- Never create a record. REDCap creates any record an import names, so a record deleted
  since the export would come back holding only the worker's rows. Right before the first
  batch one export of the record IDs says which still exist; the rows of the others are
  skipped and reported. A record deleted during the seconds the batches take is the window
  left: one check per batch would cost as many requests as the imports themselves.
- A batch REDCap refuses for something in it (HTTP 400: a locked record, a bad value) is
  split in two by record, again and again, until the refusing records are isolated: only
  their rows fail, every other record's rows are written.
- A refusal that no request escapes (a 429 ban, a 403 for lost rights) stops at once: no
  further request starts (those already in flight finish), ``WritesInterrupted``.
- Any other failure of a batch (REDCap unreachable after its retries, a stop) also stops
  the rest at their next request; what was written is reported, then the failure raised.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Generic, Protocol, TypeVar

import structlog

from worker.errors import WritesInterrupted
from worker.redcap_client import RedcapClient
from worker.redcap_client.concurrency import Abandoned, in_order
from worker.redcap_client.failures import RedcapRequestRefused

log = structlog.get_logger(__name__)

# REDCap takes several hundred rows per import in one request; past about a megabyte a
# request risks PHP's post_max_size and REDCap's memory limit.
BATCH_ROWS = 500
BATCH_BYTES = 1_000_000


class RowWrite(Protocol):
    @property
    def record(self) -> str: ...

    @property
    def row(self) -> dict[str, Any]: ...


W = TypeVar("W", bound=RowWrite)

# (done, total) rows; also asked before each batch so a caller can stop there.
Progress = Callable[[int, int], None]


@dataclass
class Refusal:
    record: str
    message: str  # REDCap's answer, one line, without values (the client's str())
    rows: int


@dataclass
class WriteReport(Generic[W]):
    written: list[W] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    refused_rows: list[W] = field(default_factory=list)
    gone: dict[str, int] = field(default_factory=dict)  # record -> rows not written
    gone_rows: list[W] = field(default_factory=list)
    requests: int = 0


def write_rows(
    client: RedcapClient,
    items: Sequence[W],
    *,
    batch_rows: int = BATCH_ROWS,
    batch_bytes: int = BATCH_BYTES,
    before_batch: Progress | None = None,
    on_progress: Progress | None = None,
    on_written: Callable[[Sequence[W]], None] | None = None,
    listed: Callable[[], set[str]] | None = None,
) -> WriteReport[W]:
    """Import the items' rows (overwrite mode, explicit instances: a repeat lands on the same
    rows) in batches, by the rules above.

    ``before_batch(written, total)`` is asked on this thread before each batch is sent and
    may raise to stop there; the batches in flight then finish, and it is asked once more so
    that what it raises counts them. ``on_written`` and ``on_progress`` are called on this
    thread, batch by batch in order. ``listed``: the listing of every record ID the
    existence check reads when the items are for more records than one request can name,
    started already (``RedcapClient.existence_listing_started``)."""
    report: WriteReport[W] = WriteReport()
    total = len(items)
    if not total:
        return report
    if on_progress is not None:
        on_progress(0, total)
    if before_batch is not None:
        before_batch(0, total)
    present = _existing(client, items, report, total, listed)
    kept: list[W] = []
    for item in items:
        if item.record in present:
            kept.append(item)
        else:
            report.gone[item.record] = report.gone.get(item.record, 0) + 1
            report.gone_rows.append(item)
    done = total - len(kept)
    if done and on_progress is not None:
        on_progress(done, total)
    stopped: list[BaseException] = []
    cancel = threading.Event()

    def tasks() -> Iterator[Callable[[], _Outcome[W]]]:
        for batch in import_batches(kept, rows=batch_rows, size=batch_bytes):
            if before_batch is not None:
                try:
                    before_batch(len(report.written), total)
                except BaseException as exc:  # raised once the batches in flight are in
                    stopped.append(exc)
                    return
            yield partial(_write_batch, client, batch, cancel)

    failure: Exception | None = None
    width = client.max_concurrent_requests
    outcomes = in_order(tasks(), width=width, name="redcap-import", cancel=cancel)
    with closing(outcomes):  # whatever happens here, the batches in flight are waited for
        for outcome in outcomes:
            report.requests += outcome.report.requests
            report.refused.extend(outcome.report.refused)
            report.refused_rows.extend(outcome.report.refused_rows)
            for chunk in outcome.written:
                report.written.extend(chunk)
                if on_written is not None:
                    on_written(chunk)
            done += outcome.rows
            if on_progress is not None:
                on_progress(done, total)
            # The failure that stopped the others, not theirs at being stopped.
            if outcome.error is not None and (failure is None or isinstance(failure, Abandoned)):
                failure = outcome.error
    for record, rows in report.gone.items():
        log.warning("record deleted since the export; rows not written", record=record, rows=rows)
    if isinstance(failure, RedcapRequestRefused):
        raise _interrupted(failure, report, total) from None
    if failure is not None:
        raise failure
    if stopped:
        if before_batch is not None:
            before_batch(len(report.written), total)
        raise stopped[0]
    return report


def import_batches(items: Sequence[W], *, rows: int, size: int) -> Iterator[list[W]]:
    """The items in batches of at most ``rows`` rows and ``size`` bytes of JSON, in their
    order, each record's rows in one batch unless they alone are more than that. Each batch
    as soon as it is whole: the first import need not wait for every row to be measured."""
    by_record: dict[str, list[W]] = {}
    for item in items:
        by_record.setdefault(item.record, []).append(item)
    batch: list[W] = []
    batch_bytes = 0
    for record_items in by_record.values():
        sizes = [_json_bytes(i.row) for i in record_items]
        record_bytes = sum(sizes)
        if batch and (len(batch) + len(record_items) > rows or batch_bytes + record_bytes > size):
            yield batch
            batch, batch_bytes = [], 0
        for item, item_bytes in zip(record_items, sizes, strict=True):
            if batch and (len(batch) + 1 > rows or batch_bytes + item_bytes > size):
                yield batch  # one record's rows alone over the limit
                batch, batch_bytes = [], 0
            batch.append(item)
            batch_bytes += item_bytes
    if batch:
        yield batch


def _json_bytes(row: dict[str, Any]) -> int:
    return len(json.dumps(row, ensure_ascii=False).encode("utf-8")) + 1  # and its comma


@dataclass
class _Outcome(Generic[W]):
    """One batch's part of the report, written by a task of its own, merged in order."""

    rows: int
    report: WriteReport[W]
    written: list[Sequence[W]] = field(default_factory=list)  # in the order REDCap took them
    error: Exception | None = None


def _write_batch(client: RedcapClient, batch: list[W], cancel: threading.Event) -> _Outcome[W]:
    outcome: _Outcome[W] = _Outcome(len(batch), WriteReport())
    try:
        _isolating(client, batch, outcome.report, outcome.written.append)
    except Exception as exc:  # reported in order by write_rows; the other batches stop
        cancel.set()
        outcome.error = exc
    return outcome


def _existing(
    client: RedcapClient,
    items: Sequence[RowWrite],
    report: WriteReport,
    total: int,
    listed: Callable[[], set[str]] | None,
) -> set[str]:
    report.requests += 1
    try:
        return client.existing_records((item.record for item in items), listed=listed)
    except RedcapRequestRefused as exc:
        raise _interrupted(exc, report, total) from None


def _isolating(
    client: RedcapClient,
    items: list[W],
    report: WriteReport[W],
    on_written: Callable[[Sequence[W]], None],
    *,
    known_refused: bool = False,
) -> bool:
    """Write ``items``; True if all were written. ``known_refused``: these rows are the
    second half of a refused batch whose first half passed, so they hold a refusing record:
    split without sending them whole. A single record's rows are always sent, so each
    refusal named is REDCap's answer to that record alone. A refusal of the whole API (a
    ban, lost rights) is raised."""
    records = list(dict.fromkeys(i.record for i in items))
    if not (known_refused and len(records) > 1):
        report.requests += 1
        try:
            # Overwrite, so a reopen can clear the closing time and the verified mark; rows
            # carry only the worker's own fields, so nothing else is touched.
            client.import_records([i.row for i in items], overwrite="overwrite", idempotent=True)
        except RedcapRequestRefused as exc:
            if not exc.about_the_request:
                raise
            if len(records) == 1:
                report.refused.append(Refusal(records[0], str(exc), len(items)))
                report.refused_rows.extend(items)
                log.error("write refused", record=records[0], rows=len(items), error=str(exc))
                return False
        else:
            on_written(items)
            return True
    first_records = set(records[: len(records) // 2])
    first = [i for i in items if i.record in first_records]
    second = [i for i in items if i.record not in first_records]
    first_ok = _isolating(client, first, report, on_written)
    second_ok = _isolating(client, second, report, on_written, known_refused=first_ok)
    return first_ok and second_ok


def _interrupted(exc: RedcapRequestRefused, report: WriteReport, total: int) -> WritesInterrupted:
    log.info("writes stopped", status=exc.status, written=len(report.written), total=total)
    return WritesInterrupted(
        f"{exc}; writes stopped at once: {len(report.written)} of {total} rows written, the "
        "rest are written by the next run"
    )
