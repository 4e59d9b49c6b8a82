"""Flat record export: which rows and columns REDCap returns, and what each cell holds.

Layout (docs/redcap-api-behaviour.md §2.10): ``<record id>``, ``redcap_event_name`` (longitudinal),
``redcap_repeat_instrument`` and ``redcap_repeat_instance`` (any repeating setup),
``redcap_data_access_group`` (asked for, and the project has DAGs), then the data columns in
metadata order with checkboxes expanded and each form's ``{form}_complete`` after it. One row per
stored slot. A cell is ``""`` when its form cannot hold data in that row (not designated for the
event, another form's repeating row, a repeating form on a base row); otherwise the stored
value, or the default for a form never saved there: ``"0"`` for checkboxes and form status
(``""`` with exportBlankForGrayFormStatus), ``""`` for the rest.

An export of the record-ID field alone (``fields=[record_id]``, no forms) returns only rows
outside repeating instruments and events: whether REDCap returns a row for a record whose
only data are repeating is not settled, so the sandbox takes the conservative answer, and a
record holding nothing else is missing from such an export.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from worker.sandbox.errors import bad_request
from worker.sandbox.project import STATUS_CHOICES, Column, ProjectDef, parse_choices
from worker.sandbox.store import SlotKey, Store, natural_key

EVENT, RI, INSTANCE, DAG = (
    "redcap_event_name",
    "redcap_repeat_instrument",
    "redcap_repeat_instance",
    "redcap_data_access_group",
)
PSEUDO_HEADER_LABELS = {
    EVENT: "Event Name",
    RI: "Repeat Instrument",
    INSTANCE: "Repeat Instance",
    DAG: "Data Access Group",
}


@dataclass(frozen=True)
class ExportOptions:
    records: Sequence[str] | None = None
    fields: Sequence[str] | None = None
    forms: Sequence[str] | None = None
    events: Sequence[str] | None = None
    raw_or_label: str = "raw"
    checkbox_labels: bool = False
    export_dags: bool = False
    blank_for_gray: bool = False
    decimal_character: str = ""
    date_begin: datetime | None = None
    date_end: datetime | None = None


def _invalid(param: str, names: Sequence[str]) -> None:
    if names:
        quoted = ", ".join(f"'{n}'" for n in names)
        raise bad_request(
            f'The following values in the parameter "{param}" are not valid: {quoted}'
        )


def validate_filters(project: ProjectDef, options: ExportOptions) -> None:
    """REDCap's 400s for unknown names in fields, forms and events."""
    statuses = {f"{form}_complete" for form in project.forms}
    _invalid(
        "fields",
        [n for n in options.fields or () if n not in project.fields and n not in statuses],
    )
    _invalid("forms", [n for n in options.forms or () if n not in project.form_order])
    _invalid("events", [n for n in options.events or () if n not in project.event_by_name])


def data_columns(project: ProjectDef, options: ExportOptions) -> list[str]:
    """Selected data columns in export order; fields and forms combine with OR."""
    if not options.fields and not options.forms:
        return list(project.columns)
    fields, forms = set(options.fields or ()), set(options.forms or ())
    chosen = []
    for name, column in project.columns.items():
        owner = column.field.name if column.field else name  # checkbox options share one field
        if column.form in forms or owner in fields:
            chosen.append(name)
    return chosen


def header_columns(project: ProjectDef, options: ExportOptions, data: Sequence[str]) -> list[str]:
    rid = project.record_id_field
    if rid not in data:
        return list(data)  # REDCap adds the pseudo-columns only alongside the record ID
    pseudo = []
    if project.is_longitudinal:
        pseudo.append(EVENT)
    if project.has_repeating:
        pseudo += [RI, INSTANCE]
    if options.export_dags and project.dags:
        pseudo.append(DAG)
    return [rid, *pseudo, *[c for c in data if c != rid]]


def form_holds_data(project: ProjectDef, event: str, ri: str, form: str) -> bool:
    """Whether ``form`` can hold data in the slot of ``event`` and repeat instrument ``ri``:
    designated for the event, and the row's own repeating form (or, on a base row, a form
    that does not repeat there; on a repeating event, every form of the event)."""
    if not project.is_designated(event, form):
        return False
    if ri:
        return form == ri
    return event in project.repeating_events or not project.is_repeating_form(event, form)


class _Layout:
    """Per-slot-kind templates, so building a row is one pass over the selected columns."""

    def __init__(self, project: ProjectDef, data: Sequence[str], options: ExportOptions) -> None:
        self.project = project
        self.data = [c for c in data if c != project.record_id_field]
        self.options = options
        self.filtered = bool(options.fields or options.forms)
        self._templates: dict[tuple[str, str, bool], list[tuple[str, str | None]]] = {}
        self._live: dict[tuple[str, str, bool], bool] = {}

    def template(self, key: SlotKey) -> list[tuple[str, str | None]]:
        """(column, default) pairs; default None means the cell is always blank here."""
        event, ri, inst = key
        kind = (event, ri, inst is not None)
        if kind not in self._templates:
            status_default = "" if self.options.blank_for_gray else "0"
            defaults = {"value": "", "checkbox": "0", "status": status_default}
            out: list[tuple[str, str | None]] = []
            # Only the record ID asked for: REDCap may leave out rows whose data are all in
            # repeating instruments or events; modelled as the conservative case, never them.
            live = not self.filtered or (not self.data and inst is None)
            for name in self.data:
                column = self.project.columns[name]
                if form_holds_data(self.project, event, ri, column.form):
                    out.append((name, defaults[column.kind]))
                    live = True
                else:
                    out.append((name, None))
            self._templates[kind] = out
            self._live[kind] = live
        return self._templates[kind]

    def emits(self, key: SlotKey) -> bool:
        """With fields/forms asked for, a row none of whose selected forms apply is left out."""
        self.template(key)
        return self._live[(key[0], key[1], key[2] is not None)]


