"""Contexts that give logic its values: ``RecordContext`` reads one record's export rows the
way REDCap does; ``MappingContext`` is a dict-backed stand-in for tests.

In a project with several arms a reference may name a visit (``[baseline][x]``, an event's
name without ``_arm_N``, the worker's extension to REDCap's logic): it reads that visit's
event in the arm of the row being checked. ``[baseline_arm_1][x]`` reads arm 1's event,
whatever the row's arm, as REDCap does.

How ``RecordContext`` picks the row a reference reads (docs/redcap-api-behaviour.md §4.1,
§4.4): ``[field]`` reads the context's own event, ``[event][field]`` the named one. If the
field's form repeats in that event, or the event itself repeats, the row is an instance:
the one written (``[field][2]``, ``[last-instance]``...), else the context's own instance
number (instance 1 when the context row does not repeat). Otherwise it is the base row.
A checkbox option ``[f(code)]`` reads column ``f___code``, and reads ``"0"`` where nothing
is stored (REDCap's unticked); ``[form_complete]`` reads the form's status. Fields, events
and checkbox options the project lacks raise ``LogicReferenceError``; ``reference_problems``
lists them once, up front.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import date, datetime, time
from enum import Enum
from typing import Literal, overload

from worker.core.arms import own_event
from worker.core.logic.errors import LogicReferenceError
from worker.core.logic.nodes import (
    EVENT_SMART_VARIABLES,
    Binary,
    Boolean,
    FieldRef,
    Logical,
    Node,
    Number,
    String,
    Unary,
    walk,
)
from worker.core.logic.unparser import reference_text
from worker.core.logic.values import Value, chk_null
from worker.core.records import RecordData, RowKey
from worker.core.schema import CHOICE_TYPES, DATALESS_TYPES, ProjectSchema, checkbox_export_name
from worker.core.values import is_free_text

# Nodes whose value depends on nothing but their operands: no function, no smart variable.
_PLAIN_NODES = (Number, String, Boolean, Unary, Binary, Logical)
# Field types REDCap wraps in chkNull (blank -> NaN, otherwise a number).
_NUMERIC_TYPES = frozenset({"calc", "slider", "yesno", "truefalse"})
_NUMERIC_VALIDATIONS = frozenset({"int", "integer", "float", "number"})
_NUMERIC_CODE = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_STATUS_SUFFIX = "_complete"
_RELATIVE_EVENTS = frozenset(
    {"previous-event-name", "next-event-name", "first-event-name", "last-event-name"}
)


class _Absent(Enum):
    """A relative event that does not exist, such as the previous event of the first one."""

    EVENT = "absent"


_EventSlot = str | None | Literal[_Absent.EVENT]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time())


class RecordContext:
    """Evaluates logic for one row of one record.

    ``event``/``instance``/``repeat_instrument`` name the row being checked (as in its
    ``RowKey``). ``today`` defaults to the current date; ``now`` defaults to midnight of
    ``today``, so results do not drift with the time of day the worker runs (pass ``now``
    when logic uses ``'now'`` at hour precision). ``missing_codes`` are the project's
    missing-data codes, for ``isblankormissingcode`` and friends (default: the schema's).

    Values are read as REDCap stores them, with two exceptions for values that REDCap would
    have trimmed on save: a value of only whitespace is blank, and the value of a field with
    a format (a date, a number, a code...) is read without surrounding whitespace. Free text
    is read as it is.
    """

    def __init__(
        self,
        *,
        schema: ProjectSchema,
        record: RecordData,
        event: str | None = None,
        instance: int | None = None,
        repeat_instrument: str = "",
        today: date | None = None,
        now: datetime | None = None,
        missing_codes: Collection[str] | None = None,
    ) -> None:
        self.schema = schema
        self.record = record
        self.event = event
        self.instance = instance
        self.repeat_instrument = repeat_instrument
        self.today: date = today if today is not None else date.today()
        self.now: datetime = now if now is not None else _midnight(self.today)
        self.missing_codes: frozenset[str] = frozenset(
            schema.missing_codes if missing_codes is None else missing_codes
        )
        self._readings = _readings_of(schema)
        self._value_readers = self._readings.values
        # (event, repeat instrument, instance) -> the row there: logic reads several
        # fields of one row, and a tuple is found faster than a RowKey.
        self._rows: dict[tuple[str | None, str, int | None], Mapping[str, str] | None] = {}

    def at(self, key: RowKey) -> RecordContext:
        """The same record, schema and clock, evaluating for another row."""
        return RecordContext(
            schema=self.schema,
            record=self.record,
            event=key.event,
            instance=key.instance,
            repeat_instrument=key.repeat_instrument,
            today=self.today,
            now=self.now,
            missing_codes=self.missing_codes,
        )

    # --- LogicContext ---------------------------------------------------------------------

    def read(self, ref: FieldRef) -> Value:
        reader = self._value_readers.get(ref)  # per row per reference: keep this short
        if reader is None:
            reader = self._readings.value_reader(self.schema, ref)
        return reader(self)

    # --- the raw value and its type -------------------------------------------------------

    def lookup(self, ref: FieldRef) -> str:
        """The stored value a reference reads, as REDCap's logic sees the text."""
        return self._readings.raw_reader(self.schema, ref)(self)

    def is_numeric(self, field: str) -> bool:
        """Whether REDCap wraps the field in ``chkNull`` (blank -> NaN, value -> number)."""
        return self._readings.is_numeric(self.schema, field)

    # --- SupportsSmartVariables -----------------------------------------------------------

    def smart_variable(self, name: str) -> str:
        if name == "record-name":
            return self.record.record_id
        if name == "record-dag-name":
            return self.record.data_access_group
        if name == "current-instance":
            return "" if self.instance is None else str(self.instance)
        if name == "arm-number":
            current = self.schema.event(self.event) if self.event else None
            return str(current.arm) if current else "1"
        event = self._event(name)
        return "" if event is _Absent.EVENT or event is None else event

    # --- resolution -----------------------------------------------------------------------

    def _event(self, spec: str | None) -> _EventSlot:
        """The unique event name a reference's event slot means."""
        if spec is None or spec == "event-name":
            return self.event
        if spec in _RELATIVE_EVENTS:
            arm_events = self._arm_events()
            if self.event not in arm_events:
                return _Absent.EVENT
            position = arm_events.index(self.event)
            target = {
                "previous-event-name": position - 1,
                "next-event-name": position + 1,
                "first-event-name": 0,
                "last-event-name": len(arm_events) - 1,
            }[spec]
            return arm_events[target] if 0 <= target < len(arm_events) else _Absent.EVENT
        _check_event(self.schema, spec)
        if self.schema.is_visit(spec):
            return self._own_event(spec)
        return spec

    def _own_event(self, visit: str) -> _EventSlot:
        """A visit name's event in the arm of the row being checked (the record's own arm
        when that row has no event); absent where that arm lacks the visit."""
        arm = self.schema.arm_of(self.event)
        event = (
            self.schema.event_in_arm(visit, arm)
            if arm is not None
            else own_event(self.schema, visit, self.record)
        )
        return _Absent.EVENT if event is None else event

    def _arm_events(self) -> list[str]:
        current = self.schema.event(self.event) if self.event else None
        if current is None:
            return []
        return [e.unique_name for e in self.schema.events if e.arm == current.arm]

    def _row_key(self, event: str | None, form: str, instance: int | str | None) -> RowKey | None:
        repeating_form = self.schema.is_repeating_form(event, form)
        if not (repeating_form or self.schema.is_repeating_event(event)):
            return RowKey(event, "", None)
        instrument = form if repeating_form else ""
        number = self._instance(event, instrument, instance)
        return None if number is None else RowKey(event, instrument, number)

    def _row(
        self, event: str | None, instrument: str, instance: int | None
    ) -> Mapping[str, str] | None:
        """The record's row at a place (None if it has none), looked up once per context."""
        place = (event, instrument, instance)
        try:
            return self._rows[place]
        except KeyError:
            row = self._rows[place] = self.record.rows.get(RowKey(event, instrument, instance))
            return row

    def _instance(self, event: str | None, instrument: str, spec: int | str | None) -> int | None:
        if isinstance(spec, int):
            return spec
        current = self.instance if self.instance is not None else 1
        if spec is None or spec == "current-instance":
            return current
        if spec == "previous-instance":
            return current - 1 if current > 1 else None
        if spec == "next-instance":
            return current + 1
        present = self.record.instances(event, instrument)
        if not present:
            return None
        return present[0] if spec == "first-instance" else present[-1]


def read_trimmed(raw: str, *, free_text: bool) -> str:
    """A padded stored value as logic reads it: only whitespace is blank; a field with a
    format is read trimmed, free text as it is."""
    if raw.isspace():
        return ""
    return raw if free_text else raw.strip()


def _status_form(schema: ProjectSchema, field: str) -> str | None:
    """The form whose ``{form}_complete`` status field this is, if it is one."""
    if field.endswith(_STATUS_SUFFIX):
        form = field[: -len(_STATUS_SUFFIX)]
        if form in schema.forms:
            return form
    return None


def _column(schema: ProjectSchema, ref: FieldRef) -> tuple[str, str]:
    """(form, export column) a reference reads; ``LogicReferenceError`` if it names nothing."""
    definition = schema.fields.get(ref.field)
    if definition is None:
        form = _status_form(schema, ref.field)
        if form is None:
            raise LogicReferenceError(f"{reference_text(ref)}: no such field in the project")
        if ref.code is not None:
            raise LogicReferenceError(f"{reference_text(ref)}: {ref.field} is not a checkbox")
        return form, ref.field
    if definition.is_checkbox:
        if ref.code is None:
            raise LogicReferenceError(
                f"[{ref.field}] is a checkbox; name one option, like [{ref.field}(1)]"
            )
        # A missing-data code has a column of its own too (``race___unk``).
        if ref.code not in definition.choices and ref.code not in definition.missing_options:
            raise LogicReferenceError(
                f"{reference_text(ref)}: checkbox {ref.field} has no option {ref.code}"
            )
        return definition.form, checkbox_export_name(ref.field, ref.code)
    if ref.code is not None:
        raise LogicReferenceError(f"{reference_text(ref)}: {ref.field} is not a checkbox")
    if definition.field_type in DATALESS_TYPES:
        return definition.form, ""  # holds no value: always blank
    return definition.form, ref.field


def _check_event(schema: ProjectSchema, event: str) -> None:
    if not schema.is_longitudinal:
        raise LogicReferenceError(f"[{event}]: a classic project has no events")
    if schema.event(event) is None and not schema.is_visit(event):
        raise LogicReferenceError(f"[{event}]: the project has no event {event}")


def own_row_columns(
    node: Node, schema: ProjectSchema, event: str | None, instrument: str
) -> tuple[str, ...] | None:
    """The columns logic reads when, on a row of ``event`` with repeat instrument
    ``instrument`` (``""`` for a base row), it reads nothing but that row's own values (plain
    field references, literals and operators), else None. Such logic has one answer for one
    set of those values, whatever the record. By the rules ``RecordContext`` reads by: a plain
    ``[field]`` reads the row being checked when the field's form is the row's repeat
    instrument or, on a base row or a repeating event's row, when the form does not repeat in
    the event."""
    columns: set[str] = set()
    for part in walk(node):
        if isinstance(part, _PLAIN_NODES):
            continue
        if not isinstance(part, FieldRef) or part.event is not None or part.instance is not None:
            return None
        definition = schema.fields.get(part.field)
        if (
            definition is None
            or definition.field_type in DATALESS_TYPES
            or definition.is_checkbox != (part.code is not None)
        ):
            return None
        if instrument:
            own = definition.form == instrument
        else:
            own = not schema.is_repeating_form(event, definition.form)
        if not own:
            return None
        columns.add(
            part.field if part.code is None else checkbox_export_name(part.field, part.code)
        )
    return tuple(sorted(columns))


def reference_problems(refs: Iterable[FieldRef], schema: ProjectSchema) -> list[str]:
    """What ``RecordContext`` would refuse in these references (an expression's
    ``field_refs``: unknown fields and events, checkbox misuse), checked once up front
    instead of failing on the first row evaluated."""
    problems: list[str] = []
    for ref in sorted(refs, key=reference_text):
        try:
            _column(schema, ref)
            if ref.event is not None and ref.event not in EVENT_SMART_VARIABLES:
                _check_event(schema, ref.event)
        except LogicReferenceError as error:
            problems.append(error.problem)
    return problems


RawReader = Callable[[RecordContext], str]
ValueReader = Callable[[RecordContext], Value]


class _ProjectReadings:
    """One project's readers, one per reference, built on first use and kept for the
    project's life. Branching logic is evaluated for most fields of most rows, so what
    depends only on the project (the field's column and number-ness, the event a name
    means, whether a form repeats there) is worked out once per reference, not per row."""

    def __init__(self) -> None:
        self.raw: dict[FieldRef, RawReader] = {}
        self.values: dict[FieldRef, ValueReader] = {}
        self.numeric: dict[str, bool] = {}

    def raw_reader(self, schema: ProjectSchema, ref: FieldRef) -> RawReader:
        found = self.raw.get(ref)
        if found is None:
            found = self.raw[ref] = _reader(schema, ref, as_number=False)
        return found

    def value_reader(self, schema: ProjectSchema, ref: FieldRef) -> ValueReader:
        found = self.values.get(ref)
        if found is None:
            as_number = _reads_as_number(ref, self.is_numeric(schema, ref.field))
            found = self.values[ref] = _reader(schema, ref, as_number=as_number)
        return found

    def is_numeric(self, schema: ProjectSchema, field: str) -> bool:
        found = self.numeric.get(field)
        if found is None:
            found = self.numeric[field] = _is_numeric(schema, field)
        return found


# id(schema) -> its readers; an entry goes with its schema (a schema is not hashable).
_READINGS: dict[int, _ProjectReadings] = {}


def _readings_of(schema: ProjectSchema) -> _ProjectReadings:
    key = id(schema)
    found = _READINGS.get(key)
    if found is None:
        found = _READINGS[key] = _ProjectReadings()
        weakref.finalize(schema, _READINGS.pop, key, None)
    return found


@overload
def _reader(schema: ProjectSchema, ref: FieldRef, *, as_number: Literal[False]) -> RawReader: ...
@overload
def _reader(schema: ProjectSchema, ref: FieldRef, *, as_number: bool) -> ValueReader: ...
def _reader(schema: ProjectSchema, ref: FieldRef, *, as_number: bool) -> ValueReader:
    """How ``ref`` reads a row's stored value in this project: the text, or, ``as_number``,
    through ``chk_null``."""
    try:
        form, column = _column(schema, ref)
        spec = ref.event
        per_row = spec in _RELATIVE_EVENTS
        if spec is not None and spec != "event-name" and not per_row:
            _check_event(schema, spec)
            per_row = schema.is_visit(spec)
    except LogicReferenceError as error:
        return _unreadable(error.problem)
    definition = schema.fields.get(ref.field)
    free_text = definition is not None and is_free_text(definition)
    comma = bool(definition and (definition.validation or "").endswith("comma_decimal"))
    checkbox = ref.code is not None
    instance = ref.instance
    fixed_event = None if spec in (None, "event-name") or per_row else spec
    # Per event: whether the form or the event repeats there, and the repeat instrument of
    # its rows (as _row_key works them out).
    repeats_in: dict[str | None, tuple[bool, str]] = {}

    def read(ctx: RecordContext) -> Value:
        row: Mapping[str, str] | None
        if per_row:  # a relative event or a visit name: which event depends on the row
            event = ctx._event(spec)
            key = None if event is _Absent.EVENT else ctx._row_key(event, form, instance)
            row = None if key is None else ctx.record.rows.get(key)
        else:
            event = ctx.event if fixed_event is None else fixed_event
            try:
                repeats, instrument = repeats_in[event]
            except KeyError:
                # The row's project, not the one captured: a reader kept for a project
                # must not keep it alive.
                project = ctx.schema
                repeating_form = project.is_repeating_form(event, form)
                repeats = repeating_form or project.is_repeating_event(event)
                instrument = form if repeating_form else ""
                repeats_in[event] = (repeats, instrument)
            if not repeats:
                row = ctx._row(event, "", None)
            else:
                number = ctx._instance(event, instrument, instance)
                row = None if number is None else ctx._row(event, instrument, number)
        raw = "" if row is None else row.get(column, "")
        if raw and (raw[0].isspace() or raw[-1].isspace()):
            raw = read_trimmed(raw, free_text=free_text)
        if checkbox and raw == "":
            raw = "0"  # an unticked (or never saved) checkbox option reads as 0 in REDCap
        elif raw and comma:
            raw = raw.replace(",", ".")
        return chk_null(raw) if as_number else raw

    return read


def _unreadable(problem: str) -> RawReader:
    """A reader for a reference the project cannot read: it raises, per row, a fresh error
    (so the up-front check can name it once, and a row that does read it fails)."""

    def read(ctx: RecordContext) -> str:
        raise LogicReferenceError(problem)

    return read


def _reads_as_number(ref: FieldRef, numeric_field: bool) -> bool:
    """Whether logic reads the reference through ``chk_null``: a numeric field does, and a
    checkbox option, which holds "0"/"1", does whatever its field's codes."""
    return ref.code is not None or numeric_field


def _is_numeric(schema: ProjectSchema, field: str) -> bool:
    definition = schema.fields.get(field)
    if definition is None:
        return _status_form(schema, field) is not None  # form status: 0, 1, 2
    kind = definition.field_type
    if kind in _NUMERIC_TYPES:
        return True
    if kind == "text":
        validation = definition.validation or ""
        return validation in _NUMERIC_VALIDATIONS or validation.startswith("number_")
    if kind in CHOICE_TYPES:
        codes = definition.choices
        return bool(codes) and all(_NUMERIC_CODE.fullmatch(code) for code in codes)
    return False


class MappingContext:
    """A context backed by a dict keyed by reference text as ``unparse`` writes it:
    ``{"[age]": "42", "[visit_2_arm_1][weight]": "", "[race(2)]": "1"}``. Missing keys read
    as blank. ``numeric`` names the fields REDCap would treat as numbers."""

    def __init__(
        self,
        values: Mapping[str, str] | None = None,
        *,
        numeric: Collection[str] = (),
        today: date | None = None,
        now: datetime | None = None,
        missing_codes: Collection[str] = (),
        smart_variables: Mapping[str, str] | None = None,
    ) -> None:
        self.values = dict(values or {})
        self.numeric = frozenset(numeric)
        self.today: date = today if today is not None else date.today()
        self.now: datetime = now if now is not None else _midnight(self.today)
        self.missing_codes = frozenset(missing_codes)
        self.smart_variables = dict(smart_variables or {})

    def read(self, ref: FieldRef) -> Value:
        raw = self.lookup(ref)
        return chk_null(raw) if _reads_as_number(ref, ref.field in self.numeric) else raw

    def lookup(self, ref: FieldRef) -> str:
        return self.values.get(reference_text(ref), "")

    def is_numeric(self, field: str) -> bool:
        return field in self.numeric

    def smart_variable(self, name: str) -> str:
        return self.smart_variables.get(name, "")
