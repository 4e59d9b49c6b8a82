"""A summary's content: what one email says, as plain data (pure: no I/O, no markup).

Two kinds. A **critical alert** goes out at once and lists the new critical deviations
with the open queries of their records. A **digest** lists the deviations raised or
reopened since the last digest, everything still open, open queries per record, visits
overdue or due soon and the study's progress. Both render from the same object into plain
text and HTML (``render.py``), so the two parts cannot disagree.

Subjects name the study (``email.study_name`` or the project title) and carry nothing
medical: unencrypted email reveals its subject line to every relay and in every inbox list.

A summary is bounded: each list shows at most ``limit`` rows (``email.max_items``); past
that, counts per check say what the lists leave out. At 5,000 participants a first digest
would otherwise run to megabytes, which relays refuse.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence, Sized
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import TypeVar

from worker.core.findings import Kind, Severity, record_sort_key
from worker.notify.naming import subject_prefix
from worker.notify.snapshot import Item, Snapshot, Visit, VisitState

T = TypeVar("T")

# A study without a name (no study_name, an untitled project); see naming.subject_prefix.
SUBJECT_PREFIX = subject_prefix("")


class SummaryKind(StrEnum):
    CRITICAL = "critical"
    DIGEST = "digest"


@dataclass(frozen=True, slots=True)
class CountRow:
    severity: Severity
    new: int  # new deviations in this summary
    open_deviations: int
    open_queries: int


@dataclass(frozen=True, slots=True)
class CheckRow:
    rule: str
    title: str
    severity: Severity
    new: int  # new deviations of this check in this summary
    open: int  # open queries and deviations of this check in scope


@dataclass(frozen=True, slots=True)
class RecordRow:
    record: str
    site: str
    deviations: int
    queries: int
    oldest_days: int | None


@dataclass(frozen=True)
class Summary:
    kind: SummaryKind
    site: str | None  # a data access group's own summary; None: the study team's
    new: tuple[Item, ...]
    open: tuple[Item, ...]  # every open deviation in scope (digest only)
    counts: tuple[CountRow, ...]
    records: tuple[RecordRow, ...]
    overdue: tuple[Visit, ...]
    due_soon: tuple[Visit, ...]
    progress: tuple[tuple[str, int], ...]
    anchor: str | None
    complete: bool  # the counts are the study's (or site's) totals, not a partial run's
    resolved_before: int = 0  # raised since the last digest, resolved before it went out
    check_errors: int = 0
    study: str = ""  # the study's name, header-safe
    limit: int | None = None  # most rows a list shows (None: all)
    by_check: tuple[CheckRow, ...] = ()
    # Why the run was not a clean bill of health (quarantined or erring checks): the
    # digest leads with it.
    degraded: tuple[str, ...] = ()

    @property
    def is_critical(self) -> bool:
        return self.kind is SummaryKind.CRITICAL

    @property
    def subject(self) -> str:
        prefix = subject_prefix(self.study)
        site = f" (site {self.site})" if self.site else ""
        if self.is_critical:
            n = len(self.new)
            return f"{prefix} CRITICAL: {n} new protocol deviation{_s(n)}{site}"
        return f"{prefix} Deviation digest: {len(self.new)} new, {len(self.open)} open{site}"

    def first(self, rows: Sequence[T]) -> Sequence[T]:
        """The rows a list shows."""
        return rows if self.limit is None else rows[: self.limit]

    def more(self, rows: Sized) -> int:
        """How many rows a list leaves out."""
        return 0 if self.limit is None else max(len(rows) - self.limit, 0)

    @property
    def truncated(self) -> bool:
        lists: tuple[Sized, ...] = (self.new, self.open, self.records, self.overdue, self.due_soon)
        return any(self.more(rows) for rows in lists)

    @property
    def scope(self) -> str:
        """What the counts cover, in words."""
        site = f" at site {self.site}" if self.site else ""
        if self.is_critical:
            return f"the records in this alert{site}"
        if not self.complete:
            return f"the records this run checked{site}"
        return f"site {self.site}" if self.site else "the whole study"

    @cached_property  # asked by every row a template lists: thousands of items each time
    def has_sites(self) -> bool:
        """Whether any record here belongs to a data access group (else no site column)."""
        return any(i.site for i in (*self.new, *self.open)) or any(r.site for r in self.records)

    @property
    def severities(self) -> set[Severity]:
        """The severities of the deviations this summary announces (recipients follow them)."""
        return {i.severity for i in self.new}


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def compose_critical(
    snapshot: Snapshot, new: Sequence[Item], *, limit: int | None = None
) -> Summary:
    """An immediate alert for new critical deviations: those, and their records' queries."""
    records = {i.record for i in new}
    in_scope = [i for i in snapshot.items if i.record in records]
    return Summary(
        kind=SummaryKind.CRITICAL,
        site=snapshot.site,
        new=tuple(sorted(new, key=Item.sort_key)),
        open=(),
        counts=_counts(new, in_scope),
        records=_records(in_scope),
        overdue=(),
        due_soon=(),
        progress=(),
        anchor=snapshot.anchor,
        complete=snapshot.complete,
        check_errors=snapshot.check_errors,
        study=snapshot.study,
        limit=limit,
        by_check=_by_check(new, in_scope),
    )


