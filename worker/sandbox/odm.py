"""A REDCap project XML file ("Download project XML": CDISC ODM 1.3.1 with REDCap's
``redcap:`` extensions) turned into the API exports a project folder holds, plus flat rows.

What REDCap writes, and where this reads it from:

- ``GlobalVariables``: ``StudyName`` (the title), ``redcap:RecordAutonumberingEnabled``,
  ``redcap:MissingDataCodes`` (one ``CODE, Label`` per line), ``redcap:SchedulingEnabled``...,
  ``redcap:RepeatingInstrumentsAndEvents`` (``redcap:RepeatingInstrument`` with
  ``redcap:UniqueEventName``, ``redcap:RepeatInstrument`` and ``redcap:CustomLabel``;
  ``redcap:RepeatingEvent``; a classic project names the event ``event_1_arm_1``) and
  ``redcap:DataAccessGroupsGroup``.
- ``MetaDataVersion``: ``Protocol/StudyEventRef`` (event order), ``StudyEventDef`` (events and
  arms, with ``FormRef`` for the form-event mapping; none in a classic project), ``FormDef``
  (``Name`` is the instrument label), ``ItemGroupDef``/``ItemRef`` (field order), ``ItemDef``
  (one per export column: a checkbox has one per option, ``field___code``, all with the same
  ``redcap:Variable``; each form's ``{form}_complete`` is one too, and the record ID's group may
  hold a ``redcap_data_access_group`` pseudo-item) and ``CodeList`` (choices; a checkbox's
  options are in its ``redcap:CheckboxChoices``).
- ``ClinicalData``: ``SubjectData`` (``SubjectKey`` is the record) holding ``StudyEventData``
  (``redcap:UniqueEventName``, ``StudyEventRepeatKey``) holding ``FormData``
  (``FormRepeatKey``) holding ``ItemGroupData``/``ItemData`` (``ItemOID`` is the export column,
  ``Value`` the stored value). In a classic project ``FormData`` sits in ``SubjectData``.

Namespaces are matched on their local names only: REDCap has written the ODM namespace with
both ``http://`` and ``https://``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from worker import odm_elements as odm
from worker.errors import ConfigError
from worker.odm_elements import missing_codes_text

EVENT, RI, INSTANCE, DAG = (
    "redcap_event_name",
    "redcap_repeat_instrument",
    "redcap_repeat_instance",
    "redcap_data_access_group",
)
# GlobalVariables element -> content=project key (values as REDCap's API gives them).
PROJECT_INFO_TAGS = {
    "StudyName": "project_title",
    "RecordAutonumberingEnabled": "record_autonumbering_enabled",
    "CustomRecordLabel": "custom_record_label",
    "SecondaryUniqueField": "secondary_unique_field",
    "SchedulingEnabled": "scheduling_enabled",
    "SurveysEnabled": "surveys_enabled",
    "RandomizationEnabled": "randomization_enabled",
    "DisplayTodayNowButton": "display_today_now_button",
    "Purpose": "purpose",
    "PurposeOther": "purpose_other",
    "ProjectNotes": "project_notes",
}
INT_INFO = frozenset(
    {
        "record_autonumbering_enabled",
        "scheduling_enabled",
        "surveys_enabled",
        "randomization_enabled",
        "display_today_now_button",
        "purpose",
    }
)
# ItemDef attribute -> data dictionary column (the rest are worked out below).
ITEM_ATTRIBUTES = {
    "SectionHeader": "section_header",
    "FieldType": "field_type",
    "FieldNote": "field_note",
    "TextValidationType": "text_validation_type_or_show_slider_number",
    "Identifier": "identifier",
    "BranchingLogic": "branching_logic",
    "RequiredField": "required_field",
    "CustomAlignment": "custom_alignment",
    "QuestionNumber": "question_number",
    "MatrixGroupName": "matrix_group_name",
    "MatrixRanking": "matrix_ranking",
    "FieldAnnotation": "field_annotation",
}


@dataclass(frozen=True)
class OdmProject:
    """The exports a project folder would hold (keys as ``project.FILES``) and the data."""

    exports: dict[str, Any]
    rows: list[dict[str, str]]


def _translated(element: ET.Element | None) -> str:
    """A ``Question`` or ``Decode``: REDCap's formatted (HTML) label if given, else the text."""
    if element is None:
        return ""
    formatted = odm.child(element, "FormattedTranslatedText")
    return odm.text(formatted if formatted is not None else odm.child(element, "TranslatedText"))


def _as_int(value: str, default: int = 0) -> int:
    try:
        return int(value)
    except ValueError:
        return default


