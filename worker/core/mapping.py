"""A study's mapping: how REDCap rows become typed participant models.

The mapping file (``mappings/<study>.toml``) names, per part of a participant, its event(s)
and forms; everything else (types, which rows repeat) comes from the live data dictionary,
so a field's name lives only in the mapping and the checks that read it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from datetime import date, datetime, time
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from worker.core.records import RecordData, RowKey
from worker.core.schema import FieldDef, ProjectSchema
from worker.core.values import parse_value
from worker.errors import MappingError


class PartSpec(BaseModel):
    """One part of a participant: one event, or several events holding the same forms."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event: str | None = None
    events: list[str] | None = None
    forms: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_event_source(self) -> PartSpec:
        if self.event is not None and self.events is not None:
            raise ValueError("give either 'event' or 'events', not both")
        return self

    @property
    def event_names(self) -> list[str | None]:
        """The part's events; ``[None]`` in a classic project (a part with no event)."""
        if self.events is not None:
            return list(self.events)
        return [self.event]


class QueryFields(BaseModel):
    """The query instrument's field for each role. ``response`` and ``verified`` belong to
    the site; the worker never writes them, but for clearing ``verified`` on a reopen."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    rule: str
    kind: str
    severity: str
    event: str
    instrument: str
    instance: str
    field: str
    message: str
    status: str
    opened_at: str
    closed_at: str
    reopen_count: str
    fingerprint: str
    response: str
    verified: str

    @property
    def worker_owned(self) -> list[str]:
        return [v for k, v in self.model_dump().items() if k not in ("response", "verified")]


class QueryCodes(BaseModel):
    """The codes of the query instrument's coded fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: dict[str, str]
    severity: dict[str, str]
    status: dict[str, str]
    verified_yes: str = "1"


class QueriesSpec(BaseModel):
    """Where findings are written back: a repeating instrument, in an event (longitudinal)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event: str | None = None
    form: str
    fields: QueryFields
    codes: QueryCodes


class MappingSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    study: str
    parts: dict[str, PartSpec] = Field(min_length=1)
    queries: QueriesSpec | None = None

    @property
    def forms_needed(self) -> list[str]:
        """Forms the study checks read, in first-mentioned order."""
        forms: list[str] = []
        for part in self.parts.values():
            forms.extend(f for f in part.forms if f not in forms)
        return forms


def load_mapping(path: Path) -> MappingSpec:
    """Read and validate a mapping file; any problem is one line naming the file and key."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MappingError(f"mapping file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"mapping file {path} is not valid TOML: {exc}") from None
    try:
        return MappingSpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise MappingError(f"mapping file {path}: {where}: {first['msg']}") from None


def mapping_drift(spec: MappingSpec, schema: ProjectSchema) -> list[str]:
    """Everything the mapping names that the project lacks or shapes differently."""
    problems: list[str] = []
    for name, part in spec.parts.items():
        for form in part.forms:
            if form not in schema.forms:
                problems.append(f"part '{name}': form '{form}' is not in the project")
        for event in part.event_names:
            if event is None:
                if schema.is_longitudinal:
                    problems.append(f"part '{name}': the project is longitudinal: name its event")
                elif form_repeat_mode(schema, None, part.forms) == "mixed":
                    problems.append(
                        f"part '{name}': forms {part.forms} mix repeating and non-repeating "
                        "instruments"
                    )
                continue
            if not schema.is_longitudinal:
                problems.append(f"part '{name}': names event '{event}' but the project is classic")
                continue
            designated = schema.forms_of_event(event)
            if event not in schema.form_events:
                problems.append(f"part '{name}': event '{event}' is not in the project")
                continue
            for form in part.forms:
                if form in schema.forms and form not in designated:
                    problems.append(
                        f"part '{name}': form '{form}' is not designated for event '{event}'"
                    )
            if part.events is None and form_repeat_mode(schema, event, part.forms) == "mixed":
                problems.append(
                    f"part '{name}': forms {part.forms} mix repeating and non-repeating "
                    f"instruments in event '{event}'"
                )
    if spec.queries is not None:
        q = spec.queries
        if q.form not in schema.forms:
            problems.append(f"queries: form '{q.form}' is not in the project")
        elif not schema.is_repeating_form(q.event, q.form):
            problems.append(f"queries: form '{q.form}' is not a repeating instrument in {q.event}")
        else:
            for role, name in q.fields.model_dump().items():
                field = schema.fields.get(name)
                if field is None or field.form != q.form:
                    problems.append(f"queries: field '{name}' ({role}) is not on form '{q.form}'")
            for role in ("kind", "severity", "status"):
                field = schema.fields.get(getattr(q.fields, role))
                codes = getattr(q.codes, role)
                if field is not None and field.choices:
                    for label, code in codes.items():
                        if code not in field.choices:
                            problems.append(
                                f"queries: code '{code}' ({role} {label}) is not a choice of "
                                f"field '{field.name}'"
                            )
    return problems


