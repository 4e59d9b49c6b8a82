"""Record import: from flat rows to a validated :class:`WritePlan`, REDCap style.

All rows are checked before anything is written; problems with a value are collected as
REDCap's CSV-ish lines ``"record","field","value","message"`` and returned together (HTTP 400),
problems with the request as a whole stop at the first one. Seed data goes through the same
layout checks with ``validate_values=False``: REDCap can hold values that break validation
(entered before it was added), and the demo relies on that.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from worker.sandbox.errors import ApiError, bad_request
from worker.sandbox.project import ProjectDef
from worker.sandbox.store import SlotKey, SlotWrite, Store, WritePlan
from worker.sandbox.values import check_value

EVENT, RI, INSTANCE, DAG = (
    "redcap_event_name",
    "redcap_repeat_instrument",
    "redcap_repeat_instance",
    "redcap_data_access_group",
)
PSEUDO = (EVENT, RI, INSTANCE, DAG)
IGNORED = ("redcap_survey_identifier",)
MAX_INSTANCE = 32767
NOT_REPEATING = (
    "This field cannot have a value since this instrument or event is not a repeating "
    "instrument or repeating event."
)
NO_REPEAT_INSTRUMENT = (
    "This field is located on a repeating instrument; however, no value has been provided "
    "for the field 'redcap_repeat_instrument'. Please provide the name of the repeating "
    "instrument in 'redcap_repeat_instrument'."
)
JSON_ERROR = (
    "The data being imported is not formatted correctly. PHP error from JSON decoder: {msg}. "
    "The JSON must be in an array, as in [{{ ... }}]."
)


@dataclass(frozen=True)
class ImportOptions:
    overwrite: bool = False
    date_format: str = "YMD"
    force_auto_number: bool = False
    validate_values: bool = True


@dataclass
class ImportResult:
    plan: WritePlan
    auto_ids: list[str]  # "new,sent" pairs, for returnContent=auto_ids


def as_text(value: Any) -> str:
    """PHP's string cast of a decoded JSON scalar."""
    if value is None or value is False:
        return ""
    if value is True:
        return "1"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def decode_json_rows(data: str) -> list[dict[str, str]]:
    try:
        decoded = json.loads(data)
    except ValueError:
        raise bad_request(JSON_ERROR.format(msg="Syntax error")) from None
    if not isinstance(decoded, list) or not all(isinstance(r, dict) for r in decoded):
        raise bad_request(JSON_ERROR.format(msg="not an array of objects"))
    return [{str(k): as_text(v) for k, v in row.items()} for row in decoded]


def decode_csv_rows(data: str, delimiter: str = ",") -> list[dict[str, str]]:
    reader = csv.reader(io.StringIO(data), delimiter=delimiter)
    rows = [r for r in reader if any(cell.strip() for cell in r)]
    if not rows:
        return []
    header = [h.strip() for h in rows[0]]
    return [dict(zip(header, r + [""] * (len(header) - len(r)), strict=False)) for r in rows[1:]]


def _line(record: str, field: str, value: str, message: str) -> str:
    def q(text: str) -> str:
        return '"' + text.replace('"', '""') + '"'

    return ",".join((q(record), q(field), q(value), q(message)))


