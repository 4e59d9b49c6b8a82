"""How the report's long lists are arranged, so the page stays usable at thousands of
participants (pure: no I/O).

- A table of counts per check comes first: what is wrong, and how often, at a glance.
- Deviations are grouped by check, each group a ``<details>`` element that is open only
  while the whole list is short. Rows inside a group leave out what the group heading says,
  and a group lists its first ``ROWS_PER_CHECK`` deviations.
- Open queries per record: at most ``RECORDS_LISTED`` records; past that, those with the
  oldest open queries.
- At most ``TIMELINES_DRAWN`` visit-window timelines are drawn (each is a few kilobytes of
  SVG): participants with a missed, out-of-window or due visit first.

So the page stays a few megabytes whatever the study's size (at 5,000 participants it was
26 MB when it listed everything). The counts always cover everything, and the page says
what it leaves out: ``check --format csv`` lists every finding, ``visits`` every visit.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from worker.core.findings import Severity, record_sort_key
from worker.core.visits import VisitStatus
from worker.report.collect import DeviationRow, RecordQueries, ReportData, Timeline

# Below this many deviations the groups are shown open, as one list would be.
OPEN_GROUPS_BELOW = 100
ROWS_PER_CHECK = 200
RECORDS_LISTED = 500
TIMELINES_DRAWN = 200

# What makes a timeline worth drawing first, most pressing first.
ATTENTION = (VisitStatus.MISSED, VisitStatus.OUT_OF_WINDOW, VisitStatus.DUE)


@dataclass(frozen=True, slots=True)
class CheckCount:
    rule: str
    title: str
    severity: Severity | None
    deviations: int  # found as of the report's date
    open_queries: int  # open in the project's query form
    records: int  # records with either


@dataclass(frozen=True, slots=True)
class CheckGroup:
    rule: str
    title: str
    severity: Severity
    rows: list[DeviationRow]

    @property
    def open_queries(self) -> int:
        return sum(row.query == "open" for row in self.rows)

    @property
    def shown(self) -> list[DeviationRow]:
        return self.rows[:ROWS_PER_CHECK]

    @property
    def more(self) -> int:
        return max(len(self.rows) - ROWS_PER_CHECK, 0)


def check_counts(data: ReportData) -> list[CheckCount]:
    deviations = Counter(d.rule for d in data.deviations)
    queries: Counter[str] = Counter()
    severity: dict[str, Severity | None] = {}
    records: dict[str, set[str]] = {}
    for d in data.deviations:
        severity.setdefault(d.rule, d.severity)
        records.setdefault(d.rule, set()).add(d.record)
    for entry in data.queries:
        for q in entry.queries:
            queries[q.rule] += 1
            severity.setdefault(q.rule, q.severity)
            records.setdefault(q.rule, set()).add(entry.record)
    rows = [
        CheckCount(
            rule=rule,
            title=data.titles.get(rule, ""),
            severity=severity[rule],
            deviations=deviations[rule],
            open_queries=queries[rule],
            records=len(records[rule]),
        )
        for rule in severity
    ]
    return sorted(
        rows,
        key=lambda c: (
            -(c.severity.rank if c.severity else 99),
            -(c.deviations + c.open_queries),
            c.rule,
        ),
    )


def check_groups(deviations: list[DeviationRow]) -> list[CheckGroup]:
    by_rule: dict[str, list[DeviationRow]] = {}
    for row in deviations:
        by_rule.setdefault(row.rule, []).append(row)
    groups = [
        CheckGroup(rule, rows[0].title, rows[0].severity, rows) for rule, rows in by_rule.items()
    ]
    return sorted(groups, key=lambda g: (-g.severity.rank, -len(g.rows), g.rule))


def records_listed(
    queries: list[RecordQueries], limit: int = RECORDS_LISTED
) -> list[RecordQueries]:
    """Every record with open queries up to ``limit``; past it, the oldest queries first."""
    if len(queries) <= limit:
        return queries
    return sorted(queries, key=lambda r: (-(r.oldest_days or 0), -len(r.queries)))[:limit]


def _attention(timeline: Timeline) -> int:
    statuses = {row.status for row in timeline.rows}
    ranks = [i for i, status in enumerate(ATTENTION) if status in statuses]
    return min(ranks, default=len(ATTENTION))


def timelines_drawn(timelines: list[Timeline], limit: int = TIMELINES_DRAWN) -> list[Timeline]:
    """All timelines up to ``limit``; past it, the most pressing ones, in record order."""
    if len(timelines) <= limit:
        return timelines
    order = sorted(range(len(timelines)), key=lambda i: (_attention(timelines[i]), i))
    chosen = sorted(order[:limit])
    return sorted((timelines[i] for i in chosen), key=lambda t: record_sort_key(t.record))
