"""A study's mapping: how REDCap rows become typed participant models.

The mapping file (``mappings/<study>.toml``) names, per part of a participant, its event(s)
and forms; everything else (types, which rows repeat) comes from the live data dictionary,
so a field's name lives only in the mapping and the checks that read it.

A study may declare its participant as ordinary typed classes (a :class:`Participant`
subclass whose attributes are the mapping's parts, each a :class:`PartEntry` subclass
declaring the fields its checks read), so a type checker can check its rules; the builder
then builds those classes, once :func:`model_problems` finds them true to the project's
data dictionary (names and types). Without one, the models are generated from the data
dictionary.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SkipValidation,
    ValidationError,
    create_model,
    model_validator,
)

from worker.core.records import RecordData, RowKey
from worker.core.schema import FieldDef, ProjectSchema
from worker.core.values import Parser, ParseStatus, validation_type, value_parser
from worker.errors import MappingError
from worker.tomlfile import read_toml


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

    @property
    def read_back(self) -> list[str]:
        """What reconciling reads from REDCap: the worker's own fields and the site's
        verified mark (the site's response is never read)."""
        return [*self.worker_owned, self.verified]


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
    data = read_toml(path, "mapping file", MappingError)
    try:
        return MappingSpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise MappingError(f"mapping file {path}: {where}: {first['msg']}") from None


def mapping_drift(spec: MappingSpec, schema: ProjectSchema) -> list[str]:
    """Everything the mapping names that the project lacks or shapes differently. An event
    may be named by its visit (``screening`` for ``screening_arm_N``): see ``part_events``."""
    problems = [p for found in parts_drift(spec, schema).values() for p in found]
    if spec.queries is not None:
        problems.extend(_queries_drift(spec.queries, schema))
    return problems


def parts_drift(spec: MappingSpec, schema: ProjectSchema) -> dict[str, list[str]]:
    """The mapping parts the project no longer matches, each with its problems: such a part
    is built empty and every check reading it is quarantined (the rest of the run goes on)."""
    drift: dict[str, list[str]] = {}
    for name, part in spec.parts.items():
        problems = _part_drift(name, part, schema)
        if problems:
            drift[name] = problems
    return drift


def _part_drift(name: str, part: PartSpec, schema: ProjectSchema) -> list[str]:
    problems: list[str] = []
    for form in part.forms:
        if form not in schema.forms:
            problems.append(f"part '{name}': form '{form}' is not in the project")
    for event in part.event_names:
        if event is None:
            if schema.is_longitudinal:
                problems.append(f"part '{name}': the project is longitudinal: name its event")
            elif form_repeat_mode(schema, None, part.forms) == "mixed":
                problems.append(
                    f"part '{name}': forms {part.forms} mix repeating and non-repeating instruments"
                )
            continue
        if not schema.is_longitudinal:
            problems.append(f"part '{name}': names event '{event}' but the project is classic")
            continue
        candidates = schema.events_of_visit(event)
        if not candidates:
            problems.append(f"part '{name}': event '{event}' is not in the project")
            continue
        where = f"event '{event}'" if event in candidates else f"any event of visit '{event}'"
        for form in part.forms:
            if form in schema.forms and not any(
                form in schema.forms_of_event(e) for e in candidates
            ):
                problems.append(f"part '{name}': form '{form}' is not designated for {where}")
        for candidate in candidates if part.events is None else ():
            designated = designated_forms(schema, candidate, part)
            if form_repeat_mode(schema, candidate, designated) == "mixed":
                problems.append(
                    f"part '{name}': forms {part.forms} mix repeating and non-repeating "
                    f"instruments in event '{candidate}'"
                )
    return problems


def _queries_drift(q: QueriesSpec, schema: ProjectSchema) -> list[str]:
    problems: list[str] = []
    if q.form not in schema.forms:
        return [f"queries: form '{q.form}' is not in the project"]
    events: list[str | None] = [None]
    if not schema.is_longitudinal and q.event is not None:
        return [f"queries: names event '{q.event}' but the project is classic"]
    if schema.is_longitudinal:
        if q.event is None:
            return ["queries: the project is longitudinal: name the query event"]
        events = list(schema.events_of_visit(q.event))
        if not events:
            return [f"queries: event '{q.event}' is not in the project"]
        # Sync writes a record's queries in its own arm, never another: every arm needs one.
        lacking = [arm for arm in schema.arms if schema.event_in_arm(q.event, arm) is None]
        if lacking:
            arms = ", ".join(str(a) for a in lacking)
            hint = (
                f": name the visit '{schema.visit_of(q.event)}'"
                if not schema.is_visit(q.event)
                and all(schema.event_in_arm(schema.visit_of(q.event), a) for a in schema.arms)
                else ""
            )
            problems.append(
                f"queries: event '{q.event}' is not in arm {arms}, whose records' queries "
                f"would have nowhere to go{hint}"
            )
    not_repeating = [e for e in events if not schema.is_repeating_form(e, q.form)]
    if not_repeating:
        where = ", ".join(e or "the project" for e in not_repeating)
        return [*problems, f"queries: form '{q.form}' is not a repeating instrument in {where}"]
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


def part_events(schema: ProjectSchema, part: PartSpec) -> list[tuple[str | None, int | None]]:
    """The unique events a part reads, each with its ordinal (its name's 1-based position in
    ``events``; None for a one-event part). A visit name stands for its event in every arm:
    a record has rows in its own arm's only, so the part takes whichever holds data."""
    found: list[tuple[str | None, int | None]] = []
    for ordinal, name in enumerate(part.event_names, start=1):
        position = ordinal if part.events is not None else None
        if name is None or not schema.is_longitudinal:
            found.append((name, position))
        else:
            found.extend((event, position) for event in schema.events_of_visit(name))
    return found


def designated_forms(schema: ProjectSchema, event: str | None, part: PartSpec) -> list[str]:
    """The part's forms designated for ``event`` (all of them if none is: drift says so).
    Arms may differ in which of a visit's forms they hold."""
    designated = schema.forms_of_event(event)
    return [f for f in part.forms if f in designated] or list(part.forms)


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
    stored value failed its type or code and is therefore ``None`` here; ``missing`` names
    fields holding one of the project's missing-data codes ("unknown", "not applicable"):
    answered, but ``None`` here too, and not invalid. A checkbox is missing when one of its
    missing-code columns is ticked.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    event: str | None
    instance: int | None = None
    ordinal: int | None = None
    # Built by the mapping from the export's strings: validating it again (a copy, every
    # value checked) was a tenth of the checks' time.
    raw: SkipValidation[dict[str, str]] = Field(default_factory=dict, repr=False)
    invalid: frozenset[str] = frozenset()
    missing: frozenset[str] = frozenset()

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
    """The Python type the study checks see for a field (always optional).

    Yes/no and true/false: ``bool``; checkboxes: the ``frozenset`` of ticked codes; radio and
    dropdown: the code, ``str``; calc and slider: ``float``. Text by its validation type
    (values.py): dates ``date``, datetimes with or without seconds ``datetime``, ``time``
    and ``time_hh_mm_ss`` ``time``, ``time_mm_ss`` ``timedelta`` (minutes and seconds are
    a duration, not a time of day), ``integer`` ``int``, every ``number`` type, comma
    decimals included, ``float``; everything else (email, phone, postal codes, free text,
    site-defined types) ``str``.
    """
    if field.field_type in ("yesno", "truefalse"):
        return bool
    if field.field_type == "checkbox":
        return frozenset[str]
    if field.field_type in ("radio", "dropdown"):
        return str
    if field.field_type in ("calc", "slider"):
        return float
    return validation_type(field) or str


def part_fields(schema: ProjectSchema, part: PartSpec) -> list[FieldDef]:
    """The fields a part's entries may hold: its forms' data fields, but the record ID."""
    id_field = schema.record_id_field
    return [
        f
        for form in part.forms
        for f in schema.fields_of_form(form)
        if f.name != id_field and f.export_names
    ]


def part_is_list(schema: ProjectSchema, part: PartSpec) -> bool:
    """Whether a part is a list of entries (several events, or rows that repeat)."""
    if part.events is not None:
        return True
    return any(
        form_repeat_mode(schema, event, designated_forms(schema, event, part)) != "none"
        for event, _ in part_events(schema, part)
    )


# --- study-declared models ------------------------------------------------------------------


def model_problems(
    model: type[Participant],
    spec: MappingSpec,
    schema: ProjectSchema,
    *,
    root: Path | None = None,
    files: Mapping[str, str] | None = None,
) -> list[str]:
    """Everything a study's declared participant class gets wrong about the mapping and the
    data dictionary: a part it lacks or the mapping lacks, a part declared as a list that is
    a single entry (or the reverse), a field its part's forms lack, a field declared with
    another type than its REDCap type maps to (:func:`python_type`). Each problem names the
    file (relative to ``root``), the class and the attribute. A part the project no longer
    matches (:func:`parts_drift`) is only named here: it is built empty and the checks
    reading it are quarantined, so its declaration is not judged against the project."""
    problems: list[str] = []
    where = declared_at(model, root, files)
    broken = parts_drift(spec, schema)
    declared = {n: f for n, f in model.model_fields.items() if n not in Participant.model_fields}
    for name in spec.parts:
        if name not in declared:
            problems.append(
                f"{where}: class {model.__name__} has no attribute '{name}' for the "
                f"mapping's part '{name}'"
            )
    for name, info in declared.items():
        part = spec.parts.get(name)
        if part is None:
            problems.append(
                f"{where}: {model.__name__}.{name} is not a part of the mapping "
                f"(parts: {', '.join(spec.parts)})"
            )
            continue
        entry, is_list = _part_annotation(info.annotation)
        if name in broken:
            if entry is None:
                problems.append(
                    f"{where}: {model.__name__}.{name} is declared "
                    f"{_type_name(info.annotation)}: declare it a PartEntry class (or a list "
                    "of one)"
                )
            continue
        wanted = part_is_list(schema, part)
        if entry is None or is_list != wanted:
            kind = "a list of entries" if wanted else "one entry or None"
            shape = "list[<a PartEntry class>]" if wanted else "<a PartEntry class> | None"
            problems.append(
                f"{where}: {model.__name__}.{name} is declared {_type_name(info.annotation)}, "
                f"but part '{name}' is {kind}: declare it {shape}"
            )
            continue
        problems.extend(_entry_problems(entry, name, part, schema, root, files))
    return problems


def declared_drift(
    model: type[Participant] | None,
    spec: MappingSpec,
    schema: ProjectSchema,
    *,
    root: Path | None = None,
    files: Mapping[str, str] | None = None,
) -> dict[str, list[str]]:
    """The parts whose declared entry class reads a field the project no longer has (deleted
    or renamed in REDCap), each with one line per field naming the file, class and field.
    Like a drifted part (:func:`parts_drift`), such a part is built empty and the checks
    reading it are quarantined; the rest of the run goes on."""
    if model is None:
        return {}
    broken = parts_drift(spec, schema)
    drift: dict[str, list[str]] = {}
    for name, info in model.model_fields.items():
        if name not in spec.parts or name in broken:
            continue
        entry, _ = _part_annotation(info.annotation)
        if entry is None:
            continue
        where = declared_at(entry, root, files)
        for field in entry.model_fields:
            if field not in PartEntry.model_fields and field not in schema.fields:
                drift.setdefault(name, []).append(
                    f"{where}: {entry.__name__}.{field}: field '{field}' is not in the project"
                )
    return drift


def _entry_problems(
    entry: type[PartEntry],
    part_name: str,
    part: PartSpec,
    schema: ProjectSchema,
    root: Path | None,
    files: Mapping[str, str] | None,
) -> list[str]:
    problems: list[str] = []
    where = declared_at(entry, root, files)
    fields = {f.name: f for f in part_fields(schema, part)}
    for name, info in entry.model_fields.items():
        what = f"{where}: {entry.__name__}.{name}"
        if name in PartEntry.model_fields:
            if info.annotation != PartEntry.model_fields[name].annotation:
                problems.append(f"{what}: the name '{name}' is reserved by PartEntry")
            continue
        field = fields.get(name)
        if field is None:
            known = schema.fields.get(name)
            if known is not None:
                problems.append(
                    f"{what}: field '{name}' is on form '{known.form}', which part "
                    f"'{part_name}' does not read (forms: {', '.join(part.forms)})"
                )
            # A field the project lacks is drift (declared_drift): the part's checks are
            # quarantined, the run goes on.
            continue
        expected = python_type(field)
        inner, optional = _optional(info.annotation)
        if inner != expected or not (optional or field.is_checkbox):
            kind = field.field_type + (f", {field.validation}" if field.validation else "")
            problems.append(
                f"{what} is declared {_type_name(info.annotation)}, but field '{name}' "
                f"({kind}) is {_type_name(expected)} | None"
            )
    return problems


def declared_at(cls: type, root: Path | None, files: Mapping[str, str] | None = None) -> str:
    """The file declaring ``cls`` (relative to ``root`` when under it). ``files``: the file of
    each module by name, for modules no longer in ``sys.modules`` (the rules loader imports a
    study's checks under a private name and removes them there)."""
    known = (files or {}).get(cls.__module__)
    try:
        path = Path(known if known is not None else inspect.getfile(cls))
    except TypeError:  # neither registered nor in sys.modules
        return cls.__module__
    if root is not None:
        try:
            return str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            pass
    return str(path)


def _optional(annotation: Any) -> tuple[Any, bool]:
    """``(T, True)`` for ``T | None``, else ``(annotation, False)``."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return rest[0], len(rest) < len(args)
    return annotation, False


def _part_annotation(annotation: Any) -> tuple[type[PartEntry] | None, bool]:
    """The entry class of a participant attribute, and whether it is a list of them."""
    if typing.get_origin(annotation) is list:
        (inner,) = typing.get_args(annotation) or (None,)
        return (inner, True) if _is_entry(inner) else (None, True)
    inner, optional = _optional(annotation)
    return (inner, False) if optional and _is_entry(inner) else (None, False)


def _is_entry(cls: Any) -> bool:
    return isinstance(cls, type) and issubclass(cls, PartEntry) and cls is not PartEntry


def _type_name(annotation: Any) -> str:
    """``list[Visit]``, ``date | None``: as the declaration would be written."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in args)
    if origin is not None and args:
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{', '.join(_type_name(a) for a in args)}]"
    if annotation is type(None):
        return "None"
    return annotation.__name__ if isinstance(annotation, type) else str(annotation)


