"""Writing rows into REDCap without losing, duplicating or creating anything.

Any write target (the query instrument today) hands over rows, each belonging to one record,
and gets back which rows were written, which REDCap refused (per record, with REDCap's
message) and which records were gone. The rules:

- Rows go in batches; each batch is written whole or not at all (REDCap validates a whole
  request before writing any of it).
- Never create a record. REDCap creates any record an import names, so a record deleted
  since the export would come back holding only the worker's rows. Right before each batch
  one export of the batch's record IDs says which still exist; the rows of the others are
  skipped and reported. (A deletion in the moment between that export and the import is the
  one window left; one request per batch is the price of the check.)
- A batch REDCap refuses for something in it (HTTP 400: a locked record, a bad value) is
  split in two by record, again and again, until the refusing records are isolated: only
  their rows fail, every other record's rows are written.
- A refusal that no request escapes (a 429 ban, a 403 for lost rights) stops at once: no
  further request, ``WritesInterrupted``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import structlog

from worker.errors import WritesInterrupted
from worker.redcap_client import RedcapClient
from worker.redcap_client.failures import RedcapRequestRefused

log = structlog.get_logger(__name__)

BATCH_ROWS = 100


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
    before_batch: Progress | None = None,
    on_progress: Progress | None = None,
    on_written: Callable[[Sequence[W]], None] | None = None,
) -> WriteReport[W]:
    """Import the items' rows (overwrite mode, explicit instances: a repeat lands on the same
    rows) in batches, by the rules above."""
    report: WriteReport[W] = WriteReport()
    total, done = len(items), 0
    if on_progress is not None and total:
        on_progress(0, total)
    for start in range(0, total, batch_rows):
        if before_batch is not None:
            before_batch(len(report.written), total)
        batch = items[start : start + batch_rows]
        present = _existing(client, batch, report, done, total)
        for item in batch:
            if item.record not in present:
                report.gone[item.record] = report.gone.get(item.record, 0) + 1
                report.gone_rows.append(item)
        kept = [item for item in batch if item.record in present]
        if kept:
            _isolating(client, kept, report, (done, total), on_written)
        done += len(batch)
        if on_progress is not None:
            on_progress(done, total)
    for record, rows in report.gone.items():
        log.warning("record deleted since the export; rows not written", record=record, rows=rows)
    return report


def _existing(
    client: RedcapClient, batch: Sequence[RowWrite], report: WriteReport, done: int, total: int
) -> set[str]:
    report.requests += 1
    try:
        return client.existing_records(item.record for item in batch)
    except RedcapRequestRefused as exc:
        raise _interrupted(exc, report, done, total) from None


def _isolating(
    client: RedcapClient,
    items: list[W],
    report: WriteReport[W],
    progress: tuple[int, int],
    on_written: Callable[[Sequence[W]], None] | None,
    *,
    known_refused: bool = False,
) -> bool:
    """Write ``items``; True if all were written. ``known_refused``: these rows are the
    second half of a refused batch whose first half passed, so they hold a refusing record:
    split without sending them whole. A single record's rows are always sent, so each
    refusal named is REDCap's answer to that record alone."""
    records = list(dict.fromkeys(i.record for i in items))
    if not (known_refused and len(records) > 1):
        report.requests += 1
        try:
            # Overwrite, so a reopen can clear the closing time and the verified mark; rows
            # carry only the worker's own fields, so nothing else is touched.
            client.import_records([i.row for i in items], overwrite="overwrite", idempotent=True)
        except RedcapRequestRefused as exc:
            if not exc.about_the_request:
                raise _interrupted(exc, report, *progress) from None
            if len(records) == 1:
                report.refused.append(Refusal(records[0], str(exc), len(items)))
                report.refused_rows.extend(items)
                log.error("write refused", record=records[0], rows=len(items), error=str(exc))
                return False
        else:
            report.written.extend(items)
            if on_written is not None:
                on_written(items)
            return True
    first_records = set(records[: len(records) // 2])
    first = [i for i in items if i.record in first_records]
    second = [i for i in items if i.record not in first_records]
    first_ok = _isolating(client, first, report, progress, on_written)
    second_ok = _isolating(client, second, report, progress, on_written, known_refused=first_ok)
    return first_ok and second_ok


def _interrupted(
    exc: RedcapRequestRefused, report: WriteReport, done: int, total: int
) -> WritesInterrupted:
    log.info("writes stopped", status=exc.status, written=len(report.written), total=total)
    return WritesInterrupted(
        f"{exc}; writes stopped at once: {len(report.written)} of {total} rows written, the "
        "rest are written by the next run"
    )
