"""A participant's visits from the declared schedule: target, window, date and status.

Computed once per participant per run (the run hands the rows to the schedule checks and to
whoever tallies visits), from the participant's typed model. Status, in this order: a dated
visit is in or out of its window; else the first ``[[not_expected]]`` state that overlaps
the window excuses it, with its reason; else it is missed (the window's last day is more
than the missed check's grace days past), due now (open, or closed within the grace) or
upcoming.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from worker.core.logic import Expression, MappingContext, RecordContext
from worker.core.records import RecordData
from worker.core.rules.declare import Hit
from worker.core.schedule.checks import schedule_hits
from worker.core.schedule.spec import (
    Anchor,
    NotExpected,
    ScheduleCheck,
    ScheduledVisit,
    ScheduleSpec,
)
from worker.core.schema import ProjectSchema
from worker.core.visits import VisitRow, VisitStatus

Participant = Any  # the study's generated model (worker/core/mapping.py)
# A Python condition of the rules folder: is the visit whose window is start..end not
# expected of this participant? (For what the data cannot say in schedule.toml.)
ConditionFn = Callable[[Participant, date, date], bool]


@dataclass(frozen=True)
class Schedule:
    """A declared schedule, bound to the project and the rules folder's conditions."""

    spec: ScheduleSpec
    schema: ProjectSchema
    conditions: Mapping[str, ConditionFn] = field(default_factory=dict)
    # ``check --ignore-grace``: judge as if every grace period were 0 days.
    ignore_grace: bool = False
    _numeric_fields: dict[Expression, frozenset[str]] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    def without_grace(self) -> Schedule:
        return replace(self, ignore_grace=True)

    @property
    def missed_grace_days(self) -> int:
        return 0 if self.ignore_grace else self.spec.missed_grace_days

    @property
    def required_grace_days(self) -> int:
        return 0 if self.ignore_grace else self.spec.required_grace_days

    @property
    def checks(self) -> Mapping[str, ScheduleCheck]:
        """The schedule checks the study declares, by key (``out_of_window``, ``missed``)."""
        return self.spec.checks

    def hits(self, key: str, rows: Iterable[VisitRow], as_of: date) -> Iterator[Hit]:
        """The hits of the check ``key`` on one participant's rows."""
        return schedule_hits(key, self.spec.checks[key], rows, as_of)

    def rows(
        self,
        participant: Participant,
        as_of: date,
        arm: int | None,
        event_of: Callable[[str, int | None], str | None] | None = None,
    ) -> list[VisitRow]:
        """Each visit of the participant's arm; none without a day 0 (or, with several arms,
        without an arm). ``event`` is ``event_of(part, ordinal)``, from the caller, who knows
        the mapping's events (None without it)."""
        several_arms = len(self.schema.arms) > 1
        if several_arms and arm is None:
            return []
        anchor = _anchor_for(self.spec.anchors, arm)
        found = None if anchor is None else _anchor_entry(participant, anchor)
        if found is None:
            return []
        day0, anchor_entry = found
        anchor_evidence = anchor_entry.evidence(anchor.date)  # type: ignore[union-attr]
        rows: list[VisitRow] = []
        for visit in self.spec.visits:
            if visit.arms is not None and arm not in visit.arms:
                continue
            if several_arms and not self._in_arm(visit, arm):
                continue
            event = None if event_of is None else event_of(visit.part, visit.ordinal)
            rows.append(self._row(participant, visit, day0, anchor_evidence, as_of, event))
        return rows

    def _in_arm(self, visit: ScheduledVisit, arm: int | None) -> bool:
        if not self.schema.is_visit(visit.event):
            return self.schema.arm_of(visit.event) == arm
        return self.schema.event_in_arm(visit.event, arm) is not None

    def _row(
        self,
        p: Participant,
        visit: ScheduledVisit,
        day0: date,
        anchor_evidence: dict[str, str],
        as_of: date,
        event: str | None,
    ) -> VisitRow:
        target = day0 + timedelta(days=visit.target)
        start = target - timedelta(days=visit.before)
        end = target + timedelta(days=visit.after)
        entry = _visit_entry(p, visit)
        dated = None if entry is None else getattr(entry, visit.date)
        reason = None
        if dated is not None:
            inside = start <= dated <= end
            status = VisitStatus.IN_WINDOW if inside else VisitStatus.OUT_OF_WINDOW
        elif (reason := self._excuse(p, start, end)) is not None:
            status = VisitStatus.NOT_EXPECTED
        elif (as_of - end).days > self.missed_grace_days:
            status = VisitStatus.MISSED
        elif start <= as_of:
            status = VisitStatus.DUE  # open, or closed and still within the grace period
        else:
            status = VisitStatus.UPCOMING
        evidence = dict(anchor_evidence)
        if entry is not None:
            evidence |= entry.evidence(visit.date)
        return VisitRow(
            record=p.record_id,
            visit=visit.name,
            part=visit.part,
            ordinal=visit.ordinal,
            field=visit.date,
            anchor=day0,
            target=target,
            window_start=start,
            window_end=end,
            sample_date=dated,
            status=status,
            event=event,
            reason=reason,
            evidence=evidence,
        )

    def _excuse(self, p: Participant, start: date, end: date) -> str | None:
        """The reason of the first declared state that excuses a visit in ``start..end``."""
        for excuse in self.spec.not_expected:
            if excuse.condition is not None:
                if self.conditions[excuse.condition](p, start, end):
                    return excuse.reason
            elif any(self._holds(excuse, e, start, end) for e in _entries(p, excuse.part)):
                return excuse.reason
        return None

    def _holds(self, excuse: NotExpected, entry: Any, start: date, end: date) -> bool:
        began = _first_filled(entry, excuse.start)
        if began is None or began > end:
            return False
        ended = _first_filled(entry, excuse.end)
        if ended is not None and ended < start:
            return False
        return excuse.when is None or self._when(excuse, entry)

    def _when(self, excuse: NotExpected, entry: Any) -> bool:
        assert excuse.when is not None
        context = MappingContext(
            _logic_values(self.schema, entry.raw),
            numeric=self._numeric(excuse.when),
            missing_codes=self.schema.missing_codes,
        )
        # References were checked at load; an error here is a run error of the schedule
        # checks for this participant (never a silent "expected").
        return excuse.when.is_true(context)

    def _numeric(self, when: Expression) -> frozenset[str]:
        """The fields a condition reads that REDCap reads as numbers (once per condition)."""
        found = self._numeric_fields.get(when)
        if found is None:
            probe = RecordContext(schema=self.schema, record=RecordData(record_id=""))
            found = frozenset(r.field for r in when.field_refs if probe.is_numeric(r.field))
            self._numeric_fields[when] = found
        return found