def form_repeat_mode(schema: ProjectSchema, event: str | None, forms: Iterable[str]) -> str:
    """``"event"`` (the whole event repeats), ``"instrument"``, ``"none"`` or ``"mixed"``."""
    if schema.is_repeating_event(event):
        return "event"
    modes = {schema.is_repeating_form(event, form) for form in forms}
    if modes == {True}:
        return "instrument"
    if modes == {False}:
        return "none"
    return "mixed"


class PartEntry(BaseModel):
    """Base of every generated part model: where the entry lives, plus typed field values.

    ``raw`` keeps the stored strings (for query fingerprints); ``invalid`` names fields whose
    stored value failed its type or code and is therefore ``None`` here.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    event: str | None
    instance: int | None = None
    ordinal: int | None = None
    raw: dict[str, str] = Field(default_factory=dict, repr=False)
    invalid: frozenset[str] = frozenset()

    def evidence(self, *fields: str) -> dict[str, str]:
        """The stored values of ``fields``, keyed ``event[instance].field`` for a fingerprint."""
        prefix = f"{self.event or ''}[{self.instance or ''}]"
        return {f"{prefix}.{name}": self.raw.get(name, "") for name in fields}


class Participant(BaseModel):
    """Base of the generated participant model; parts are added per study."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    record_id: str
    data_access_group: str = ""


_RESERVED = frozenset(PartEntry.model_fields) | frozenset(Participant.model_fields)


def python_type(field: FieldDef) -> Any:
    """The Python type the study checks see for a field (always optional)."""
    if field.field_type in ("yesno", "truefalse"):
        return bool
    if field.field_type == "checkbox":
        return frozenset[str]
    if field.field_type in ("radio", "dropdown"):
        return str
    if field.field_type == "calc":
        return float
    validation = field.validation or ""
    if validation.startswith("datetime"):
        return datetime
    if validation.startswith("date"):
        return date
    if validation.startswith("time"):
        return time
    if validation == "integer":
        return int
    if validation.startswith("number"):
        return float
    return str


