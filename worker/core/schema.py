"""A REDCap project's structure, typed: fields, forms, events and repeating setup.

Built from the API's own export shapes (``content=project``, ``metadata``, ``event``,
``formEventMapping``, ``repeatingFormsEvents``) so the same code reads a live project and
a folder of saved exports. Classic projects (no events) use ``event=None`` throughout.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict

# Field types whose values are one of a list of codes.
CHOICE_TYPES = frozenset({"radio", "dropdown", "checkbox"})
YESNO_CODES = {"1": "Yes", "0": "No"}
TRUEFALSE_CODES = {"1": "True", "0": "False"}
# Field types that hold no data of their own.
DATALESS_TYPES = frozenset({"descriptive"})
# REDCap's unique event name is the event's name, then ``_arm_N``.
_ARM_SUFFIX = re.compile(r"_arm_[0-9]+$")


def parse_choices(text: str) -> dict[str, str]:
    """``"1, Yes | 0, No"`` -> ``{"1": "Yes", "0": "No"}``; split on ``|``, then the first comma."""
    choices: dict[str, str] = {}
    for part in text.split("|"):
        part = part.strip()
        if not part:
            continue
        code, _, label = part.partition(",")
        choices[code.strip()] = label.strip()
    return choices


def parse_missing_codes(text: str) -> dict[str, str]:
    """Project info ``missing_data_codes`` (``"UNK, Unknown | NA, Not applicable"``) ->
    ``{"UNK": "Unknown", "NA": "Not applicable"}``; blank -> no codes. The same layout as
    choices, so the same reading."""
    return parse_choices(text or "")


# REDCap adds no missing-code columns to a checkbox whose annotation carries this tag.
NOMISSING_TAG = re.compile(r"@NOMISSING\b")


def checkbox_export_name(field: str, code: str) -> str:
    """REDCap's export column for one checkbox option (code ``-1`` -> ``race____1``)."""
    suffix = re.sub(r"[^a-z0-9_]", "", code.replace("-", "_").replace(".", "_").lower())
    return f"{field}___{suffix}"


class FieldDef(BaseModel):
    """One data-dictionary row, with the parts the worker uses parsed."""

    model_config = ConfigDict(frozen=True)

    name: str
    form: str
    field_type: str
    label: str = ""
    choices: dict[str, str] = {}
    validation: str | None = None
    min: str | None = None
    max: str | None = None
    required: bool = False
    branching_logic: str | None = None
    identifier: bool = False
    annotation: str = ""
    # Checkboxes only: the project's missing-data codes, each with an export column of its
    # own (``field___unk``) unless the annotation says @NOMISSING.
    missing_options: tuple[str, ...] = ()

    @classmethod
    def from_metadata_row(
        cls, row: Mapping[str, Any], missing_codes: Iterable[str] = ()
    ) -> FieldDef:
        field_type = row["field_type"]
        raw_choices = row.get("select_choices_or_calculations") or ""
        if field_type == "yesno":
            choices = dict(YESNO_CODES)
        elif field_type == "truefalse":
            choices = dict(TRUEFALSE_CODES)
        elif field_type in CHOICE_TYPES:
            choices = parse_choices(raw_choices)
        else:
            choices = {}
        validation = row.get("text_validation_type_or_show_slider_number") or None
        annotation = row.get("field_annotation") or ""
        missing_options = (
            tuple(missing_codes)
            if field_type == "checkbox" and not NOMISSING_TAG.search(annotation)
            else ()
        )
        return cls(
            name=row["field_name"],
            form=row["form_name"],
            field_type=field_type,
            label=row.get("field_label", ""),
            choices=choices,
            validation=validation if field_type == "text" else None,
            min=row.get("text_validation_min") or None,
            max=row.get("text_validation_max") or None,
            required=row.get("required_field") == "y",
            branching_logic=(row.get("branching_logic") or "").strip() or None,
            identifier=row.get("identifier") == "y",
            annotation=annotation,
            missing_options=missing_options,
        )

    @property
    def is_checkbox(self) -> bool:
        return self.field_type == "checkbox"

    @property
    def has_codes(self) -> bool:
        """Radio, dropdown, yes/no, true/false and checkbox values must be one of ``choices``."""
        return self.field_type in CHOICE_TYPES or self.field_type in ("yesno", "truefalse")

    @property
    def export_names(self) -> list[str]:
        """The flat export columns this field occupies."""
        if self.field_type in DATALESS_TYPES:
            return []
        if self.is_checkbox:
            return [
                checkbox_export_name(self.name, code)
                for code in (*self.choices, *self.missing_options)
            ]
        return [self.name]

    @property
    def missing_columns(self) -> dict[str, str]:
        """A checkbox's missing-code export columns -> their codes (``{"f___unk": "UNK"}``)."""
        return {checkbox_export_name(self.name, code): code for code in self.missing_options}


