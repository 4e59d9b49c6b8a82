"""A REDCap project definition read from a folder of REDCap's own API exports.

The folder holds what ``content=metadata``, ``instrument``, ``project``, ``event``, ``arm``,
``formEventMapping`` and ``repeatingFormsEvents`` return (JSON, one file each; names below).
Only ``metadata.json`` is required: a folder without ``events.json`` is a classic project, one
without ``repeating_forms_events.json`` has no repeating setup. An optional ``dags.json`` (the
``content=dag`` export) gives the project data access groups.

Classic projects use the event name ``""`` internally, so that every other module can treat
both kinds alike.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from worker.errors import ConfigError

FILES = {
    "metadata": "metadata.json",
    "instruments": "instruments.json",
    "project": "project.json",
    "events": "events.json",
    "arms": "arms.json",
    "mapping": "form_event_mapping.json",
    "repeating": "repeating_forms_events.json",
    "dags": "dags.json",
}

# The 18 data-dictionary columns, in REDCap's export order.
METADATA_COLUMNS = (
    "field_name",
    "form_name",
    "section_header",
    "field_type",
    "field_label",
    "select_choices_or_calculations",
    "field_note",
    "text_validation_type_or_show_slider_number",
    "text_validation_min",
    "text_validation_max",
    "identifier",
    "branching_logic",
    "required_field",
    "custom_alignment",
    "question_number",
    "matrix_group_name",
    "matrix_ranking",
    "field_annotation",
)

# content=project keys, in REDCap's order; the values fill in what project.json leaves out.
PROJECT_INFO_DEFAULTS: dict[str, Any] = {
    "project_id": 1,
    "project_title": "",
    "creation_time": "",
    "production_time": "",
    "in_production": 0,
    "project_language": "English",
    "purpose": 0,
    "purpose_other": "",
    "project_notes": "",
    "custom_record_label": "",
    "secondary_unique_field": "",
    "is_longitudinal": 0,
    "has_repeating_instruments_or_events": 0,
    "surveys_enabled": 0,
    "scheduling_enabled": 0,
    "record_autonumbering_enabled": 0,
    "randomization_enabled": 0,
    "ddp_enabled": 0,
    "project_irb_number": "",
    "project_grant_number": "",
    "project_pi_firstname": "",
    "project_pi_lastname": "",
    "display_today_now_button": 1,
    "missing_data_codes": "",
    "external_modules": "",
    "bypass_branching_erase_field_prompt": 0,
}

# Field types that store codes; yes/no and true/false have fixed ones.
CODED_TYPES = frozenset({"radio", "dropdown", "checkbox", "yesno", "truefalse"})
FIXED_CHOICES = {
    "yesno": {"1": "Yes", "0": "No"},
    "truefalse": {"1": "True", "0": "False"},
}
STATUS_CHOICES = {"0": "Incomplete", "1": "Unverified", "2": "Complete"}
# Legacy validation names REDCap modernises on export.
LEGACY_VALIDATION = {
    "date": "date_ymd",
    "datetime": "datetime_ymd",
    "datetime_seconds": "datetime_seconds_ymd",
    "int": "integer",
    "float": "number",
}


def parse_choices(text: str) -> dict[str, str]:
    """``"1, Yes | 0, No"`` -> ``{"1": "Yes", "0": "No"}``: split on ``|``, then the first comma."""
    choices: dict[str, str] = {}
    for part in text.split("|"):
        code, _, label = part.strip().partition(",")
        if code.strip():
            choices[code.strip()] = label.strip()
    return choices


def checkbox_column(field_name: str, code: str) -> str:
    """REDCap's export name of one checkbox option (code ``-1`` -> ``field____1``)."""
    suffix = re.sub(r"[^a-z0-9_]", "", code.replace("-", "_").replace(".", "_").lower())
    return f"{field_name}___{suffix}"


