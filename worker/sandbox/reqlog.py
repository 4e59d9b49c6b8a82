"""The sandbox's own request log, for tests to assert on what a client asked for.

One :class:`RequestEntry` per HTTP request, faults included. The token is never recorded
(:meth:`RequestParams.redacted` drops it) and neither is an import's payload, only its row count.

Typical assertions::

    mark = sb.request_log.mark()
    run_sync()
    assert not sb.request_log.since(mark).imports()
    assert sb.request_log.since(mark).exported_records() == {"7"}
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, overload


@dataclass(frozen=True)
class RequestEntry:
    at: datetime
    method: str
    path: str
    seq: int = 0
    content: str = ""
    action: str = ""  # export | import | delete ("" when the request never got that far)
    format: str = ""
    return_format: str = ""
    is_import: bool = False
    records_requested: tuple[str, ...] | None = None  # records filter; None = all records
    records_written: tuple[str, ...] = ()  # import/delete: records named in the request
    records_changed: tuple[str, ...] = ()  # import/delete: records whose stored data changed
    records_returned: tuple[str, ...] = ()  # record export: records present in the answer
    rows_sent: int = 0  # import: rows in the payload
    rows_returned: int = 0  # exports: rows in the answer
    fields: tuple[str, ...] | None = None
    forms: tuple[str, ...] | None = None
    events: tuple[str, ...] | None = None
    params: Mapping[str, Any] = field(default_factory=dict)  # redacted: no token, no payload
    status: int | None = None  # None: the connection was dropped without an answer
    fault: str | None = None  # the injected fault, e.g. "500", "drop", "html", "latency:200"
    error: str | None = None  # REDCap-style error message sent back, if any
    # Wall-clock seconds (``time.time()``) when the request arrived, before any processing
    # or injected latency: what a server-side rate limiter would count (``at`` is stamped
    # by the sandbox's clock when the answer is ready, and may be a fake clock).
    received: float | None = None
    # Wall-clock seconds when the answer was ready (just before it is sent): between
    # ``received`` and this the request was in flight, as the server saw it.
    answered: float | None = None

    @property
    def record_ids(self) -> tuple[str, ...]:
        """Records this request touched: written for imports/deletes, else asked for/returned."""
        if self.action in ("import", "delete"):
            return self.records_written
        return self.records_requested or self.records_returned

    @property
    def ok(self) -> bool:
        """Answered 200 by the API itself (a latency fault only delays the real answer)."""
        return self.status == 200 and (self.fault is None or self.fault.startswith("latency"))


class RequestLog(Sequence[RequestEntry]):
    """A thread-safe, append-only list of entries with small query helpers.

    Query methods return plain snapshots (also :class:`RequestLog`), so they chain:
    ``log.since(m).where(content="record").imports()``.
    """

    def __init__(self, entries: Sequence[RequestEntry] = ()) -> None:
        self._entries = list(entries)
        self._lock = threading.Lock()

    def append(self, entry: RequestEntry) -> RequestEntry:
        """Add an entry, numbering it (``seq`` from 1) in arrival order of completion."""
        with self._lock:
            entry = replace(entry, seq=len(self._entries) + 1)
            self._entries.append(entry)
            return entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def snapshot(self) -> list[RequestEntry]:
        with self._lock:
            return list(self._entries)

    @overload
    def __getitem__(self, index: int) -> RequestEntry: ...
    @overload
    def __getitem__(self, index: slice) -> RequestLog: ...
    def __getitem__(self, index: int | slice) -> RequestEntry | RequestLog:
        entries = self.snapshot()
        if isinstance(index, slice):
            return RequestLog(entries[index])
        return entries[index]

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __iter__(self) -> Iterator[RequestEntry]:
        return iter(self.snapshot())

    def __repr__(self) -> str:
        return f"RequestLog({len(self)} entries)"

    # -- queries ---------------------------------------------------------------------------

    def mark(self) -> int:
        """A position to pass to :meth:`since` later."""
        return len(self)

    def since(self, mark: int) -> RequestLog:
        return RequestLog(self.snapshot()[mark:])

    def where(self, **criteria: Any) -> RequestLog:
        """Entries whose attributes equal every keyword, e.g. ``where(content="log")``."""
        return RequestLog(
            [e for e in self.snapshot() if all(getattr(e, k) == v for k, v in criteria.items())]
        )

    def imports(self) -> RequestLog:
        """Record imports (``content=record`` with data), whatever their outcome."""
        return self.where(content="record", is_import=True)

    def exports(self) -> RequestLog:
        """Record exports (``content=record`` without data)."""
        return self.where(content="record", action="export")

    def deletes(self) -> RequestLog:
        return self.where(content="record", action="delete")

    def faulted(self) -> RequestLog:
        return RequestLog([e for e in self.snapshot() if e.fault is not None])

    def most_at_once(self) -> int:
        """The most requests the server was handling at the same moment (their spans from
        ``received`` to ``answered`` overlapping)."""
        edges = sorted(
            edge
            for e in self.snapshot()
            if e.received is not None and e.answered is not None
            for edge in ((e.received, 1), (e.answered, -1))
        )  # at a tie an answer (-1) comes first: a request that ends as another begins
        most = current = 0
        for _, step in edges:
            current += step
            most = max(most, current)
        return most

    def contents(self) -> list[str]:
        return [e.content for e in self.snapshot()]

    def exported_records(self) -> set[str]:
        """Every record that came back from a successful record export."""
        return {r for e in self.exports() if e.ok for r in e.records_returned}

    def written_records(self) -> set[str]:
        """Every record named in a successful import."""
        return {r for e in self.imports() if e.ok for r in e.records_written}

    def changed_records(self) -> set[str]:
        """Every record whose stored data a successful import or delete changed."""
        return {
            r
            for e in self.snapshot()
            if e.ok and e.action in ("import", "delete")
            for r in e.records_changed
        }


def entry_json(entry: RequestEntry) -> str:
    """One entry as a JSON line for ``--request-log`` files: what was asked and answered,
    when it arrived, and the records involved; never the token or an import's values."""
    return json.dumps(
        {
            "seq": entry.seq,
            "received": entry.received,
            "answered": entry.answered,
            "at": entry.at.isoformat(),
            "content": entry.content,
            "action": entry.action,
            "is_import": entry.is_import,
            "status": entry.status,
            "fault": entry.fault,
            "records_requested": (
                None if entry.records_requested is None else list(entry.records_requested)
            ),
            "records_returned": list(entry.records_returned),
            "records_written": list(entry.records_written),
            "rows_returned": entry.rows_returned,
            "rows_sent": entry.rows_sent,
        },
        separators=(",", ":"),
    )
