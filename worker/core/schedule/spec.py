"""A study's visit schedule as it declares it in ``rules/<study>/schedule.toml``.

The file says what day 0 is (the anchor), which visits are expected when (target and
window, in days or weeks), where each visit's date is recorded, when a visit is not expected
and why, and the IDs and words of the two schedule checks (visit outside its window, visit
missed). ``rules/nk_trial/schedule.toml`` is a worked example; the README documents the
keys. Loading checks every name against the mapping and the live project and lists every
problem found, each naming the file and the key.
"""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from worker.core.findings import Kind, Severity
from worker.core.logic import Expression, LogicSyntaxError, parse
from worker.core.mapping import MappingSpec
from worker.core.rules.declare import CALENDAR_DATE, CheckInfo
from worker.core.schema import ProjectSchema
from worker.core.values import validation_type
from worker.errors import MappingError

SCHEDULE_FILE = "schedule.toml"

# "7", 7, "7 days", "2 weeks", "1 week": a duration in whole days.
_DURATION = re.compile(r"^\s*(\d+)\s*(day|days|week|weeks)?\s*$")

# What a schedule check's message may say about a visit (``str.format`` names).
MESSAGE_FIELDS = frozenset(
    {"visit", "target_day", "start_day", "end_day", "sample_day", "days_closed", "reason"}
)

# The two checks a schedule drives, by the key that declares each under [checks].
OUT_OF_WINDOW, MISSED = "out_of_window", "missed"
CHECK_KEYS = (OUT_OF_WINDOW, MISSED)


@dataclass(frozen=True, slots=True)
class Anchor:
    """Day 0: the date field ``date`` of part ``part`` (the earliest or latest filled entry
    of a list part). ``arms``: the arms this anchor is for (None: every arm)."""

    part: str
    date: str
    pick: str  # "earliest" or "latest"
    arms: frozenset[int] | None


@dataclass(frozen=True, slots=True)
class ScheduledVisit:
    """One scheduled visit: where its date is recorded, its target day and its window."""

    name: str
    part: str
    event: str  # as the mapping names it (an event or a visit name)
    ordinal: int | None  # position in the part's event list; None for a one-event part
    date: str  # the field that dates the visit
    target: int  # days after day 0
    before: int  # the window opens this many days before the target
    after: int  # and closes this many days after it
    arms: frozenset[int] | None


@dataclass(frozen=True, slots=True)
class NotExpected:
    """A state that excuses a visit, with the reason the study shows ("not expected: ended").

    Declarative: an entry of ``part`` (any, for a list part) whose period - from the first
    filled of ``start`` to the first filled of ``end``, open-ended when blank or not given -
    overlaps the visit's window, and whose ``when`` logic (on the entry's own fields) is
    true. Or a Python ``@condition`` of the rules folder named by ``condition``.
    """

    reason: str
    part: str | None = None
    start: tuple[str, ...] = ()
    end: tuple[str, ...] = ()
    when: Expression | None = None
    condition: str | None = None


@dataclass(frozen=True, slots=True)
class ScheduleCheck:
    """A schedule check as the study declares it: its ID and words, and its grace period."""

    info: CheckInfo
    message: str  # a str.format template over MESSAGE_FIELDS
    grace_days: int = 0


@dataclass(frozen=True, slots=True)
class ScheduleSpec:
    anchors: tuple[Anchor, ...]
    visits: tuple[ScheduledVisit, ...]
    not_expected: tuple[NotExpected, ...]
    checks: Mapping[str, ScheduleCheck]  # by CHECK_KEYS
    # Data entry: DQ-REQUIRED waits this many days after the date that dates an event.
    required_grace_days: int
    event_dates: Mapping[str, str]  # event or visit name -> the date field dating it
    source: str  # the file, for messages

    @property
    def missed_grace_days(self) -> int:
        missed = self.checks.get(MISSED)
        return 0 if missed is None else missed.grace_days


def load_schedule(
    rules_dir: Path, schema: ProjectSchema, mapping: MappingSpec
) -> tuple[ScheduleSpec | None, list[str]]:
    """The folder's declared schedule (None without ``schedule.toml``) and its problems."""
    path = Path(rules_dir) / SCHEDULE_FILE
    if not path.is_file():
        return None, []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"rules file {path} is not valid TOML: {exc}") from None
    reader = _Reader(path.name, schema, mapping)
    spec = reader.read(data)
    return spec, reader.problems


