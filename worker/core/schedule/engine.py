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

from worker.core.logic import MappingContext, RecordContext
from worker.core.logic.unparser import reference_text
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


@dataclass(frozen=True, slots=True)
class _VisitPlan:
    """A visit, its window as offsets from day 0."""

    visit: ScheduledVisit
    target: timedelta
    start: timedelta
    end: timedelta

    @classmethod
    def of(cls, visit: ScheduledVisit) -> _VisitPlan:
        target = timedelta(days=visit.target)
        return cls(
            visit=visit,
            target=target,
            start=target - timedelta(days=visit.before),
            end=target + timedelta(days=visit.after),
        )


@dataclass(frozen=True, slots=True)
class _ArmPlan:
    """What the rows of a participant in one arm read: her day 0 and her visits."""

    anchor: Anchor | None
    visits: tuple[_VisitPlan, ...]


@dataclass(frozen=True, slots=True)
class _StatePlan:
    """A ``[[not_expected]]`` state and what its ``when`` logic reads: the stored columns
    (by the key the logic context reads each under) and the fields it reads as numbers."""

    excuse: NotExpected
    columns: Mapping[str, str]  # column -> "[f]" or "[f(code)]"
    numeric: frozenset[str]


@dataclass(frozen=True)
class Schedule:
    """A declared schedule, bound to the project and the rules folder's conditions.

    What does not depend on the participant (each arm's anchor and visits, the windows as
    offsets from day 0, which fields each ``when`` reads as numbers) is worked out once,
    when the schedule is bound; :meth:`rows` then reads each participant's data once.
    """

    spec: ScheduleSpec
    schema: ProjectSchema
    conditions: Mapping[str, ConditionFn] = field(default_factory=dict)
    # ``check --ignore-grace``: judge as if every grace period were 0 days.
    ignore_grace: bool = False
    _several_arms: bool = field(init=False, compare=False, repr=False)
    _arm_plans: Mapping[int | None, _ArmPlan] = field(init=False, compare=False, repr=False)
    _states: tuple[_StatePlan, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        arms = self.schema.arms
        plans = {arm: self._arm_plan(arm, len(arms) > 1) for arm in (None, *arms)}
        states = tuple(self._state_plan(e) for e in self.spec.not_expected)
        # A frozen dataclass sets what it derives at construction through object.__setattr__.
        object.__setattr__(self, "_several_arms", len(arms) > 1)
        object.__setattr__(self, "_arm_plans", plans)
        object.__setattr__(self, "_states", states)

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
        if self._several_arms and arm is None:
            return []
        plan = self._arm_plans.get(arm) or self._arm_plan(arm, self._several_arms)
        anchor = plan.anchor
        found = None if anchor is None else _anchor_entry(participant, anchor)
        if found is None:
            return []
        day0, anchor_entry = found
        anchor_evidence = anchor_entry.evidence(anchor.date)  # type: ignore[union-attr]
        states = _States(self, participant)
        missed_grace_days = self.missed_grace_days
        entries = _visit_entries(participant, plan.visits)
        rows: list[VisitRow] = []
        for planned, entry in zip(plan.visits, entries, strict=True):
            visit = planned.visit
            event = None if event_of is None else event_of(visit.part, visit.ordinal)
            target = day0 + planned.target
            start = day0 + planned.start
            end = day0 + planned.end
            dated = None if entry is None else getattr(entry, visit.date)
            reason = None
            if dated is not None:
                inside = start <= dated <= end
                status = VisitStatus.IN_WINDOW if inside else VisitStatus.OUT_OF_WINDOW
            elif (reason := states.excuse(start, end)) is not None:
                status = VisitStatus.NOT_EXPECTED
            elif (as_of - end).days > missed_grace_days:
                status = VisitStatus.MISSED
            elif start <= as_of:
                status = VisitStatus.DUE  # open, or closed and still within the grace period
            else:
                status = VisitStatus.UPCOMING
            evidence = (
                dict(anchor_evidence)
                if entry is None
                else {**anchor_evidence, **entry.evidence(visit.date)}
            )
            rows.append(
                VisitRow(
                    record=participant.record_id,
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
            )
        return rows

    def _arm_plan(self, arm: int | None, several_arms: bool) -> _ArmPlan:
        """The anchor and visits of a participant in ``arm``, in declared order."""
        visits = tuple(
            _VisitPlan.of(visit)
            for visit in self.spec.visits
            if (visit.arms is None or arm in visit.arms)
            and (not several_arms or self._in_arm(visit, arm))
        )
        return _ArmPlan(anchor=_anchor_for(self.spec.anchors, arm), visits=visits)

    def _in_arm(self, visit: ScheduledVisit, arm: int | None) -> bool:
        if not self.schema.is_visit(visit.event):
            return self.schema.arm_of(visit.event) == arm
        return self.schema.event_in_arm(visit.event, arm) is not None

    def _state_plan(self, excuse: NotExpected) -> _StatePlan:
        if excuse.when is None:
            return _StatePlan(excuse, columns={}, numeric=frozenset())
        refs = excuse.when.field_refs
        read = {reference_text(r) for r in refs}
        columns = {
            column: key
            for definition in self.schema.fields.values()
            for column in definition.export_names
            if (key := _logic_key(self.schema, column)) in read
        }
        probe = RecordContext(schema=self.schema, record=RecordData(record_id=""))
        numeric = frozenset(r.field for r in refs if probe.is_numeric(r.field))
        return _StatePlan(excuse, columns=columns, numeric=numeric)


class _States:
    """One participant's ``[[not_expected]]`` states, read from her data at most once: each
    declared state's periods, and whether an entry's ``when`` holds (evaluated at most once
    per entry, and only for a period that overlaps a window it is asked about)."""

    def __init__(self, schedule: Schedule, participant: Participant) -> None:
        self._schedule = schedule
        self._participant = participant
        self._periods: list[list[_Period]] | None = None  # per declared state, when read

    def excuse(self, start: date, end: date) -> str | None:
        """The reason of the first declared state that excuses a visit in ``start..end``."""
        schedule = self._schedule
        for state, periods in zip(schedule._states, self._read(), strict=True):
            excuse = state.excuse
            if excuse.condition is not None:
                if schedule.conditions[excuse.condition](self._participant, start, end):
                    return excuse.reason
                continue
            for period in periods:
                if period.overlaps(start, end) and period.when_holds(state, schedule.schema):
                    return excuse.reason
        return None

    def _read(self) -> list[list[_Period]]:
        if self._periods is None:
            self._periods = [_periods(self._participant, s.excuse) for s in self._schedule._states]
        return self._periods


class _Period:
    """An entry's period in a state: from ``began`` to ``ended`` (open-ended when None)."""

    __slots__ = ("_when", "began", "ended", "entry")

    def __init__(self, began: date, ended: date | None, entry: Any) -> None:
        self.began = began
        self.ended = ended
        self.entry = entry
        self._when: bool | None = None

    def overlaps(self, start: date, end: date) -> bool:
        return self.began <= end and (self.ended is None or self.ended >= start)

    def when_holds(self, state: _StatePlan, schema: ProjectSchema) -> bool:
        """Whether the state's ``when`` logic holds on the entry's own fields (none: true)."""
        when = state.excuse.when
        if when is None:
            return True
        if self._when is None:
            raw = self.entry.raw
            context = MappingContext(
                {key: raw[column] for column, key in state.columns.items() if column in raw},
                numeric=state.numeric,
                missing_codes=schema.missing_codes,
            )
            # References were checked at load; an error here is a run error of the schedule
            # checks for this participant (never a silent "expected").
            self._when = when.is_true(context)
        return self._when


def _periods(p: Participant, excuse: NotExpected) -> list[_Period]:
    """The periods of a declarative state in the participant's entries (none for a
    ``@condition``): each entry with a start date, in order."""
    if excuse.condition is not None:
        return []
    return [
        _Period(began, _first_filled(entry, excuse.end), entry)
        for entry in _entries(p, excuse.part)
        if (began := _first_filled(entry, excuse.start)) is not None
    ]


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
    dated = [(d, e) for e in _entries(p, anchor.part) if (d := getattr(e, anchor.date)) is not None]
    if not dated:
        return None
    if anchor.pick == "latest":
        return max(dated, key=lambda x: (x[0], -(x[1].instance or 0)))
    return min(dated, key=lambda x: (x[0], x[1].instance or 0))


def _visit_entries(p: Participant, visits: Iterable[_VisitPlan]) -> list[Any]:
    """The entry that dates each visit: of a list part, its first entry of the visit's
    ordinal; of a one-entry part, the entry."""
    by_part: dict[str, Any] = {}
    found = []
    for planned in visits:
        part, ordinal = planned.visit.part, planned.visit.ordinal
        if part not in by_part:
            value = getattr(p, part, None)
            by_part[part] = _first_by_ordinal(value) if isinstance(value, list) else value
        entries = by_part[part]
        found.append(entries.get(ordinal) if isinstance(entries, dict) else entries)
    return found


def _first_by_ordinal(entries: list[Any]) -> dict[int | None, Any]:
    first: dict[int | None, Any] = {}
    for entry in entries:
        first.setdefault(entry.ordinal, entry)
    return first


def _first_filled(entry: Any, fields: Iterable[str]) -> date | None:
    return next((d for name in fields if (d := getattr(entry, name)) is not None), None)


def _logic_key(schema: ProjectSchema, column: str) -> str:
    """The key ``MappingContext`` reads a stored column under (``[f]``, ``[f(c)]``)."""
    name, _, code = column.partition("___")
    definition = schema.fields.get(name)
    if code and definition is not None and definition.is_checkbox:
        return f"[{name}({code})]"
    return f"[{column}]"