class ParticipantBuilder:
    """Builds typed participant models for one study mapping against one project schema."""

    def __init__(self, spec: MappingSpec, schema: ProjectSchema) -> None:
        problems = mapping_drift(spec, schema)
        if problems:
            raise MappingError(
                f"the mapping does not match the project ({len(problems)} problem(s)): "
                + "; ".join(problems)
            )
        self.spec = spec
        self.schema = schema

    def _fields(self, forms: Iterable[str]) -> list[FieldDef]:
        id_field = self.schema.record_id_field
        return [
            f
            for form in forms
            for f in self.schema.fields_of_form(form)
            if f.name != id_field and f.export_names
        ]

    @cached_property
    def part_models(self) -> dict[str, type[PartEntry]]:
        models: dict[str, type[PartEntry]] = {}
        for name, part in self.spec.parts.items():
            definitions: dict[str, Any] = {}
            for f in self._fields(part.forms):
                if f.name in _RESERVED:
                    raise MappingError(f"part '{name}': field name '{f.name}' is reserved")
                definitions[f.name] = (python_type(f) | None, None)
            model_name = "".join(w.capitalize() for w in name.split("_")) + "Entry"
            models[name] = create_model(model_name, __base__=PartEntry, **definitions)
        return models

    @cached_property
    def participant_model(self) -> type[Participant]:
        definitions: dict[str, Any] = {}
        for name, part in self.spec.parts.items():
            model = self.part_models[name]
            if self._is_list(part):
                definitions[name] = (list[model], Field(default_factory=list))  # type: ignore[valid-type]
            else:
                definitions[name] = (model | None, None)
        return create_model("StudyParticipant", __base__=Participant, **definitions)

    def _is_list(self, part: PartSpec) -> bool:
        if part.events is not None:
            return True
        return form_repeat_mode(self.schema, part.event, part.forms) != "none"

    def build(self, record: RecordData) -> Participant:
        values: dict[str, Any] = {}
        for name, part in self.spec.parts.items():
            entries = list(self._entries(name, part, record))
            values[name] = entries if self._is_list(part) else (entries[0] if entries else None)
        return self.participant_model(
            record_id=record.record_id, data_access_group=record.data_access_group, **values
        )

    def _row_keys(self, part: PartSpec, record: RecordData) -> Iterable[tuple[RowKey, int | None]]:
        for ordinal, event in enumerate(part.event_names, start=1):
            position = ordinal if part.events is not None else None
            mode = form_repeat_mode(self.schema, event, part.forms)
            if mode == "event":
                for k in record.instances(event):
                    yield RowKey(event, "", k), position
            elif mode == "instrument":
                instances = sorted({k for f in part.forms for k in record.instances(event, f)})
                for k in instances:
                    # A repeating-instrument row carries one form; merge the part's forms.
                    yield RowKey(event, "", k), position
            else:
                yield RowKey(event, "", None), position

    def _entries(self, name: str, part: PartSpec, record: RecordData) -> Iterable[PartEntry]:
        model = self.part_models[name]
        fields = self._fields(part.forms)
        for key, ordinal in self._row_keys(part, record):
            raw = self._raw_values(part, key, record, fields)
            if not any(raw.values()):
                continue
            typed: dict[str, Any] = {}
            invalid: set[str] = set()
            for f in fields:
                value, ok = _typed(f, raw)
                typed[f.name] = value
                if not ok:
                    invalid.add(f.name)
            yield model(
                event=key.event,
                instance=key.instance,
                ordinal=ordinal,
                raw=raw,
                invalid=frozenset(invalid),
                **typed,
            )

    def _raw_values(
        self, part: PartSpec, key: RowKey, record: RecordData, fields: list[FieldDef]
    ) -> dict[str, str]:
        rows: list[dict[str, str]] = []
        if key.instance is not None and not self.schema.is_repeating_event(key.event):
            for form in part.forms:
                row = record.row(key.event, key.instance, form)
                if row:
                    rows.append(row)
        else:
            row = record.row(key.event, key.instance)
            if row:
                rows.append(row)
        raw: dict[str, str] = {}
        for f in fields:
            for column in f.export_names:
                raw[column] = next((r[column] for r in rows if r.get(column)), "")
        return raw


def _typed(field: FieldDef, raw: dict[str, str]) -> tuple[Any, bool]:
    """(typed value or None, whether the stored value was valid)."""
    if field.is_checkbox:
        checked = set()
        for code, column in zip(field.choices, field.export_names, strict=True):
            if raw.get(column) == "1":
                checked.add(code)
        return frozenset(checked), True
    parsed = parse_value(field, raw.get(field.name, ""))
    if parsed.is_blank:
        return None, True
    if not parsed.is_valid:
        return None, False
    value = parsed.value
    if field.field_type in ("yesno", "truefalse"):
        return value == "1", True
    return value, True