class _Reader:
    """Reads the TOML tables, collecting one problem line per mistake (never stopping)."""

    def __init__(self, source: str, schema: ProjectSchema, mapping: MappingSpec) -> None:
        self.source = source
        self.schema = schema
        self.mapping = mapping
        self.problems: list[str] = []

    def problem(self, where: str, what: str) -> None:
        self.problems.append(f"{self.source} {where}: {what}")

    def read(self, data: Mapping[str, Any]) -> ScheduleSpec:
        known = {"anchor", "visits", "visit", "not_expected", "checks", "data_entry"}
        for key in data:
            if key not in known:
                self.problem(key, f"unknown key (expected one of {', '.join(sorted(known))})")
        anchors = self._anchors(data.get("anchor"))
        defaults = self._table(data.get("visits", {}), "[visits]")
        visits = tuple(
            v
            for i, raw in enumerate(self._list(data.get("visit"), "[[visit]]"), start=1)
            if (v := self._visit(raw, defaults, f"[[visit]] #{i}")) is not None
        )
        if not visits:
            self.problem("[[visit]]", "declare at least one visit")
        names = [v.name for v in visits]
        for name in {n for n in names if names.count(n) > 1}:
            self.problem("[[visit]]", f"visit '{name}' is declared twice")
        excuses = tuple(
            e
            for i, raw in enumerate(
                self._list(data.get("not_expected", []), "[[not_expected]]"), start=1
            )
            if (e := self._not_expected(raw, f"[[not_expected]] #{i}")) is not None
        )
        checks = self._checks(self._table(data.get("checks", {}), "[checks]"))
        entry = self._table(data.get("data_entry", {}), "[data_entry]")
        self._only(entry, "[data_entry]", {"grace_days", "event_dates"})
        required_grace = self._days(entry.get("grace_days", 0), "[data_entry] grace_days")
        event_dates = self._event_dates(
            self._table(entry.get("event_dates", {}), "[data_entry.event_dates]")
        )
        for v in visits:
            event_dates.setdefault(v.event, v.date)
        return ScheduleSpec(
            anchors=anchors,
            visits=visits,
            not_expected=excuses,
            checks=checks,
            required_grace_days=required_grace,
            event_dates=event_dates,
            source=self.source,
        )

    # --- shapes ---------------------------------------------------------------------------

    def _table(self, raw: Any, where: str) -> dict[str, Any]:
        if isinstance(raw, dict):
            return raw
        self.problem(where, "must be a table")
        return {}

    def _list(self, raw: Any, where: str) -> list[dict[str, Any]]:
        if raw is None:
            return []
        if isinstance(raw, dict):
            return [raw]
        if isinstance(raw, list) and all(isinstance(x, dict) for x in raw):
            return raw
        self.problem(where, "must be a table or an array of tables")
        return []

    def _only(self, table: Mapping[str, Any], where: str, allowed: set[str]) -> None:
        for key in table:
            if key not in allowed:
                self.problem(where, f"unknown key '{key}' (allowed: {', '.join(sorted(allowed))})")

    def _text(self, table: Mapping[str, Any], key: str, where: str) -> str | None:
        value = table.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
        self.problem(where, f"'{key}' must be a non-empty text")
        return None

    def _days(self, raw: Any, where: str) -> int:
        """A duration: a whole number of days, or a text such as "7 days" or "4 weeks"."""
        if isinstance(raw, bool):
            found = None
        elif isinstance(raw, int):
            if raw >= 0:
                return raw
            found = None
        else:
            found = _DURATION.match(raw) if isinstance(raw, str) else None
        if found is None:
            self.problem(where, f'{raw!r} is not a duration (e.g. 7, "7 days", "4 weeks")')
            return 0
        n = int(found.group(1))
        return n * 7 if (found.group(2) or "").startswith("week") else n

    def _arms(self, raw: Any, where: str) -> frozenset[int] | None:
        if raw is None:
            return None
        arms = set(self.schema.arms)
        if not isinstance(raw, list) or not all(isinstance(a, int) for a in raw) or not raw:
            self.problem(where, "'arms' must be a list of arm numbers, e.g. [1, 2]")
            return None
        for a in raw:
            if a not in arms:
                self.problem(where, f"arm {a} is not an arm of the project")
        return frozenset(raw)

    def _fields(self, raw: Any, where: str) -> tuple[str, ...]:
        if raw is None:
            return ()
        names = [raw] if isinstance(raw, str) else raw
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            self.problem(where, "must be a field name or a list of field names")
            return ()
        return tuple(names)

    # --- names ----------------------------------------------------------------------------

    def _part(self, name: Any, where: str) -> str | None:
        if not isinstance(name, str) or name not in self.mapping.parts:
            self.problem(where, f"part {name!r} is not a part of the mapping")
            return None
        return name

    def _date_field(self, part: str | None, name: Any, where: str) -> None:
        """``name`` must be a date field (``date_ymd``) of one of the part's forms."""
        field = self.schema.fields.get(name) if isinstance(name, str) else None
        if field is None:
            self.problem(where, f"field {name!r} is not in the project")
            return
        if validation_type(field) is not date:
            self.problem(where, f"field '{name}' is not a date field (date_ymd)")
        if part is not None and field.form not in self.mapping.parts[part].forms:
            self.problem(where, f"field '{name}' is not on a form of part '{part}'")

    # --- tables ---------------------------------------------------------------------------

    def _anchors(self, raw: Any) -> tuple[Anchor, ...]:
        found: list[Anchor] = []
        tables = self._list(raw, "[anchor]")
        if not tables:
            self.problem("[anchor]", "say what day 0 is: a part and its date field")
        for i, table in enumerate(tables, start=1):
            where = "[anchor]" if len(tables) == 1 else f"[[anchor]] #{i}"
            self._only(table, where, {"part", "date", "pick", "arms"})
            part = self._part(table.get("part"), where)
            self._date_field(part, table.get("date"), where)
            pick = table.get("pick", "earliest")
            if pick not in ("earliest", "latest"):
                self.problem(where, '\'pick\' must be "earliest" or "latest"')
            arms = self._arms(table.get("arms"), where)
            if part is not None:
                found.append(Anchor(part, str(table.get("date")), str(pick), arms))
        return tuple(found)

    def _visit(
        self, table: Mapping[str, Any], defaults: Mapping[str, Any], where: str
    ) -> ScheduledVisit | None:
        allowed = {"name", "part", "event", "date", "target", "window", "before", "after", "arms"}
        self._only(defaults, "[visits]", allowed - {"name", "event", "target"})
        self._only(table, where, allowed)
        merged = {**defaults, **table}
        name = self._text(merged, "name", where)
        where = f"visit '{name}'" if name else where
        event = self._text(merged, "event", where)
        part = self._part(merged.get("part"), where) if "part" in merged else None
        if part is None and event is not None and "part" not in merged:
            holders = [p for p, spec in self.mapping.parts.items() if event in spec.event_names]
            if len(holders) != 1:
                self.problem(where, f"name its 'part': the mapping has {len(holders)} parts with "
                             f"event '{event}'")  # fmt: skip
            else:
                part = holders[0]
        self._date_field(part, merged.get("date"), where)
        target = self._days(merged.get("target"), f"{where} target")
        if "window" in merged:
            before = after = self._days(merged["window"], f"{where} window")
        else:
            before = self._days(merged.get("before"), f"{where} before")
            after = self._days(merged.get("after"), f"{where} after")
        arms = self._arms(merged.get("arms"), where)
        if name is None or event is None or part is None:
            return None
        events = self.mapping.parts[part].event_names
        if event not in events:
            self.problem(where, f"event '{event}' is not an event of part '{part}'")
            return None
        for arm in sorted(arms or ()):
            if self.schema.is_visit(event) and self.schema.event_in_arm(event, arm) is None:
                self.problem(where, f"arm {arm} has no event for visit '{event}'")
        ordinal = events.index(event) + 1 if self.mapping.parts[part].events is not None else None
        return ScheduledVisit(
            name, part, event, ordinal, str(merged["date"]), target, before, after, arms
        )

    def _not_expected(self, table: Mapping[str, Any], where: str) -> NotExpected | None:
        self._only(table, where, {"reason", "part", "from", "until", "when", "condition"})
        reason = self._text(table, "reason", where)
        if "condition" in table:
            if any(k in table for k in ("part", "from", "until", "when")):
                self.problem(where, "give either 'condition' (Python) or part/from/until/when")
            name = self._text(table, "condition", where)
            if reason is None or name is None:
                return None
            return NotExpected(reason=reason, condition=name)
        part = self._part(table.get("part"), where)
        start = self._fields(table.get("from"), f"{where} from")
        end = self._fields(table.get("until"), f"{where} until")
        if not start:
            self.problem(where, "'from' names the date field(s) the state starts on")
        for name in (*start, *end):
            self._date_field(part, name, where)
        when = self._when(part, table.get("when"), where)
        if reason is None or part is None or not start:
            return None
        return NotExpected(reason=reason, part=part, start=start, end=end, when=when)

    def _when(self, part: str | None, raw: Any, where: str) -> Expression | None:
        if raw is None:
            return None
        if not isinstance(raw, str) or not raw.strip():
            self.problem(where, "'when' must be REDCap logic, e.g. \"[status] = '1'\"")
            return None
        try:
            expr = parse(raw, source=f"{self.source} {where} when")
        except LogicSyntaxError as exc:
            self.problem(where, str(exc))
            return None
        forms = set(self.mapping.parts[part].forms) if part is not None else set()
        for ref in expr.field_refs:
            field = self.schema.fields.get(ref.field)
            if ref.event is not None or ref.instance is not None:
                self.problem(where, f"'when' reads the entry's own fields only: [{ref.field}]")
            elif field is None:
                self.problem(where, f"'when' names field '{ref.field}', not in the project")
            elif field.form not in forms:
                self.problem(where, f"'when' names field '{ref.field}', not on part '{part}'")
        return expr

    def _checks(self, table: Mapping[str, Any]) -> dict[str, ScheduleCheck]:
        self._only(table, "[checks]", set(CHECK_KEYS))
        found: dict[str, ScheduleCheck] = {}
        for key in CHECK_KEYS:
            if key not in table:
                continue
            where = f"[checks.{key}]"
            spec = self._table(table[key], where)
            self._only(spec, where, {"id", "kind", "severity", "title", "message", "grace_days"})
            texts = {k: self._text(spec, k, where) for k in ("id", "title", "message")}
            try:
                kind, severity = Kind(str(spec.get("kind"))), Severity(str(spec.get("severity")))
            except ValueError:
                self.problem(where, "'kind' must be query or deviation, 'severity' critical, "
                             "major or minor")  # fmt: skip
                continue
            grace = self._days(spec.get("grace_days", 0), f"{where} grace_days")
            if key == OUT_OF_WINDOW and "grace_days" in spec:
                self.problem(where, "grace_days applies to the missed check only (a dated "
                             "visit is not data waiting to be entered)")  # fmt: skip
            message = texts["message"]
            if message is not None:
                self._message(message, where)
            if texts["id"] is None or texts["title"] is None or message is None:
                continue
            info = CheckInfo(
                id=texts["id"], kind=kind, severity=severity, title=texts["title"],
                source="schedule",
            )  # fmt: skip
            found[key] = ScheduleCheck(info=info, message=message, grace_days=grace)
        return found

    def _message(self, message: str, where: str) -> None:
        if CALENDAR_DATE.search(message):
            self.problem(where, "a message carries day counts, never a calendar date")
        try:
            names = {f for _, f, _, _ in string.Formatter().parse(message) if f is not None}
        except ValueError as exc:
            self.problem(where, f"message: {exc}")
            return
        for name in sorted(names - MESSAGE_FIELDS):
            self.problem(
                where,
                f"message names {{{name}}}; it may use {', '.join(sorted(MESSAGE_FIELDS))}",
            )

    def _event_dates(self, table: Mapping[str, Any]) -> dict[str, str]:
        found: dict[str, str] = {}
        for event, name in table.items():
            where = f"[data_entry.event_dates] {event}"
            events = self.schema.events_of_visit(event)
            if not events:
                self.problem(where, f"'{event}' is not an event or visit of the project")
                continue
            field = self.schema.fields.get(name) if isinstance(name, str) else None
            if field is None:
                self.problem(where, f"field {name!r} is not in the project")
                continue
            if validation_type(field) is not date:
                self.problem(where, f"field '{name}' is not a date field (date_ymd)")
                continue
            for e in events:
                if field.form not in self.schema.forms_of_event(e):
                    self.problem(where, f"field '{name}' is not on a form of event '{e}'")
            found[event] = name
        return found