class EventDef(BaseModel):
    model_config = ConfigDict(frozen=True)

    unique_name: str
    label: str
    arm: int = 1
    event_id: int | None = None


class ProjectSchema(BaseModel):
    """Everything the worker needs to know about a project's structure."""

    model_config = ConfigDict(frozen=True)

    project_id: int | None = None
    title: str = ""
    redcap_version: str | None = None
    is_longitudinal: bool
    fields: dict[str, FieldDef]
    forms: list[str]
    form_labels: dict[str, str] = {}
    events: list[EventDef] = []
    # event unique name -> forms designated for it (classic projects: key None).
    form_events: dict[str | None, list[str]]
    repeating_events: frozenset[str] = frozenset()
    # (event or None for classic, form) pairs whose instrument repeats.
    repeating_forms: frozenset[tuple[str | None, str]] = frozenset()
    # Project info ``missing_data_codes``: code -> label. A value equal to a code is an
    # answer ("unknown"), not a blank and not an invalid value.
    missing_codes: dict[str, str] = {}

    def to_json(self) -> dict[str, Any]:
        """A JSON document that ``from_json`` turns back into an equal schema. Fields and
        events go as lists: their order means something (the first field is the record ID)
        and JSON writers may sort object keys; and JSON objects have no ``null`` key, which
        a classic project's event-less mapping uses. Choices and missing codes go as lists
        of pairs for the same reason: their order is the order of a checkbox's columns."""
        data = self.model_dump(mode="json", exclude={"fields", "form_events"})
        data["fields"] = [
            {**f.model_dump(mode="json"), "choices": list(map(list, f.choices.items()))}
            for f in self.fields.values()
        ]
        data["form_events"] = [[event, forms] for event, forms in self.form_events.items()]
        data["missing_codes"] = list(map(list, self.missing_codes.items()))
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProjectSchema:
        """The schema ``to_json`` wrote; ``ValueError`` if ``data`` is not one."""
        document = dict(data)
        try:
            # A structure saved before missing codes were read: read it again rather than
            # assume the project has none.
            if "missing_codes" not in data:
                raise KeyError("missing_codes")
            document["fields"] = {
                f["name"]: {**f, "choices": dict(f["choices"])} for f in data["fields"]
            }
            document["form_events"] = dict(data["form_events"])
            document["missing_codes"] = dict(data["missing_codes"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a saved project structure: {exc}") from None
        return cls.model_validate(document)

    @classmethod
    def from_exports(
        cls,
        *,
        project_info: Mapping[str, Any] | None,
        metadata: Iterable[Mapping[str, Any]],
        events: Iterable[Mapping[str, Any]] = (),
        form_event_mapping: Iterable[Mapping[str, Any]] = (),
        repeating: Iterable[Mapping[str, Any]] = (),
        instruments: Iterable[Mapping[str, Any]] = (),
        redcap_version: str | None = None,
    ) -> ProjectSchema:
        info = dict(project_info or {})
        missing_codes = parse_missing_codes(str(info.get("missing_data_codes") or ""))
        fields: dict[str, FieldDef] = {}
        forms: list[str] = []
        for row in metadata:
            field = FieldDef.from_metadata_row(row, missing_codes)
            fields[field.name] = field
            if field.form not in forms:
                forms.append(field.form)
        event_defs = [
            EventDef(
                unique_name=e["unique_event_name"],
                label=e.get("event_name", e["unique_event_name"]),
                arm=int(e.get("arm_num") or 1),
                event_id=e.get("event_id"),
            )
            for e in events
        ]
        longitudinal = bool(event_defs) or bool(int(info.get("is_longitudinal") or 0))
        form_events: dict[str | None, list[str]] = {}
        if longitudinal:
            for e in event_defs:
                form_events[e.unique_name] = []
            for m in form_event_mapping:
                event, form = m.get("unique_event_name") or "", m.get("form") or ""
                if event and form:  # REDCap's placeholder row for "no mappings" is all blank
                    form_events.setdefault(event, []).append(form)
            for event, designated in form_events.items():
                form_events[event] = [f for f in forms if f in designated]
        else:
            form_events[None] = list(forms)
        rep_events: set[str] = set()
        rep_forms: set[tuple[str | None, str]] = set()
        for r in repeating:
            event = r.get("event_name") or None
            form = r.get("form_name") or ""
            if form:
                rep_forms.add((event, form))
            elif event:
                rep_events.add(event)
        return cls(
            project_id=info.get("project_id"),
            title=info.get("project_title", ""),
            redcap_version=redcap_version,
            is_longitudinal=longitudinal,
            fields=fields,
            forms=forms,
            form_labels=form_labels_of(instruments),
            events=event_defs,
            form_events=form_events,
            repeating_events=frozenset(rep_events),
            repeating_forms=frozenset(rep_forms),
            missing_codes=missing_codes,
        )

    @property
    def record_id_field(self) -> str:
        """REDCap's record-ID field is the first field of the data dictionary."""
        return next(iter(self.fields))

    @cached_property
    def event_names(self) -> list[str | None]:
        return list(self.form_events)

    @cached_property
    def _event_by_name(self) -> dict[str, EventDef]:
        return {e.unique_name: e for e in self.events}

    def event(self, unique_name: str) -> EventDef | None:
        # Looked up for every query a digest lists (thousands): by name, not by a search.
        return self._event_by_name.get(unique_name)

    # --- arms and visits (a visit: a unique event name without its ``_arm_N``) ------------

    @cached_property
    def arms(self) -> list[int]:
        """The arm numbers that have events, ascending (``[]`` in a classic project)."""
        return sorted({e.arm for e in self.events})

    @staticmethod
    def visit_of(event: str) -> str:
        """The visit an event is in every arm: ``baseline_arm_2`` -> ``baseline``."""
        return _ARM_SUFFIX.sub("", event)

    @cached_property
    def _visits(self) -> dict[str, list[str]]:
        visits: dict[str, list[str]] = {}
        for e in self.events:
            visits.setdefault(self.visit_of(e.unique_name), []).append(e.unique_name)
        return visits

    @cached_property
    def _arm_by_event(self) -> dict[str, int]:
        return {e.unique_name: e.arm for e in self.events}

    def events_of_visit(self, name: str) -> list[str]:
        """The unique events a mapping or rule name stands for: a unique event name itself;
        a visit name, the visit's event in every arm that has it, in event order; nothing
        for a name that is neither."""
        if name in self._arm_by_event:
            return [name]
        return list(self._visits.get(name, ()))

    def is_visit(self, name: str) -> bool:
        """Whether ``name`` is a visit name (not itself a unique event name)."""
        return name not in self._arm_by_event and name in self._visits

    def arm_of(self, event: str | None) -> int | None:
        """The arm an event is in; None for a classic project's ``None`` or an unknown name."""
        return self._arm_by_event.get(event) if event else None

    def event_in_arm(self, name: str, arm: int | None) -> str | None:
        """The event ``name`` (an event or a visit) stands for in ``arm``, if it has one."""
        return next((e for e in self.events_of_visit(name) if self.arm_of(e) == arm), None)

    def event_label(self, event: str | None) -> str:
        """What people call an event ("Month 2 follow-up"); its unique name if unknown."""
        found = self.event(event) if event else None
        return found.label if found else (event or "")

    def form_label(self, form: str | None) -> str:
        """What people call a form ("Enrollment"); its name if the label is unknown."""
        return self.form_labels.get(form or "", form or "")

    def fields_of_form(self, form: str) -> list[FieldDef]:
        return [f for f in self.fields.values() if f.form == form]

    def forms_of_event(self, event: str | None) -> list[str]:
        return self.form_events.get(event, [])

    def is_repeating_event(self, event: str | None) -> bool:
        return event is not None and event in self.repeating_events

    def is_repeating_form(self, event: str | None, form: str) -> bool:
        return (event, form) in self.repeating_forms

    @cached_property
    def export_columns(self) -> dict[str, str]:
        """Every flat export data column (checkboxes expanded, ``*_complete`` after each form),
        in REDCap's order, mapped to its field (or form, for a status column)."""
        columns: dict[str, str] = {}
        for form in self.forms:
            for field in self.fields_of_form(form):
                for column in field.export_names:
                    columns[column] = field.name
            columns[f"{form}_complete"] = form
        return columns


def form_labels_of(instruments: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Form name -> display label, from REDCap's instrument export."""
    return {i["instrument_name"]: i["instrument_label"] for i in instruments}