def _label_maps(project: ProjectDef, checkbox_labels: bool) -> dict[str, dict[str, str]]:
    maps: dict[str, dict[str, str]] = {}
    for name, column in project.columns.items():
        if column.kind == "status":
            maps[name] = STATUS_CHOICES
        elif column.kind == "checkbox" and column.field is not None:
            label = option_label(project, column)
            maps[name] = (
                {"1": label, "0": ""}
                if checkbox_labels
                else {
                    "1": "Checked",
                    "0": "Unchecked",
                }
            )
        elif column.kind == "value" and column.field is not None and column.field.choices:
            maps[name] = column.field.choices
    return maps


def _decimal_columns(project: ProjectDef, character: str) -> set[str]:
    out = set()
    for name, column in project.columns.items():
        f = column.field
        if f is None:
            continue
        comma = f.validation.endswith("comma_decimal")
        dotted = f.type == "calc" or (f.validation.startswith("number") and not comma)
        if (character == "," and dotted) or (character == "." and comma):
            out.add(name)
    return out


def slot_order(project: ProjectDef, key: SlotKey) -> tuple[int, int, int, int]:
    """Base rows of each event first (event order), then repeating rows by event, form, instance."""
    event, ri, inst = key
    return (
        0 if inst is None else 1,
        project.event_order.get(event, 0),
        project.form_order[ri] if ri else -1,
        inst or 0,
    )


def build_rows(
    project: ProjectDef, store: Store, options: ExportOptions
) -> tuple[list[str], list[dict[str, Any]]]:
    """The export's columns and rows. Hold ``store.lock`` or accept a moving target."""
    data = data_columns(project, options)
    columns = header_columns(project, options, data)
    layout = _Layout(project, data, options)
    rid = project.record_id_field
    with_id = rid in data
    labels = options.raw_or_label == "label"
    label_maps = _label_maps(project, options.checkbox_labels) if labels else {}
    decimals = _decimal_columns(project, options.decimal_character)
    events = set(options.events) if options.events else None
    dags = project.dag_names
    wanted = set(options.records) if options.records is not None else None

    rows: list[dict[str, Any]] = []
    with store.lock:
        if wanted is None:
            names = store.record_names()
        else:  # a batch of a large project: sort only what was asked for
            names = sorted((n for n in wanted if n in store), key=natural_key)
        for record in names:
            if (options.date_begin or options.date_end) and not store.changed_between(
                record, options.date_begin, options.date_end
            ):
                continue
            rec = store.records[record]
            for key in sorted(rec.slots, key=lambda k: slot_order(project, k)):
                event, ri, inst = key
                if events is not None and event not in events:
                    continue
                if not layout.emits(key):
                    continue
                slot = rec.slots[key]
                row: dict[str, Any] = {}
                if with_id:
                    row[rid] = record
                    if project.is_longitudinal:
                        row[EVENT] = project.event_label(event) if labels else event
                    if project.has_repeating:
                        row[RI] = (project.form_labels[ri] if labels else ri) if ri else ""
                        row[INSTANCE] = inst if inst is not None else ""
                    if options.export_dags and project.dags:
                        dag = rec.dag
                        row[DAG] = (
                            dags[dag].get("data_access_group_name", dag)
                            if labels and dag in dags
                            else dag
                        )
                for name, default in layout.template(key):
                    row[name] = "" if default is None else slot.get(name, default)
                if label_maps:
                    for name in label_maps.keys() & row.keys():
                        value = row[name]
                        if value != "":
                            row[name] = label_maps[name].get(value, value)
                if decimals:
                    for name in decimals & row.keys():
                        row[name] = _swap_decimal(row[name], options.decimal_character)
                rows.append(row)
    return columns, rows


def _swap_decimal(value: str, character: str) -> str:
    return value.replace(".", ",") if character == "," else value.replace(",", ".")


def header_labels(project: ProjectDef, columns: Sequence[str]) -> list[str]:
    """CSV headers for rawOrLabelHeaders=label: field labels, option labels for checkboxes."""
    out = []
    for name in columns:
        column = project.columns.get(name)
        if column is None:
            out.append(PSEUDO_HEADER_LABELS.get(name, name))
        elif column.kind == "status":
            out.append("Complete?")
        elif column.kind == "checkbox" and column.field is not None:
            out.append(f"{column.field.label} (choice={option_label(project, column)})")
        else:
            assert column.field is not None
            out.append(column.field.label)
    return out


def option_label(project: ProjectDef, column: Column) -> str:
    """A checkbox column's option label; a missing-data-code column's code label."""
    assert column.field is not None
    label = column.field.choices.get(column.code)
    if label is None:
        label = parse_choices(str(project.info.get("missing_data_codes", "") or "")).get(
            column.code, column.code
        )
    return label


def returned_records(rows: Sequence[dict[str, Any]], project: ProjectDef) -> list[str]:
    rid = project.record_id_field
    return list(dict.fromkeys(str(r[rid]) for r in rows if rid in r))
