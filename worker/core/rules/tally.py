"""Study progress and visit schedules, gathered while a run checks its participants.

A :class:`StudyTally` is a ruleset observer (``ruleset.observed_by(tally.observe)``): it
sees each participant once, as the checks see it, so nothing is built or downloaded twice.
It keeps only counters (per data access group) and the visit rows asked for, so memory is
bounded by the counters' labels and those rows, not by the records streamed through.
What the counters mean, and what the schedule is, comes from the study's rules folder.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date

import structlog

from worker.core.rules.declare import Participant
from worker.core.rules.ruleset import Ruleset, ScheduledVisits, failure, missing_name, where_raised
from worker.core.visits import VisitRow

log = structlog.get_logger(__name__)

VisitFilter = Callable[[VisitRow], bool]


def keep_every_visit(row: VisitRow) -> bool:
    return True


class StudyTally:
    def __init__(self, ruleset: Ruleset, *, keep_visit: VisitFilter = keep_every_visit) -> None:
        self.ruleset = ruleset
        self.keep_visit = keep_visit
        self.participants = 0
        self.scheduled = 0  # participants with a visit schedule (the rules decide who has one)
        self.visits: list[VisitRow] = []
        self.groups: dict[str, str] = {}  # record -> data access group, for visit rows kept
        self.errors: list[str] = []  # records whose progress or schedule failed
        self.schedule_errors: list[str] = []  # records whose schedule failed
        # (progress or schedule, what went wrong where: see ruleset.failure()) -> records
        self.failures: dict[tuple[str, str], list[str]] = {}
        self._counts: dict[str, Counter[str]] = {}  # data access group ("" = none) -> counters
        self._labels: dict[str, None] = {}  # every label, in first-seen order

    def observe(
        self, participant: Participant, as_of: date, visits: ScheduledVisits | None = None
    ) -> None:
        """Count the participant; keep the visit rows asked for. ``visits`` are the rows a
        run already computed for its checks (computed here when not given)."""
        record = participant.record_id
        group = getattr(participant, "data_access_group", "") or ""
        self.participants += 1
        if self.ruleset.has_progress:
            try:
                counters = self.ruleset.progress(participant, as_of)
            except Exception as exc:  # one participant's bad data must not hide the others
                self._failed(record, "progress", exc)
            else:
                self._labels.update(dict.fromkeys(counters))
                self._counts.setdefault(group, Counter()).update(counters)
        if self.ruleset.has_schedule:
            if visits is None:
                try:
                    visits = ScheduledVisits(rows=tuple(self.ruleset.schedule(participant, as_of)))
                except Exception as exc:
                    visits = ScheduledVisits(error=exc)
            if visits.error is not None:
                self._failed(record, "schedule", visits.error)
                return
            rows = list(visits.rows)
            if rows:
                self.scheduled += 1
            kept = [row for row in rows if self.keep_visit(row)]
            if kept and group:
                self.groups[record] = group
            self.visits.extend(kept)

    def progress(self, group: str | None = None) -> list[tuple[str, int]]:
        """Each label with its count, in the rules folder's order; for one data access
        group, or for the whole study (``None``)."""
        if group is None:
            total: Counter[str] = Counter()
            for counts in self._counts.values():
                total.update(counts)
        else:
            total = self._counts.get(group, Counter())
        return [(label, total[label]) for label in self._labels]

    def _failed(self, record: str, what: str, exc: Exception) -> None:
        if record not in self.errors:
            self.errors.append(record)
        if what == "schedule":
            self.schedule_errors.append(record)
        self.failures.setdefault((what, failure(exc, self.ruleset.path)), []).append(record)
        # Only the exception's type, the name it missed and where: its text may quote a value.
        log.error(
            "study tally failed",
            record=record,
            part=what,
            error=type(exc).__name__,
            missing=missing_name(exc),
            at=where_raised(exc, self.ruleset.path),
        )