def compose_digest(
    snapshot: Snapshot, new: Sequence[Item], *, resolved_before: int, limit: int | None = None
) -> Summary:
    """The scheduled digest: new since the last one, and everything still open."""
    return Summary(
        kind=SummaryKind.DIGEST,
        site=snapshot.site,
        new=tuple(sorted(new, key=Item.sort_key)),
        open=tuple(snapshot.deviations),
        counts=_counts(new, snapshot.items),
        records=_records(snapshot.items),
        overdue=tuple(v for v in snapshot.visits if v.state is VisitState.OVERDUE),
        due_soon=tuple(v for v in snapshot.visits if v.state is not VisitState.OVERDUE),
        progress=snapshot.progress,
        anchor=snapshot.anchor,
        complete=snapshot.complete,
        resolved_before=resolved_before,
        check_errors=snapshot.check_errors,
        study=snapshot.study,
        limit=limit,
        by_check=_by_check(new, snapshot.items),
        degraded=snapshot.degraded,
    )


def _by_check(new: Sequence[Item], items: Sequence[Item]) -> tuple[CheckRow, ...]:
    """Per check: new deviations and open items, most severe and most open first."""
    new_by = Counter(i.rule for i in new)
    open_by = Counter(i.rule for i in items)
    first: dict[str, Item] = {}
    for i in (*new, *items):
        first.setdefault(i.rule, i)
    rows = [
        CheckRow(rule, i.title, i.severity, new_by[rule], open_by[rule])
        for rule, i in first.items()
    ]
    return tuple(sorted(rows, key=lambda r: (-r.severity.rank, -r.open, -r.new, r.rule)))


def _counts(new: Iterable[Item], items: Iterable[Item]) -> tuple[CountRow, ...]:
    new_by = Counter(i.severity for i in new)
    open_by = Counter((i.kind, i.severity) for i in items)
    return tuple(
        CountRow(
            severity=sev,
            new=new_by[sev],
            open_deviations=open_by[(Kind.DEVIATION, sev)],
            open_queries=open_by[(Kind.QUERY, sev)],
        )
        for sev in sorted(Severity, key=lambda s: -s.rank)
    )


def _records(items: Iterable[Item]) -> tuple[RecordRow, ...]:
    by_record: dict[str, list[Item]] = {}
    for item in items:
        by_record.setdefault(item.record, []).append(item)
    rows = []
    for record, found in by_record.items():
        ages = [i.days_open for i in found if i.days_open is not None]
        rows.append(
            RecordRow(
                record=record,
                site=found[0].site,
                deviations=sum(i.is_deviation for i in found),
                queries=sum(not i.is_deviation for i in found),
                oldest_days=max(ages) if ages else None,
            )
        )
    return tuple(sorted(rows, key=lambda r: record_sort_key(r.record)))