class _Planner:
    def __init__(self, project: ProjectDef, store: Store, options: ImportOptions) -> None:
        self.project = project
        self.store = store
        self.options = options
        self.errors: list[str] = []
        self.seen: set[tuple[str, SlotKey]] = set()
        self.pending_new: dict[tuple[str, str, str], int] = {}
        self.explicit_max: dict[tuple[str, str, str], int] = {}
        # (event, repeat instrument, form) -> placement_error: one answer per form, not per
        # value (an import of query rows is hundreds of rows of the same form).
        self.placements: dict[tuple[str, str, str], str] = {}

    def check_columns(self, rows: Sequence[Mapping[str, str]]) -> None:
        rid = self.project.record_id_field
        names: dict[str, None] = {}
        for row in rows:
            names.update(dict.fromkeys(row))
            if rid not in row:
                raise bad_request(
                    f"The record ID field ({rid}) is missing from the data being imported. "
                    "Every row must contain it."
                )
        allowed = set(self.project.columns) | set(PSEUDO) | set(IGNORED)
        if not self.project.is_longitudinal:
            allowed.discard(EVENT)
        timestamps = {f"{form}_timestamp" for form in self.project.forms}
        unknown = [n for n in names if n not in allowed and n not in timestamps]
        if unknown:
            raise bad_request(
                "The following fields were not found in the project as real data fields: "
                + ", ".join(unknown)
            )

    def slot_for(self, row: Mapping[str, str], record: str) -> tuple[str, str, str] | None:
        """(event, repeat_instrument, instance text) of a row, or None after a line error."""
        project = self.project
        event = row.get(EVENT, "") if project.is_longitudinal else ""
        ri = row.get(RI, "")
        inst = row.get(INSTANCE, "").strip()
        if project.is_longitudinal and event not in project.event_by_name:
            msg = (
                "The value of redcap_event_name is not a valid unique event name."
                if event
                else "A value for redcap_event_name is required in a longitudinal project."
            )
            self.errors.append(_line(record, EVENT, event, msg))
            return None
        if inst == "0":
            raise bad_request(
                f"The value of redcap_repeat_instance for record {record} cannot be 0. "
                "Repeat instances begin at 1."
            )
        if event in project.repeating_events:
            if ri:
                msg = "This event repeats as a whole; redcap_repeat_instrument must be blank."
                self.errors.append(_line(record, RI, ri, msg))
                return None
            if not inst:
                raise bad_request(
                    f"The event {event} of record {record} is a repeating event, but no value "
                    "was provided for redcap_repeat_instance."
                )
        elif ri:
            if not project.is_repeating_form(event, ri):
                msg = f"{ri} is not a repeating instrument" + (
                    f" in the event {event}." if event else "."
                )
                self.errors.append(_line(record, RI, ri, msg))
                return None
            if not inst:
                msg = "A value for redcap_repeat_instance is required for a repeating instrument."
                self.errors.append(_line(record, INSTANCE, inst, msg))
                return None
        elif inst:
            self.errors.append(_line(record, INSTANCE, inst, NOT_REPEATING))
            return None
        if inst and not inst.lower().startswith("new"):
            if not inst.isdigit() or not 1 <= int(inst) <= MAX_INSTANCE:
                msg = (
                    "The value of redcap_repeat_instance must be an integer "
                    f"from 1 to {MAX_INSTANCE}."
                )
                self.errors.append(_line(record, INSTANCE, inst, msg))
                return None
            group = (record, event, ri)
            self.explicit_max[group] = max(self.explicit_max.get(group, 0), int(inst))
        return event, ri, inst

    def placement_error(self, event: str, ri: str, form: str) -> str:
        project = self.project
        if project.is_longitudinal and not project.is_designated(event, form):
            return (
                f"This field is located on the instrument '{form}', which is not designated "
                f"for the event '{event}'."
            )
        if ri and form != ri:
            return f"This field is not located on the repeating instrument '{ri}' named in the row."
        if (
            not ri
            and event not in project.repeating_events
            and project.is_repeating_form(event, form)
        ):
            return NO_REPEAT_INSTRUMENT
        return ""

    def row_values(
        self, row: Mapping[str, str], record: str, event: str, ri: str
    ) -> dict[str, str]:
        columns = self.project.columns
        values: dict[str, str] = {}
        for name, value in row.items():
            column = columns.get(name)
            if column is None or column.kind == "id":
                continue  # pseudo-columns and ignored ones were handled already
            blank = value == "" or (column.kind == "checkbox" and value == "0")
            where = (event, ri, column.form)
            if where not in self.placements:
                self.placements[where] = self.placement_error(*where)
            problem = self.placements[where]
            if problem:
                if not blank:
                    self.errors.append(_line(record, name, value, problem))
                continue  # exported rows carry blanks for every form; REDCap ignores them
            if value in self.project.missing_codes and column.kind == "value":
                pass  # REDCap accepts the project's missing data codes in any field
            elif value != "" and self.options.validate_values:
                stored, message = check_value(column, value, self.options.date_format)
                if message:
                    self.errors.append(_line(record, name, value, message))
                    continue
                if stored is None:
                    continue
                value = stored
            values[name] = value
        return values

    def plan(self, rows: Sequence[Mapping[str, str]]) -> ImportResult:
        self.check_columns(rows)
        rid = self.project.record_id_field
        staged: list[tuple[str, str, str, str, dict[str, str]]] = []
        records: dict[str, None] = {}
        dags: dict[str, str] = {}
        for row in rows:
            record = row[rid]
            if not record.strip():
                self.errors.append(_line(record, rid, record, "The record name cannot be blank."))
                continue
            dag = row.get(DAG, "")
            if dag:
                if dag in self.project.dag_names:
                    dags[record] = dag
                else:
                    msg = "The value is not a valid unique data access group name."
                    self.errors.append(_line(record, DAG, dag, msg))
            slot = self.slot_for(row, record)
            if slot is None:
                continue
            event, ri, inst = slot
            records[record] = None
            staged.append((record, event, ri, inst, self.row_values(row, record, event, ri)))
        if self.errors:
            raise ApiError(400, "\n".join(self.errors))

        names = {name: name for name in records}
        auto_ids: list[str] = []
        if self.options.force_auto_number:
            first = int(self.store.next_record_name())
            names = {name: str(first + i) for i, name in enumerate(records)}
            auto_ids = [f"{new},{sent}" for sent, new in names.items()]

        plan = WritePlan(records=list(dict.fromkeys(names.values())))
        plan.dags = {names[r]: dag for r, dag in dags.items()}
        for record, event, ri, inst, values in staged:
            key: SlotKey = (event, ri, self._instance(record, event, ri, inst))
            if (names[record], key) in self.seen:
                where = f"event {event}, " if event else ""
                raise bad_request(
                    f"Record {record} appears more than once for the same {where}repeat "
                    f"instrument and instance ({ri or '-'}, {key[2] or '-'}) in the data being "
                    "imported."
                )
            self.seen.add((names[record], key))
            plan.writes.append(SlotWrite(names[record], key, values))
        return ImportResult(plan, auto_ids)

    def _instance(self, record: str, event: str, ri: str, inst: str) -> int | None:
        if not inst:
            return None
        if not inst.lower().startswith("new"):
            return int(inst)
        group = (record, event, ri)
        start = max(self.store.max_instance(record, event, ri), self.explicit_max.get(group, 0))
        self.pending_new[group] = self.pending_new.get(group, start) + 1
        return self.pending_new[group]


def plan_import(
    project: ProjectDef,
    store: Store,
    rows: Sequence[Mapping[str, str]],
    options: ImportOptions,
) -> ImportResult:
    """Validate rows against the project (and, for ``new`` instances, the store's data).

    Call with ``store.lock`` held if the plan is to be applied: instance numbers depend on it.
    """
    return _Planner(project, store, options).plan(rows)
