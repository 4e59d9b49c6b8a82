"""Checks declared as REDCap logic (``logic_rules.toml``), as in REDCap's Data Quality module.

Each rule names a field and a logic that is *true where there is a problem*; it is evaluated
in every event where the field's form is designated (or only in the rule's ``events``), on
each instance of that form, and a true result is a finding attached to that event, instance
and field. The study checks read valid values only, so the logic sees a value that fails its
field's validation or choices as blank (the generic checks report it).

In a project with several arms, ``events`` and ``[event][field]`` references may name a
visit (the unique event name without ``_arm_N``): in ``events`` it stands for the visit in
every arm; in a reference, for the visit in the arm of the row being checked. A reference
to one arm's event (``[baseline_arm_1][x]``) is read as written, as REDCap does, and
``doctor`` flags it: in another arm's rows it reads an event the participant has no data in.

File shape::

    [[rule]]
    id = "XX-07"
    kind = "query"             # or "deviation"
    severity = "minor"         # critical, major, minor
    title = "One line for reports"
    field = "end_date"         # where the finding is attached
    logic = "[end_date] < [start_date]"
    message = "What the site is told (no record values: the message is fixed text)."
    events = ["visit"]         # optional: limit to these events (or visits, see below)
    protocol = "Section 7.2"   # optional: where the rule comes from
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from worker.core.findings import Kind, Severity
from worker.core.logic import Expression, LogicSyntaxError, parse, reference_problems
from worker.core.records import RecordData, RowKey
from worker.core.rules.declare import CALENDAR_DATE, CheckInfo
from worker.core.rules.inputs import Quarantine
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
    expression: Expression
    places: tuple[Place, ...]
    reads: tuple[str, ...]  # fields the logic names, for the evidence


def load_logic_rules(path: Path, schema: ProjectSchema) -> tuple[list[LogicRule], list[str]]:
    """Read ``logic_rules.toml`` and compile its rules against the project.

    A file that is not valid TOML or not shaped as documented raises MappingError; names the
    project lacks and unreadable logic are returned as problems (the caller lists them all).
    """
    rules, quarantined, problems = compile_logic_rules(path, schema)
    drift = [f"{path.name}: {reason}" for q in quarantined for reason in q.reasons]
    return rules, [*drift, *problems]


def compile_logic_rules(
    path: Path, schema: ProjectSchema
) -> tuple[list[LogicRule], list[Quarantine], list[str]]:
    """As :func:`load_logic_rules`, but a rule naming a field, event or form the project
    lacks (or a field whose type no longer fits its logic) is quarantined, not a problem:
    the rules are right, the project drifted. Unreadable logic and dated messages remain
    problems (the rules file is wrong)."""
    rules: list[LogicRule] = []
    quarantined: list[Quarantine] = []
    problems: list[str] = []
    for spec in read_logic_specs(path):
        drift: list[str] = []
        rule = _compile(spec, schema, problems, drift)
        if drift:
            info = CheckInfo(
                id=spec.id,
                kind=spec.kind,
                severity=spec.severity,
                title=spec.title,
                source="logic",
            )
            quarantined.append(Quarantine(info, tuple(drift)))
        elif rule is not None:
            rules.append(rule)
    return rules, quarantined, [f"{path.name}: {p}" for p in problems]


def read_logic_specs(path: Path) -> list[LogicRuleSpec]:
    """The rules a ``logic_rules.toml`` declares; MappingError if it is not shaped as documented."""
    data = read_toml(path, "rules file", MappingError)
    try:
        return _LogicFile.model_validate(data).rule
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise MappingError(f"rules file {path}: {where}: {first['msg']}") from None


def one_arm_names(path: Path, schema: ProjectSchema) -> list[str]:
    """In a project with several arms, each rule naming one arm's event of a visit that other
    arms have too (``events = ["x_arm_1"]``, ``[x_arm_1][field]``): read as written, it
    judges the other arms' participants on an event they have no data in. One line each."""
    if len(schema.arms) < 2:
        return []
    found: list[str] = []
    for spec in read_logic_specs(path):
        named: dict[str, str] = {}
        for event in spec.events or ():
            named.setdefault(event, f"events = [..., '{event}']")
        expression: Expression | None
        try:
            expression = parse(spec.logic, source=f"logic of rule {spec.id}")
        except LogicSyntaxError:
            expression = None  # the rules check reports it
        for ref_event, name in sorted(expression.references if expression else (), key=str):
            if ref_event is not None:
                named.setdefault(ref_event, f"[{ref_event}][{name}]")
        for event, where in named.items():
            visit = schema.visit_of(event)
            if schema.event(event) is not None and len(schema.events_of_visit(visit)) > 1:
                found.append(
                    f"{path.name}: rule {spec.id} names arm {schema.arm_of(event)}'s event "
                    f"'{event}' ({where}) in a project with {len(schema.arms)} arms; use the "
                    f"visit name '{visit}' to mean each participant's own arm"
                )
    return found