def _anchor_for(anchors: Iterable[Anchor], arm: int | None) -> Anchor | None:
    return next((a for a in anchors if a.arms is None or arm in a.arms), None)


def _entries(p: Participant, part: str | None) -> list[Any]:
    value = getattr(p, part or "", None)
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _anchor_entry(p: Participant, anchor: Anchor) -> tuple[date, Any] | None:
    """Day 0 and the entry it comes from; of a list part, the earliest (or latest) filled
    date, ties going to the lower instance."""
    dated = [(e, getattr(e, anchor.date)) for e in _entries(p, anchor.part)]
    dated = [(e, d) for e, d in dated if d is not None]
    if not dated:
        return None
    if anchor.pick == "latest":
        entry, day0 = max(dated, key=lambda x: (x[1], -(x[0].instance or 0)))
    else:
        entry, day0 = min(dated, key=lambda x: (x[1], x[0].instance or 0))
    return day0, entry


def _visit_entry(p: Participant, visit: ScheduledVisit) -> Any:
    value = getattr(p, visit.part, None)
    if isinstance(value, list):
        return next((e for e in value if e.ordinal == visit.ordinal), None)
    return value


def _first_filled(entry: Any, fields: Iterable[str]) -> date | None:
    return next((d for name in fields if (d := getattr(entry, name)) is not None), None)


def _logic_values(schema: ProjectSchema, raw: Mapping[str, str]) -> dict[str, str]:
    """An entry's stored values keyed as ``MappingContext`` reads them (``[f]``, ``[f(c)]``)."""
    values: dict[str, str] = {}
    for column, value in raw.items():
        name, _, code = column.partition("___")
        definition = schema.fields.get(name)
        if code and definition is not None and definition.is_checkbox:
            values[f"[{name}({code})]"] = value
        else:
            values[f"[{column}]"] = value
    return values