class ParticipantBuilder:
    """Builds typed participant models for one study mapping against one project schema.

    ``model`` is the study's declared participant class, if it has one (checked with
    :func:`model_problems`); else the models are generated from the data dictionary, every
    field of a part's forms typed by :func:`python_type`. Entries of a declared class hold
    only the fields it declares, but ``raw``, ``invalid`` and ``missing`` cover all of them.

    Everything that does not depend on the record (each part's fields, export columns,
    value parsers, how its rows repeat) is worked out once, in :attr:`_plans`; :meth:`build`
    only reads values; pydantic validates every model it builds.
    """

    def __init__(
        self, spec: MappingSpec, schema: ProjectSchema, model: type[Participant] | None = None
    ) -> None:
        # Only the query instrument's drift refuses the run; a drifted part is built empty
        # and the checks reading it are quarantined (see worker.core.rules.inputs).
        problems = _queries_drift(spec.queries, schema) if spec.queries is not None else []
        if problems:
            raise MappingError(
                f"the mapping does not match the project ({len(problems)} problem(s)): "
                + "; ".join(problems)
            )
        if model is not None and (problems := model_problems(model, spec, schema)):
            raise MappingError(
                f"the participant model {model.__name__} does not match the project "
                f"({len(problems)} problem(s)): " + "; ".join(problems)
            )
        self.spec = spec
        self.schema = schema
        self.declared = model
        self.broken_parts = parts_drift(spec, schema) | declared_drift(model, spec, schema)

    @cached_property
    def part_models(self) -> dict[str, type[PartEntry]]:
        models: dict[str, type[PartEntry]] = {}
        if self.declared is not None:
            for name in self.spec.parts:
                entry, _ = _part_annotation(self.declared.model_fields[name].annotation)
                assert entry is not None  # model_problems() said so
                models[name] = entry
            return models
        for name, part in self.spec.parts.items():
            definitions: dict[str, Any] = {}
            for f in part_fields(self.schema, part):
                if f.name in _RESERVED:
                    raise MappingError(f"part '{name}': field name '{f.name}' is reserved")
                definitions[f.name] = (python_type(f) | None, None)
            model_name = "".join(w.capitalize() for w in name.split("_")) + "Entry"
            models[name] = create_model(model_name, __base__=PartEntry, **definitions)
        return models

    @cached_property
    def participant_model(self) -> type[Participant]:
        if self.declared is not None:
            return self.declared
        definitions: dict[str, Any] = {}
        for name, part in self.spec.parts.items():
            model = self.part_models[name]
            if part_is_list(self.schema, part):
                definitions[name] = (list[model], Field(default_factory=list))  # type: ignore[valid-type]
            else:
                definitions[name] = (model | None, None)
        return create_model("StudyParticipant", __base__=Participant, **definitions)

    def _is_list(self, name: str, part: PartSpec) -> bool:
        """As the declared class has it (model_problems() checked it against the project,
        and a drifted part, which has no events to tell, stays the shape the checks read),
        else as the project has it."""
        if self.declared is not None:
            return _part_annotation(self.declared.model_fields[name].annotation)[1]
        return part_is_list(self.schema, part)

    @cached_property
    def _plans(self) -> tuple[_PartPlan, ...]:
        """One plan per part, in the participant model's field order."""
        order = list(self.participant_model.model_fields)
        return tuple(
            sorted(
                (
                    _PartPlan.make(
                        name,
                        part,
                        self.schema,
                        part_fields(self.schema, part),
                        self.part_models[name],
                        self._is_list(name, part),
                        broken=name in self.broken_parts,
                    )
                    for name, part in self.spec.parts.items()
                ),
                key=lambda plan: order.index(plan.name),
            )
        )

    def build(self, record: RecordData) -> Participant:
        values: dict[str, Any] = {}
        for plan in self._plans:
            entries = plan.entries(record)
            values[plan.name] = entries if plan.is_list else (entries[0] if entries else None)
        return self.participant_model(
            record_id=record.record_id, data_access_group=record.data_access_group, **values
        )