def _compile(
    spec: LogicRuleSpec, schema: ProjectSchema, problems: list[str], drift: list[str]
) -> LogicRule | None:
    """The rule, or None: errors in the rule go to ``problems``, what the project lacks to
    ``drift``."""
    where = f"rule {spec.id}"
    before = len(problems) + len(drift)
    field = schema.fields.get(spec.field)
    if field is None:
        drift.append(f"{where}: field '{spec.field}' is not in the project")
    reads: tuple[str, ...] = ()
    expression: Expression | None
    try:
        expression = parse(spec.logic, source=f"logic of rule {spec.id}")
    except LogicSyntaxError as exc:
        problems.append(f"{where}: the logic cannot be read: {exc}")
        expression = None
    else:
        drift.extend(f"{where}: {p}" for p in reference_problems(expression.field_refs, schema))
        # The evidence: the values the logic reads in the row it is evaluated on.
        reads = tuple(sorted({name for event, name in expression.references if event is None}))
    if CALENDAR_DATE.search(spec.message):
        problems.append(f"{where}: the message holds a calendar date; messages use day counts")
    places: list[Place] = []
    if field is not None:
        designated = [e for e in schema.event_names if field.form in schema.forms_of_event(e)]
        for name in spec.events if spec.events is not None else designated:
            if name is None:
                places.append(_place(schema, name, field.form))
                continue
            # A visit name: its event in every arm that has it and holds the form.
            events = schema.events_of_visit(name) if schema.is_longitudinal else []
            held = [e for e in events if e in designated]
            if not events:
                drift.append(f"{where}: event '{name}' is not in the project")
            elif not held:
                drift.append(
                    f"{where}: form '{field.form}' of field '{spec.field}' is not designated "
                    f"for event '{name}'"
                )
            places.extend(_place(schema, event, field.form) for event in held)
    if len(problems) + len(drift) > before or field is None or expression is None:
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
    """Copies of records in which every invalid value the logic reads is blank: what the
    study checks read. Logic reads a value only through a reference, so only the fields
    the rules name are cleaned; a row with nothing to blank is shared, not copied."""

    @classmethod
    def for_rules(cls, schema: ProjectSchema, rules: Iterable[LogicRule]) -> ValidOnly:
        """Copying only the events the rules are evaluated in or name (all events when a
        rule names one relatively, ``[previous-event-name][x]``), cleaning the fields they
        name."""
        rules = list(rules)
        fields = frozenset(name for rule in rules for _, name in rule.expression.references)
        return cls(schema, _events_read(schema, rules), fields)

    def __init__(
        self,
        schema: ProjectSchema,
        events: frozenset[str | None] | None = None,
        fields: frozenset[str] | None = None,
    ) -> None:
        self._events = events  # only rows of these events are copied (None: all)
        self._parsers: dict[str, Parser] = {}  # export column -> its field's parser
        for column, name in schema.export_columns.items():
            if fields is not None and name not in fields:
                continue
            field = schema.fields.get(name)
            if field is not None and column in field.export_names and is_judged(field):
                # A missing-data code is not invalid: it stays, for isblankormissingcode().
                self._parsers[column] = value_parser(field, schema.missing_codes)

    def __call__(self, record: RecordData) -> RecordData:
        rows: dict[RowKey, dict[str, str]] = {}
        events = self._events
        parsers = self._parsers.items()
        for key, values in record.rows.items():
            if events is not None and key.event not in events:
                continue
            clean = values
            for column, parser in parsers:
                raw = values.get(column)
                # Most stored values are blank: test that before parsing.
                if raw and parser(raw).is_invalid:
                    if clean is values:
                        clean = dict(values)
                    clean[column] = ""
            rows[key] = clean
        return RecordData(record.record_id, rows, record.data_access_group)


def _events_read(schema: ProjectSchema, rules: Iterable[LogicRule]) -> frozenset[str | None] | None:
    """The events logic rules are evaluated in or name; None (all) when a rule names one
    relatively (``[previous-event-name][x]``)."""
    events: set[str | None] = set()
    for rule in rules:
        events.update(place.event for place in rule.places)
        for event, _ in rule.expression.references:
            if event is None:
                events.add(event)
            elif schema.is_visit(event):
                events.update(schema.events_of_visit(event))
            elif event not in schema.form_events:
                return None
            else:
                events.add(event)
    return frozenset(events)