def unique_group_name(name: str) -> str:
    """REDCap's unique DAG name: lower case, letters, digits and underscores."""
    return re.sub(r"[^a-z0-9_]", "", re.sub(r"\s+", "_", name.strip().lower()))


def read_odm(path: Path) -> OdmProject:
    """Parse a REDCap project XML file; anything not in its shape is a one-line ConfigError."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise ConfigError(f"{path} is not well-formed XML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    study = odm.child(root, "Study") if odm.local(root.tag) == "ODM" else None
    if study is None:
        raise ConfigError(f"{path} is not a REDCap project XML file (no ODM Study element)")
    meta = odm.child(study, "MetaDataVersion")
    if meta is None:
        raise ConfigError(f"{path}: the ODM Study has no MetaDataVersion")
    globals_ = odm.child(study, "GlobalVariables")
    globals_ = globals_ if globals_ is not None else ET.Element("GlobalVariables")
    reader = _OdmReader(path, globals_, meta)
    exports = reader.exports()
    clinical = odm.child(root, "ClinicalData")
    rows = reader.rows(clinical) if clinical is not None else []
    exports["dags"] = reader.dags(rows)
    return OdmProject(exports=exports, rows=rows)


class _OdmReader:
    def __init__(self, path: Path, globals_: ET.Element, meta: ET.Element) -> None:
        self.path = path
        self.globals = globals_
        self.meta = meta
        self.item_defs = {odm.attr(e, "OID"): e for e in odm.children(meta, "ItemDef")}
        self.group_defs = {odm.attr(e, "OID"): e for e in odm.children(meta, "ItemGroupDef")}
        self.code_lists = {odm.attr(e, "OID"): e for e in odm.children(meta, "CodeList")}
        self.form_defs = list(odm.children(meta, "FormDef"))
        self.form_oids = {odm.attr(f, "OID"): odm.attr(f, "FormName") for f in self.form_defs}
        self.record_id = odm.attr(meta, "RecordIdField")
        self.events = self._events()
        self.event_oids = {e["oid"]: e["unique_event_name"] for e in self.events}

    def fail(self, problem: str) -> ConfigError:
        return ConfigError(f"{self.path}: {problem}")

    # -- design ---------------------------------------------------------------------------

    def exports(self) -> dict[str, Any]:
        metadata, labels = self._metadata()
        info = self._info()
        longitudinal = bool(self.events)
        scheduling = bool(info.get("scheduling_enabled"))
        events: list[dict[str, Any]] = []
        arms: dict[Any, Any] = {}
        for number, event in enumerate(self.events, start=1):
            row: dict[str, Any] = {"event_name": event["event_name"], "arm_num": event["arm_num"]}
            if scheduling:
                row.update(
                    day_offset=event["day_offset"],
                    offset_min=event["offset_min"],
                    offset_max=event["offset_max"],
                )
            row.update(
                unique_event_name=event["unique_event_name"],
                custom_event_label=event["custom_event_label"],
                event_id=number,
            )
            events.append(row)
            arms.setdefault(event["arm_num"], event["arm_name"])
        mapping = [
            {"arm_num": e["arm_num"], "unique_event_name": e["unique_event_name"], "form": form}
            for e in self.events
            for form in e["forms"]
        ]
        return {
            "metadata": metadata,
            "instruments": [
                {"instrument_name": name, "instrument_label": label}
                for name, label in labels.items()
            ],
            "project": info,
            "events": events if longitudinal else None,
            "arms": [{"arm_num": n, "name": arms[n]} for n in sorted(arms)] or None,
            "mapping": mapping if longitudinal else None,
            "repeating": self._repeating(longitudinal),
        }

    def _info(self) -> dict[str, Any]:
        info: dict[str, Any] = {}
        for element in self.globals:
            key = PROJECT_INFO_TAGS.get(odm.local(element.tag))
            if key is not None:
                text = odm.text(element).strip()
                info[key] = _as_int(text) if key in INT_INFO else text
        codes = odm.child(self.globals, "MissingDataCodes")
        info["missing_data_codes"] = missing_codes_text(odm.text(codes))
        return info

    def _events(self) -> list[dict[str, Any]]:
        defs = {odm.attr(e, "OID"): e for e in odm.children(self.meta, "StudyEventDef")}
        protocol = odm.child(self.meta, "Protocol")
        order = (
            [odm.attr(ref, "StudyEventOID") for ref in odm.children(protocol, "StudyEventRef")]
            if protocol is not None
            else []
        )
        order += [oid for oid in defs if oid not in order]
        events = []
        for oid in order:
            if oid not in defs:
                raise self.fail(f"Protocol names event {oid!r}, which has no StudyEventDef")
            element = defs[oid]
            unique = odm.attr(element, "UniqueEventName")
            if not unique:
                raise self.fail(f"StudyEventDef {oid!r} has no redcap:UniqueEventName")
            arm = _as_int(odm.attr(element, "ArmNum"), 1)
            events.append(
                {
                    "oid": oid,
                    "unique_event_name": unique,
                    "event_name": odm.attr(element, "EventName") or odm.attr(element, "Name"),
                    "custom_event_label": odm.attr(element, "CustomEventLabel"),
                    "arm_num": arm,
                    "arm_name": odm.attr(element, "ArmName") or f"Arm {arm}",
                    "day_offset": _as_int(odm.attr(element, "DayOffset")),
                    "offset_min": _as_int(odm.attr(element, "OffsetMin")),
                    "offset_max": _as_int(odm.attr(element, "OffsetMax")),
                    "forms": [
                        odm.attr(ref, "FormName")
                        or self.form_oids.get(odm.attr(ref, "FormOID"), "")
                        for ref in odm.children(element, "FormRef")
                    ],
                }
            )
        return events

    def _repeating(self, longitudinal: bool) -> list[dict[str, str]] | None:
        setup = odm.child(self.globals, "RepeatingInstrumentsAndEvents")
        if setup is None:
            return None
        rows = []
        for element in setup.iter():
            kind = odm.local(element.tag)
            event = odm.attr(element, "UniqueEventName") if longitudinal else ""
            if kind == "RepeatingInstrument":
                form, label = (
                    odm.attr(element, "RepeatInstrument"),
                    odm.attr(element, "CustomLabel"),
                )
            elif kind == "RepeatingEvent":
                form, label = "", odm.attr(element, "CustomLabel")
            else:
                continue
            row = {"event_name": event} if longitudinal else {}
            rows.append({**row, "form_name": form, "custom_form_label": label})
        return rows or None

    def _metadata(self) -> tuple[list[dict[str, str]], dict[str, str]]:
        rows: list[dict[str, str]] = []
        labels: dict[str, str] = {}
        seen: set[str] = set()
        for form_def in self.form_defs:
            form = odm.attr(form_def, "FormName")
            if not form:
                raise self.fail(f"FormDef {odm.attr(form_def, 'OID')!r} has no redcap:FormName")
            labels[form] = odm.attr(form_def, "Name") or form
            for group_ref in odm.children(form_def, "ItemGroupRef"):
                group = self.group_defs.get(odm.attr(group_ref, "ItemGroupOID"))
                if group is None:
                    raise self.fail(
                        f"form {form!r} names item group "
                        f"{odm.attr(group_ref, 'ItemGroupOID')!r}, which is not defined"
                    )
                for item_ref in odm.children(group, "ItemRef"):
                    oid = odm.attr(item_ref, "ItemOID")
                    item = self.item_defs.get(oid)
                    if item is None:
                        raise self.fail(f"item {oid!r} of form {form!r} has no ItemDef")
                    variable = odm.attr(item, "Variable") or oid
                    if variable in seen or variable in (f"{form}_complete", DAG):
                        continue  # a checkbox's further options; form status; DAG pseudo-item
                    seen.add(variable)
                    rows.append(self._metadata_row(item, variable, form))
        if not rows:
            raise self.fail("the project defines no fields")
        return rows, labels

    def _metadata_row(self, item: ET.Element, variable: str, form: str) -> dict[str, str]:
        row = {"field_name": variable, "form_name": form}
        for attribute, column in ITEM_ATTRIBUTES.items():
            row[column] = odm.attr(item, attribute)
        row["field_label"] = _translated(odm.child(item, "Question"))
        ftype = row["field_type"]
        choices = ""
        if ftype == "calc":
            choices = odm.attr(item, "Calculation")
        elif ftype == "slider":
            choices = odm.attr(item, "SliderLabels")
        elif ftype == "checkbox":
            choices = " | ".join(
                p.strip() for p in odm.attr(self._code_list(item), "CheckboxChoices").split("|")
            )
        elif ftype in ("radio", "select", "dropdown", "sql"):
            code_list = (
                self._code_list(item) if odm.child(item, "CodeListRef") is not None else None
            )
            if code_list is not None:
                choices = " | ".join(
                    f"{odm.attr(c, 'CodedValue')}, {_translated(odm.child(c, 'Decode'))}"
                    for c in odm.children(code_list, "CodeListItem")
                )
        row["select_choices_or_calculations"] = choices
        for check in odm.children(item, "RangeCheck"):
            comparator = odm.attr(check, "Comparator")
            limit = {"GE": "text_validation_min", "LE": "text_validation_max"}.get(comparator)
            if limit is not None:
                row[limit] = odm.text(odm.child(check, "CheckValue")).strip()
        return row

    def _code_list(self, item: ET.Element) -> ET.Element:
        ref = odm.child(item, "CodeListRef")
        oid = odm.attr(ref, "CodeListOID") if ref is not None else ""
        if oid not in self.code_lists:
            raise self.fail(f"item {odm.attr(item, 'OID')!r} names code list {oid!r}, not defined")
        return self.code_lists[oid]

    def dags(self, rows: list[dict[str, str]]) -> list[dict[str, Any]] | None:
        dags: dict[str, dict[str, Any]] = {}
        group = odm.child(self.globals, "DataAccessGroupsGroup")
        for element in group.iter() if group is not None else ():
            name = odm.attr(element, "group_name")
            if odm.local(element.tag) == "DataAccessGroups" and name:
                unique = odm.attr(element, "unique_group_name") or unique_group_name(name)
                dags[unique] = {"data_access_group_name": name, "unique_group_name": unique}
        for row in rows:
            unique = row.get(DAG, "")
            if unique and unique not in dags:
                dags[unique] = {"data_access_group_name": unique, "unique_group_name": unique}
        return [
            {**dag, "data_access_group_id": number}
            for number, dag in enumerate(dags.values(), start=1)
        ] or None

    # -- data -----------------------------------------------------------------------------

    def rows(self, clinical: ET.Element) -> list[dict[str, str]]:
        rid = self.record_id or next(iter(self.item_defs), "")
        repeating_events = set()
        setup = odm.child(self.globals, "RepeatingInstrumentsAndEvents")
        if setup is not None:
            repeating_events = {
                odm.attr(e, "UniqueEventName")
                for e in setup.iter()
                if odm.local(e.tag) == "RepeatingEvent"
            }
        out: dict[tuple[str, str, str, str], dict[str, str]] = {}
        for subject in odm.children(clinical, "SubjectData"):
            record = odm.attr(subject, "SubjectKey")
            if not record:
                raise self.fail("a SubjectData has no SubjectKey")
            event_blocks = list(odm.children(subject, "StudyEventData"))
            blocks: list[tuple[str, str, ET.Element]] = [("", "", subject)]
            if event_blocks:
                blocks = []
                for block in event_blocks:
                    event = odm.attr(block, "UniqueEventName") or self.event_oids.get(
                        odm.attr(block, "StudyEventOID"), ""
                    )
                    if not event:
                        raise self.fail(f"record {record}: a StudyEventData names no known event")
                    key = (
                        odm.attr(block, "StudyEventRepeatKey") if event in repeating_events else ""
                    )
                    blocks.append((event, key, block))
            for event, event_instance, block in blocks:
                for form_data in odm.children(block, "FormData"):
                    form = self.form_oids.get(odm.attr(form_data, "FormOID"), "")
                    if not form:
                        raise self.fail(
                            f"record {record}: FormData names unknown form "
                            f"{odm.attr(form_data, 'FormOID')!r}"
                        )
                    ri, instance = "", event_instance
                    if not event_instance and self._repeats(event, form):
                        ri, instance = form, odm.attr(form_data, "FormRepeatKey") or "1"
                    row = out.setdefault(
                        (record, event, ri, instance),
                        self._row_start(rid, record, event, ri, instance),
                    )
                    for group in odm.children(form_data, "ItemGroupData"):
                        for item in odm.children(group, "ItemData"):
                            row[odm.attr(item, "ItemOID")] = odm.attr(item, "Value")
        dag_of = {r: row[DAG] for (r, *_), row in out.items() if row.get(DAG)}
        for (record, *_), row in out.items():
            if record in dag_of:
                row[DAG] = dag_of[record]  # REDCap exports a record's DAG on every row
        return list(out.values())

    def _repeats(self, event: str, form: str) -> bool:
        setup = odm.child(self.globals, "RepeatingInstrumentsAndEvents")
        if setup is None:
            return False
        longitudinal = bool(self.events)
        return any(
            odm.local(e.tag) == "RepeatingInstrument"
            and odm.attr(e, "RepeatInstrument") == form
            and (not longitudinal or odm.attr(e, "UniqueEventName") == event)
            for e in setup.iter()
        )

    def _row_start(self, rid: str, record: str, event: str, ri: str, inst: str) -> dict[str, str]:
        row = {rid: record}
        if self.events:
            row[EVENT] = event
        row[RI] = ri
        row[INSTANCE] = inst
        return row