@dataclass(frozen=True, slots=True)
class _FieldPlan:
    """One field of a part: its export columns and how its raw value is typed."""

    name: str
    columns: tuple[str, ...]
    checkbox_codes: tuple[tuple[str, str], ...] | None  # (code, column), checkboxes only
    missing_columns: tuple[str, ...]  # a checkbox's missing-code columns
    parse: Parser | None  # None for checkboxes
    yes_no: bool  # yesno/truefalse: the code "1" is True
    # An attribute of the entry (a declared class may leave fields out; they are still read
    # for ``raw``, ``invalid`` and ``missing``).
    kept: bool = True


@dataclass(frozen=True, slots=True)
class _PartPlan:
    """A mapping part prepared once: its model, fields, and where its rows are."""

    name: str
    model: type[PartEntry]
    is_list: bool
    fields: tuple[_FieldPlan, ...]
    columns: tuple[str, ...]  # every export column of the part's fields, in field order
    # Per event of the part: (event, ordinal for multi-event parts, repeat mode).
    events: tuple[tuple[str | None, int | None, str], ...]
    forms: tuple[str, ...]
    repeating_events: frozenset[str | None]

    @classmethod
    def make(
        cls,
        name: str,
        part: PartSpec,
        schema: ProjectSchema,
        fields: list[FieldDef],
        model: type[PartEntry],
        is_list: bool,
        *,
        broken: bool = False,
    ) -> _PartPlan:
        plans = []
        for f in fields:
            columns = tuple(f.export_names)
            kept = f.name in model.model_fields
            if f.is_checkbox:
                missing = tuple(f.missing_columns)
                codes = tuple(zip(f.choices, columns[: len(f.choices)], strict=True))
                plans.append(_FieldPlan(f.name, columns, codes, missing, None, False, kept))
                continue
            plans.append(
                _FieldPlan(
                    name=f.name,
                    columns=columns,
                    checkbox_codes=None,
                    missing_columns=(),
                    parse=value_parser(f, schema.missing_codes),
                    yes_no=f.field_type in ("yesno", "truefalse"),
                    kept=kept,
                )
            )
        # A drifted part reads no rows: it is empty for every participant.
        events = tuple(
            (event, ordinal, form_repeat_mode(schema, event, designated_forms(schema, event, part)))
            for event, ordinal in ([] if broken else part_events(schema, part))
        )
        return cls(
            name=name,
            model=model,
            is_list=is_list,
            fields=tuple(plans),
            columns=tuple(c for p in plans for c in p.columns),
            events=events,
            forms=tuple(part.forms),
            repeating_events=frozenset(e for e, _, _ in events if schema.is_repeating_event(e)),
        )

    def row_keys(self, record: RecordData) -> Iterator[tuple[RowKey, int | None]]:
        for event, position, mode in self.events:
            if mode == "event":
                for k in record.instances(event):
                    yield RowKey(event, "", k), position
            elif mode == "instrument":
                instances = sorted({k for f in self.forms for k in record.instances(event, f)})
                for k in instances:
                    # A repeating-instrument row carries one form; merge the part's forms.
                    yield RowKey(event, "", k), position
            else:
                yield RowKey(event, "", None), position

    def raw_values(self, key: RowKey, record: RecordData) -> dict[str, str]:
        """The part's export columns at ``key``: from the one row there, or, for a repeating
        instrument instance, from the first of the part's forms' rows that fills each."""
        if key.instance is not None and key.event not in self.repeating_events:
            rows = [
                row
                for form in self.forms
                if (row := record.rows.get(RowKey(key.event, form, key.instance)))
            ]
            if len(rows) != 1:
                return {
                    column: next((r[column] for r in rows if r.get(column)), "")
                    for column in self.columns
                }
            row = rows[0]
        else:
            row = record.rows.get(key) or {}
        get = row.get
        return {column: get(column) or "" for column in self.columns}

    def entries(self, record: RecordData) -> list[PartEntry]:
        found: list[PartEntry] = []
        for key, ordinal in self.row_keys(record):
            raw = self.raw_values(key, record)
            # str.strip() leaves "" of exactly what is_blank calls blank (done in C).
            if not any(map(str.strip, raw.values())):
                continue
            values: dict[str, Any] = {
                "event": key.event,
                "instance": key.instance,
                "ordinal": ordinal,
                "raw": raw,
                "invalid": frozenset(),
                "missing": frozenset(),
            }
            invalid: set[str] = set()
            missing: set[str] = set()
            for f in self.fields:
                if f.checkbox_codes is not None:
                    value: Any = frozenset(
                        code for code, column in f.checkbox_codes if _ticked(raw[column])
                    )
                    if any(_ticked(raw[column]) for column in f.missing_columns):
                        missing.add(f.name)
                    if not f.kept:
                        continue
                else:
                    text = raw[f.name]
                    if not text:  # what every parser calls blank: the usual case
                        if f.kept:
                            values[f.name] = None
                        continue
                    assert f.parse is not None
                    parsed = f.parse(text)
                    status = parsed.status
                    if status is ParseStatus.VALID:
                        if not f.kept:
                            continue
                        value = parsed.value == "1" if f.yes_no else parsed.value
                    else:
                        value = None
                        if status is ParseStatus.INVALID:
                            invalid.add(f.name)
                        elif status is ParseStatus.MISSING:
                            missing.add(f.name)
                        if not f.kept:
                            continue
                values[f.name] = value
            if invalid:
                values["invalid"] = frozenset(invalid)
            if missing:
                values["missing"] = frozenset(missing)
            found.append(self.model(**values))
        return found


def _ticked(raw: str) -> bool:
    return raw == "1" or raw.strip() == "1"
