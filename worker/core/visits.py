"""Visit schedules: the rows a study's rules compute and the ``visits`` command shows.

The study declares its schedule (which visits, their windows, when a visit is not expected
and why) in ``rules/<study>/schedule.toml``; :mod:`worker.core.schedule` computes the rows.
This module only names the shape of a row, its statuses and the order coordinators read
them in. Statuses are generic; a visit that is not expected carries the study's own reason
in words (``VisitRow.reason``). The visit window checks judge the same rows, so the
command and the checks cannot disagree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from worker.core.findings import record_sort_key


class VisitStatus(StrEnum):
    DUE = "due now"  # the window is open today (or closed within the grace) and no sample yet
    UPCOMING = "upcoming"  # the window opens later
    MISSED = "missed"  # the window has closed with no sample
    OUT_OF_WINDOW = "out of window"  # a sample, dated outside the window
    IN_WINDOW = "in window"  # a sample, dated inside the window
    NOT_EXPECTED = "not expected"  # the study's rules say why: VisitRow.reason


# Coordinators plan what is due soonest: open windows first (closing soonest first), then
# the next windows to open, then what is settled.
_RANK = {
    VisitStatus.DUE: 0,
    VisitStatus.UPCOMING: 1,
    VisitStatus.MISSED: 2,
    VisitStatus.OUT_OF_WINDOW: 3,
    VisitStatus.IN_WINDOW: 4,
    VisitStatus.NOT_EXPECTED: 5,
}


@dataclass(frozen=True, slots=True)
class VisitRow:
    """One scheduled visit of one participant.

    ``anchor`` is the date day numbers count from (e.g. the first treatment); ``part`` and
    ``ordinal`` say where in the study's mapping the visit lives, ``event`` is filled from
    the mapping, and ``field`` is where the visit's date is recorded. ``reason`` says, in the
    study's words, why a ``NOT_EXPECTED`` visit is not expected (e.g. "ended").
    """

    record: str
    visit: str
    part: str
    ordinal: int | None
    field: str
    anchor: date
    target: date
    window_start: date
    window_end: date
    sample_date: date | None
    status: VisitStatus
    event: str | None = None
    reason: str | None = None
    evidence: Mapping[str, str] = dataclasses.field(default_factory=dict, compare=False, repr=False)

    def day(self, when: date) -> int:
        """Days after the anchor (the anchor itself is day 0)."""
        return (when - self.anchor).days

    @property
    def status_text(self) -> str:
        """The status as people read it: "not expected: <reason>" where the rules give one."""
        if self.status is VisitStatus.NOT_EXPECTED and self.reason:
            return f"{self.status.value}: {self.reason}"
        return self.status.value

    @property
    def target_day(self) -> int:
        return self.day(self.target)

    @property
    def start_day(self) -> int:
        return self.day(self.window_start)

    @property
    def end_day(self) -> int:
        return self.day(self.window_end)

    @property
    def sample_day(self) -> int | None:
        return None if self.sample_date is None else self.day(self.sample_date)

    def public(self) -> dict[str, Any]:
        """The row as the ``visits`` command's JSON shows it (no evidence)."""
        return {
            "record": self.record,
            "visit": self.visit,
            "event": self.event,
            "target": self.target.isoformat(),
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "target_day": self.target_day,
            "window_days": [self.start_day, self.end_day],
            "sample_date": None if self.sample_date is None else self.sample_date.isoformat(),
            "sample_day": self.sample_day,
            "status": self.status_text,
        }


def visit_sort_key(row: VisitRow) -> tuple[Any, ...]:
    """Soonest due first: by status group, then the date that matters for that group."""
    if row.status is VisitStatus.UPCOMING:
        when = row.window_start
    elif row.status in (VisitStatus.DUE, VisitStatus.MISSED):
        when = row.window_end
    else:
        when = row.target
    return (_RANK[row.status], when, record_sort_key(row.record), row.ordinal or 0)


def sort_visits(rows: Iterable[VisitRow]) -> list[VisitRow]:
    return sorted(rows, key=visit_sort_key)