@dataclass(frozen=True)
class Field:
    """One data-dictionary row, parsed for the sandbox's needs."""

    name: str
    form: str
    type: str
    label: str
    validation: str
    choices: dict[str, str]
    min: str
    max: str
    annotation: str

    @property
    def has_column(self) -> bool:
        """Descriptive fields hold no data and have no export column."""
        return self.type != "descriptive"


@dataclass(frozen=True)
class Column:
    """One flat export/import column that holds data (not a ``redcap_*`` pseudo-column)."""

    name: str
    form: str
    kind: str  # "id" | "value" | "checkbox" | "status"
    field: Field | None = None  # None for form status columns
    code: str = ""  # checkbox option code


@dataclass(frozen=True)
class Event:
    unique_name: str
    label: str
    arm_num: int
    event_id: int
    raw: dict[str, Any] = field(compare=False, repr=False)


@dataclass(frozen=True)
class ProjectDef:
    """Everything the sandbox knows about the project's design; immutable once loaded."""

    folder: Path
    info: dict[str, Any]
    metadata: list[dict[str, str]]
    fields: dict[str, Field]
    forms: list[str]
    form_labels: dict[str, str]
    events: list[Event]
    arms: list[dict[str, Any]]
    mapping: dict[str, list[str]]  # event -> forms designated, in form order
    repeating_forms: dict[str, frozenset[str]]  # event -> repeating instruments there
    repeating_events: frozenset[str]
    repeating_labels: dict[tuple[str, str], str]  # (event, form or "") -> custom label
    dags: list[dict[str, Any]]

    # -- derived views -------------------------------------------------------------------

    @property
    def record_id_field(self) -> str:
        return self.metadata[0]["field_name"]

    @property
    def is_longitudinal(self) -> bool:
        return bool(self.events)

    @property
    def has_repeating(self) -> bool:
        return bool(self.repeating_events) or any(self.repeating_forms.values())

    @property
    def event_names(self) -> list[str]:
        """Unique event names in order; ``[""]`` for a classic project."""
        return [e.unique_name for e in self.events] or [""]

    @cached_property
    def event_order(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.event_names)}

    @cached_property
    def form_order(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.forms)}

    @cached_property
    def event_by_name(self) -> dict[str, Event]:
        return {e.unique_name: e for e in self.events}

    @cached_property
    def form_fields(self) -> dict[str, list[Field]]:
        by_form: dict[str, list[Field]] = {form: [] for form in self.forms}
        for f in self.fields.values():
            by_form[f.form].append(f)
        return by_form

    @cached_property
    def columns(self) -> dict[str, Column]:
        """All data columns in flat-export order: fields in metadata order, checkboxes
        expanded, each form's ``{form}_complete`` right after that form's last field."""
        out: dict[str, Column] = {}
        for form in self.forms:
            for f in self.form_fields[form]:
                if not f.has_column:
                    continue
                if f.name == self.record_id_field:
                    out[f.name] = Column(f.name, form, "id", f)
                elif f.type == "checkbox":
                    # REDCap gives every checkbox one more column per missing data code,
                    # unless the field opts out with @NOMISSING.
                    extra = [] if "@NOMISSING" in f.annotation.upper() else self.missing_order
                    for code in [*f.choices, *(c for c in extra if c not in f.choices)]:
                        name = checkbox_column(f.name, code)
                        out[name] = Column(name, form, "checkbox", f, code)
                else:
                    out[f.name] = Column(f.name, form, "value", f)
            status = f"{form}_complete"
            out[status] = Column(status, form, "status")
        return out

    @cached_property
    def missing_order(self) -> list[str]:
        """The project's missing data codes in the order the project declares them."""
        return list(parse_choices(str(self.info.get("missing_data_codes", "") or "")))

    @cached_property
    def missing_codes(self) -> frozenset[str]:
        """The project's missing data codes (``"UNK, Unknown | NA, ..."`` -> UNK, NA)."""
        return frozenset(parse_choices(str(self.info.get("missing_data_codes", "") or "")))

    @cached_property
    def dag_names(self) -> dict[str, dict[str, Any]]:
        return {d["unique_group_name"]: d for d in self.dags}

    def is_designated(self, event: str, form: str) -> bool:
        return form in self.mapping.get(event, ())

    def is_repeating_form(self, event: str, form: str) -> bool:
        return form in self.repeating_forms.get(event, ())

    def arm_label(self, arm_num: int) -> str:
        for arm in self.arms:
            if int(arm["arm_num"]) == arm_num:
                return str(arm.get("name", ""))
        return ""

    def event_label(self, event: str) -> str:
        """``redcap_event_name`` in label mode; REDCap names the arm only when there are several."""
        ev = self.event_by_name[event]
        if len(self.arms) > 1:
            return f"{ev.label} (Arm {ev.arm_num}: {self.arm_label(ev.arm_num)})"
        return ev.label

    def project_info(self) -> dict[str, Any]:
        info = {key: self.info.get(key, default) for key, default in PROJECT_INFO_DEFAULTS.items()}
        # REDCap computes these two from the design; the folder's copy may be stale.
        info["is_longitudinal"] = int(self.is_longitudinal)
        info["has_repeating_instruments_or_events"] = int(self.has_repeating)
        return info


