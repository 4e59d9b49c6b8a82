"""Checks declared as REDCap logic (``logic_rules.toml``), as in REDCap's Data Quality module.

Each rule names a field and a logic that is *true where there is a problem*; it is evaluated
in every event where the field's form is designated (or only in the rule's ``events``), on
each instance of that form, and a true result is a finding attached to that event, instance
and field. The study checks read valid values only, so the logic sees a value that fails its
field's validation or choices as blank (the generic checks report it).

File shape::

    [[rule]]
    id = "XX-07"
    kind = "query"             # or "deviation"
    severity = "minor"         # critical, major, minor
    title = "One line for reports"
    field = "end_date"         # where the finding is attached
    logic = "[end_date] < [start_date]"
    message = "What the site is told (no record values: the message is fixed text)."
    events = ["visit_arm_1"]   # optional: limit to these events
    protocol = "Section 7.2"   # optional: where the rule comes from
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from worker.core.findings import Kind, Severity
from worker.core.logic import LogicSyntaxError, parse, reference_problems
from worker.core.records import RecordData, RowKey
from worker.core.rules.declare import CALENDAR_DATE, CheckInfo
from worker.core.schema import ProjectSchema
from worker.core.values import Parser, is_judged, value_parser
from worker.errors import MappingError
from worker.tomlfile import read_toml


class LogicRuleSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    kind: Kind
    severity: Severity
    title: str = Field(min_length=1)
    field: str
    logic: str = Field(min_length=1)
    message: str = Field(min_length=1)
    events: list[str] | None = None
    protocol: str = ""


class _LogicFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule: list[LogicRuleSpec] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Place:
    """Where a rule is evaluated: an event, and how the field's form repeats there."""

    event: str | None
    repeat_instrument: str  # the form, when it is a repeating instrument there; else ""
    repeats: bool  # the whole event repeats, or the instrument does


@dataclass(frozen=True, slots=True)
class LogicRule:
    info: CheckInfo
    field: str
    form: str
    message: str
    expression: Any  # worker.core.logic Expression
    places: tuple[Place, ...]
    reads: tuple[str, ...]  # fields the logic names, for the evidence


def load_logic_rules(path: Path, schema: ProjectSchema) -> tuple[list[LogicRule], list[str]]:
    """Read ``logic_rules.toml`` and compile its rules against the project.

    A file that is not valid TOML or not shaped as documented raises MappingError; names the
    project lacks and unreadable logic are returned as problems (the caller lists them all).
    """
    data = read_toml(path, "rules file", MappingError)
    try:
        specs = _LogicFile.model_validate(data).rule
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise MappingError(f"rules file {path}: {where}: {first['msg']}") from None
    rules: list[LogicRule] = []
    problems: list[str] = []
    for spec in specs:
        rule = _compile(spec, schema, problems)
        if rule is not None:
            rules.append(rule)
    return rules, [f"{path.name}: {p}" for p in problems]


def _compile(spec: LogicRuleSpec, schema: ProjectSchema, problems: list[str]) -> LogicRule | None:
    where = f"rule {spec.id}"
    before = len(problems)
    field = schema.fields.get(spec.field)
    if field is None:
        problems.append(f"{where}: field '{spec.field}' is not in the project")
    reads: tuple[str, ...] = ()
    try:
        expression = parse(spec.logic, source=f"logic of rule {spec.id}")
    except LogicSyntaxError as exc:
        problems.append(f"{where}: the logic cannot be read: {exc}")
        expression = None
    else:
        problems.extend(f"{where}: {p}" for p in reference_problems(expression, schema))
        # The evidence: the values the logic reads in the row it is evaluated on.
        reads = tuple(sorted({name for event, name in expression.references if event is None}))
    if CALENDAR_DATE.search(spec.message):
        problems.append(f"{where}: the message holds a calendar date; messages use day counts")
    places: list[Place] = []
    if field is not None:
        designated = [e for e in schema.event_names if field.form in schema.forms_of_event(e)]
        for event in spec.events if spec.events is not None else designated:
            if event not in schema.form_events:
                problems.append(f"{where}: event '{event}' is not in the project")
            elif event not in designated:
                problems.append(
                    f"{where}: form '{field.form}' of field '{spec.field}' is not designated "
                    f"for event '{event}'"
                )
            else:
                places.append(_place(schema, event, field.form))
    if len(problems) > before or field is None:
        return None
    info = CheckInfo(
        id=spec.id, kind=spec.kind, severity=spec.severity, title=spec.title, source="logic"
    )
    return LogicRule(
        info=info,
        field=spec.field,
        form=field.form,
        message=spec.message,
        expression=expression,
        places=tuple(places),
        reads=reads,
    )


def _place(schema: ProjectSchema, event: str | None, form: str) -> Place:
    if schema.is_repeating_event(event):
        return Place(event, "", True)
    if schema.is_repeating_form(event, form):
        return Place(event, form, True)
    return Place(event, "", False)


def rows_of(place: Place, record: RecordData) -> Iterator[tuple[int | None, Mapping[str, str]]]:
    """The record's stored rows at a place: (instance, values)."""
    if place.repeats:
        for instance in record.instances(place.event, place.repeat_instrument):
            row = record.row(place.event, instance, place.repeat_instrument)
            if row is not None:
                yield instance, row
    else:
        row = record.row(place.event)
        if row is not None:
            yield None, row


class ValidOnly:
    """Copies of records in which every invalid value is blank: what the study checks read."""

    @classmethod
    def for_rules(cls, schema: ProjectSchema, rules: Iterable[LogicRule]) -> ValidOnly:
        """Copying only the events the rules are evaluated in or name; all events when a
        rule names one relatively (``[previous-event-name][x]``)."""
        events: set[str | None] = set()
        for rule in rules:
            events.update(place.event for place in rule.places)
            for event, _ in rule.expression.references:
                if event is not None and event not in schema.form_events:
                    return cls(schema)
                events.add(event)
        return cls(schema, frozenset(events))

    def __init__(self, schema: ProjectSchema, events: frozenset[str | None] | None = None) -> None:
        self._events = events  # only rows of these events are copied (None: all)
        self._parsers: dict[str, Parser] = {}
        for column, name in schema.export_columns.items():
            field = schema.fields.get(name)
            if field is not None and column in field.export_names and is_judged(field):
                # A missing-data code is not invalid: it stays, for isblankormissingcode().
                self._parsers[column] = value_parser(field, schema.missing_codes)

    def __call__(self, record: RecordData) -> RecordData:
        rows: dict[RowKey, dict[str, str]] = {}
        for key, values in record.rows.items():
            if self._events is not None and key.event not in self._events:
                continue
            clean = dict(values)
            for column, raw in values.items():
                parser = self._parsers.get(column)
                if parser is not None and raw and parser(raw).is_invalid:
                    clean[column] = ""
            rows[key] = clean
        return RecordData(record.record_id, rows, record.data_access_group)