# -- loading ------------------------------------------------------------------------------


def _read_json(folder: Path, key: str, *, required: bool = False) -> Any:
    path = folder / FILES[key]
    if not path.exists():
        if required:
            raise ConfigError(f"project folder {folder} has no {FILES[key]}")
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc


def _as_list(value: Any, name: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
        raise ConfigError(f"{name} must be a JSON array of objects, as REDCap exports it")
    return value


def _normalise_metadata(rows: list[dict[str, Any]]) -> list[dict[str, str]]:
    out = []
    for row in rows:
        norm = {col: "" if row.get(col) is None else str(row.get(col)) for col in METADATA_COLUMNS}
        # Accept the Designer's internal names too, and export what REDCap's API would.
        norm["field_type"] = {"select": "dropdown", "textarea": "notes"}.get(
            norm["field_type"], norm["field_type"]
        )
        key = "text_validation_type_or_show_slider_number"
        norm[key] = LEGACY_VALIDATION.get(norm[key], norm[key])
        out.append(norm)
    return out


def _fields(metadata: list[dict[str, str]]) -> dict[str, Field]:
    fields: dict[str, Field] = {}
    for row in metadata:
        name, ftype = row["field_name"], row["field_type"]
        if not name or not row["form_name"]:
            raise ConfigError("metadata.json: every row needs field_name and form_name")
        if name in fields:
            raise ConfigError(f"metadata.json: field {name!r} is defined twice")
        if ftype in FIXED_CHOICES:
            choices = dict(FIXED_CHOICES[ftype])
        elif ftype in ("radio", "dropdown", "checkbox"):
            choices = parse_choices(row["select_choices_or_calculations"])
        else:
            choices = {}
        fields[name] = Field(
            name=name,
            form=row["form_name"],
            type=ftype,
            label=row["field_label"],
            validation=row["text_validation_type_or_show_slider_number"],
            choices=choices,
            min=row["text_validation_min"],
            max=row["text_validation_max"],
            annotation=row["field_annotation"],
        )
    return fields


def _ordered_unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def read_folder(folder: Path) -> dict[str, Any]:
    """The API exports a project folder holds, keyed like :data:`FILES` (absent ones None)."""
    if not folder.is_dir():
        raise ConfigError(f"project folder {folder} does not exist")
    return {key: _read_json(folder, key, required=key == "metadata") for key in FILES}


def load_project(path: str | Path) -> ProjectDef:
    """Read and cross-check a project folder; any inconsistency is a one-line ConfigError.

    (A project XML or data dictionary CSV file is read by :mod:`worker.sandbox.source`.)
    """
    folder = Path(path).resolve()
    return build_project(folder, read_folder(folder))


def build_project(origin: Path, exports: dict[str, Any]) -> ProjectDef:
    """A :class:`ProjectDef` from REDCap's API exports (``content=metadata``, ``event``...),
    keyed like :data:`FILES`; whatever produced them, the same cross-checks apply."""
    folder = origin
    metadata = _normalise_metadata(_as_list(exports.get("metadata"), "metadata.json"))
    if not metadata:
        raise ConfigError("metadata.json is empty: a project needs at least its record ID field")
    fields = _fields(metadata)
    forms = _ordered_unique(row["form_name"] for row in metadata)

    instruments = _as_list(exports.get("instruments"), "instruments.json")
    form_labels = {form: form.replace("_", " ").title() for form in forms}
    for row in instruments:
        name = str(row.get("instrument_name", ""))
        if name not in form_labels:
            raise ConfigError(f"instruments.json names {name!r}, which has no fields in metadata")
        form_labels[name] = str(row.get("instrument_label", name))

    info = exports.get("project") or {}
    if not isinstance(info, dict):
        raise ConfigError("project.json must be one JSON object, as REDCap exports it")

    raw_events = _as_list(exports.get("events"), "events.json")
    events = [
        Event(
            unique_name=str(e["unique_event_name"]),
            label=str(e.get("event_name", e["unique_event_name"])),
            arm_num=int(e.get("arm_num", 1)),
            event_id=int(e.get("event_id", 0) or 0),
            raw=dict(e),
        )
        for e in raw_events
    ]
    arms = _as_list(exports.get("arms"), "arms.json")
    if events and not arms:
        arms = [{"arm_num": n, "name": f"Arm {n}"} for n in sorted({e.arm_num for e in events})]

    event_names = {e.unique_name for e in events}
    mapping: dict[str, list[str]] = {}
    if events:
        for row in _as_list(exports.get("mapping"), "form_event_mapping.json"):
            event, form = str(row.get("unique_event_name", "")), str(row.get("form", ""))
            if not event and not form:
                continue  # REDCap's placeholder row for "no mappings"
            if event not in event_names or form not in form_labels:
                raise ConfigError(
                    f"form_event_mapping.json maps {form!r} to {event!r}, "
                    "which is not a known form and event"
                )
            mapping.setdefault(event, []).append(form)
        order = {f: i for i, f in enumerate(forms)}
        mapping = {ev: sorted(set(fs), key=order.__getitem__) for ev, fs in mapping.items()}
    else:
        mapping = {"": list(forms)}

    repeating_forms: dict[str, set[str]] = {}
    repeating_events: set[str] = set()
    repeating_labels: dict[tuple[str, str], str] = {}
    for row in _as_list(exports.get("repeating"), "repeating_forms_events.json"):
        event = str(row.get("event_name", "")) if events else ""
        form = str(row.get("form_name", ""))
        if events and event not in event_names:
            raise ConfigError(f"repeating_forms_events.json names unknown event {event!r}")
        if form and form not in form_labels:
            raise ConfigError(f"repeating_forms_events.json names unknown form {form!r}")
        if form and form not in mapping.get(event, ()):
            raise ConfigError(
                f"repeating_forms_events.json: form {form!r} is not designated for {event!r}"
            )
        if not form:
            if not events:
                raise ConfigError("repeating_forms_events.json: a classic row needs form_name")
            repeating_events.add(event)
        else:
            repeating_forms.setdefault(event, set()).add(form)
        repeating_labels[(event, form)] = str(row.get("custom_form_label", "") or "")
    for event in repeating_events & set(repeating_forms):
        raise ConfigError(f"event {event!r} cannot both repeat and hold repeating instruments")

    dags = _as_list(exports.get("dags"), "dags.json")
    for dag in dags:
        if "unique_group_name" not in dag:
            raise ConfigError("dags.json rows need unique_group_name, as REDCap exports them")

    return ProjectDef(
        folder=folder,
        info=info,
        metadata=metadata,
        fields=fields,
        forms=forms,
        form_labels=form_labels,
        events=events,
        arms=arms,
        mapping=mapping,
        repeating_forms={ev: frozenset(fs) for ev, fs in repeating_forms.items()},
        repeating_events=frozenset(repeating_events),
        repeating_labels=repeating_labels,
        dags=dags,
    )
