"""``content=project_xml``: the project written as REDCap's project XML (CDISC ODM 1.3.1 with
REDCap's ``redcap:`` extensions), the file :mod:`worker.sandbox.odm` reads.

The layout follows what REDCap writes (see that module's docstring for where each fact
lives): the ``ODM`` header; ``GlobalVariables`` with the project attributes in REDCap's
order, the missing data codes one ``CODE, Label`` per line, the repeating setup (a classic
project's event is ``event_1_arm_1``) and the data access groups; ``MetaDataVersion`` with
``Protocol``/``StudyEventDef`` (longitudinal projects only), ``FormDef``, ``ItemGroupDef``
(a group starts at each form's first field and at each section header; each form's status
is a group of its own), ``ItemDef`` (checkbox options as ``field___code``, REDCap's internal
names: ``select``, ``textarea``, ``int``, ``float``) and ``CodeList``; then, unless only the
metadata were asked for, ``ClinicalData`` from flat export rows.

Text is escaped as REDCap's ``htmlspecialchars`` does (``'`` as ``&#039;`` in element text).
Line breaks and tabs inside attribute values are written as character references, so that a
parser gives back the value as stored (a literal line break in an attribute reads as a
space); that is the sandbox's choice, REDCap's own bytes there are not pinned down.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from worker.sandbox.export import DAG, EVENT, INSTANCE, RI, form_holds_data
from worker.sandbox.project import STATUS_CHOICES, Field, ProjectDef, checkbox_column

HEADER = (
    '<?xml version="1.0" encoding="UTF-8" ?>\n'
    '<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" xmlns:ds="http://www.w3.org/2000/09/xmldsig#"'
    ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    ' xmlns:redcap="https://projectredcap.org"'
    ' xsi:schemaLocation="http://www.cdisc.org/ns/odm/v1.3 schema/odm/ODM1-3-1.xsd"'
    ' ODMVersion="1.3.1" FileOID="000-00-0000" FileType="Snapshot"'
)
CLASSIC_EVENT = "event_1_arm_1"  # what REDCap calls a classic project's one event
# GlobalVariables after ProtocolName, in REDCap's order: (element, content=project key, default).
# Keys the sandbox's project info does not hold take REDCap's defaults for a new project.
GLOBAL_ATTRIBUTES: tuple[tuple[str, str, str], ...] = (
    ("RecordAutonumberingEnabled", "record_autonumbering_enabled", "0"),
    ("CustomRecordLabel", "custom_record_label", ""),
    ("SecondaryUniqueField", "secondary_unique_field", ""),
    ("SchedulingEnabled", "scheduling_enabled", "0"),
    ("SurveysEnabled", "surveys_enabled", "0"),
    ("SurveyInvitationEmailField", "survey_invitation_email_field", ""),
    ("RandomizationEnabled", "randomization_enabled", "0"),
    ("DisplayTodayNowButton", "display_today_now_button", "1"),
    ("PreventBranchingEraseValues", "prevent_branching_erase_values", "0"),
    ("RequireChangeReason", "require_change_reason", "0"),
    ("DataHistoryPopup", "data_history_popup", "1"),
    ("OrderRecordsByField", "order_records_by_field", ""),
    ("DataResolutionWorkflowEnabled", "", ""),  # from the sandbox's DRW switch
    ("Purpose", "purpose", "0"),
    ("PurposeOther", "purpose_other", ""),
    ("ProjectNotes", "project_notes", ""),
    ("MissingDataCodes", "missing_data_codes", ""),
    ("ProtectedEmailMode", "protected_email_mode", "0"),
    ("ProtectedEmailModeCustomText", "protected_email_mode_custom_text", ""),
    ("ProtectedEmailModeTrigger", "protected_email_mode_trigger", "ALL"),
    ("ProtectedEmailModeLogo", "protected_email_mode_logo", ""),
)
# ItemDef attributes from data dictionary columns, in REDCap's order (after FieldType and the
# calculation or slider labels, which depend on the type).
ITEM_ATTRIBUTES = (
    ("TextValidationType", "text_validation_type_or_show_slider_number"),
    ("FieldNote", "field_note"),
    ("SectionHeader", "section_header"),
    ("Identifier", "identifier"),
    ("BranchingLogic", "branching_logic"),
    ("RequiredField", "required_field"),
    ("CustomAlignment", "custom_alignment"),
    ("QuestionNumber", "question_number"),
    ("MatrixGroupName", "matrix_group_name"),
    ("MatrixRanking", "matrix_ranking"),
    ("FieldAnnotation", "field_annotation"),
)
# The API's names -> the names REDCap stores (and writes in project XML).
INTERNAL_TYPES = {"dropdown": "select", "notes": "textarea"}
INTERNAL_VALIDATION = {"integer": "int", "number": "float"}
BOOLEAN_TYPES = frozenset({"yesno", "truefalse", "checkbox"})
STATUS_GROUP = "Form Status"

_TEXT_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#039;", "\r": "&#13;"}
)
_ATTR_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;",
     "\t": "&#9;"}
)  # fmt: skip


def text(value: Any) -> str:
    """Element text as REDCap escapes it."""
    return str(value).translate(_TEXT_ESCAPES)


def attr(value: Any) -> str:
    """An attribute value, line breaks kept (see the module docstring)."""
    return str(value).translate(_ATTR_ESCAPES)


def _attrs(pairs: Iterable[tuple[str, Any]]) -> str:
    return "".join(f' {name}="{attr(value)}"' for name, value in pairs)


def study_oid(title: str) -> str:
    """The OID REDCap derives from the project title: each word's letters and digits, its
    first letter upper-cased (``"genAdipositas - ALT Demo"`` -> ``GenAdipositasALTDemo``)."""
    words = (re.sub(r"[^A-Za-z0-9]", "", word) for word in title.split())
    return "".join(w[:1].upper() + w[1:] for w in words if w) or "Project"


def has_markup(label: str) -> bool:
    """REDCap adds a formatted (HTML) copy of a label only when it holds a tag."""
    return "<" in label and ">" in label


def plain_text(label: str) -> str:
    """A label without its tags (line breaks for ``<br>``), REDCap's ``TranslatedText``."""
    if not has_markup(label):
        return label
    return re.sub(r"<[^>]*>", "", re.sub(r"<br\s*/?>", "\n", label, flags=re.IGNORECASE))


def _translated(label: str) -> str:
    plain = f"<TranslatedText>{text(plain_text(label))}</TranslatedText>"
    if not has_markup(label):
        return plain
    return f"{plain}<redcap:FormattedTranslatedText>{text(label)}</redcap:FormattedTranslatedText>"


def missing_codes_lines(api_text: str) -> str:
    """``"UNK, Unknown | NA, Not applicable"`` -> one ``CODE, Label`` per line, as stored."""
    return "\n".join(part.strip() for part in api_text.split("|") if part.strip())


@dataclass(frozen=True)
class ItemGroup:
    """One ``ItemGroupDef``: ``items`` are (item OID, field), the field None for form status."""

    oid: str
    name: str
    items: tuple[tuple[str, Field | None], ...]


def item_groups(project: ProjectDef, form: str) -> list[ItemGroup]:
    """A form's item groups: one from its first field and from each section header on, then
    its status. Descriptive fields are items too; a checkbox is one item per option."""
    headers = {row["field_name"]: row["section_header"] for row in project.metadata}
    groups: list[ItemGroup] = []
    items: list[tuple[str, Field | None]] = []
    name = ""
    for f in project.form_fields[form]:
        header = headers[f.name]
        if header or not items:
            if items:
                groups.append(ItemGroup(f"{form}.{items[0][0]}", name, tuple(items)))
            name, items = header or project.form_labels[form], []
        if f.type == "checkbox":
            items.extend((checkbox_column(f.name, code), f) for code in f.choices)
        else:
            items.append((f.name, f))
    if items:
        groups.append(ItemGroup(f"{form}.{items[0][0]}", name, tuple(items)))
    status = f"{form}_complete"
    groups.append(ItemGroup(f"{form}.{status}", STATUS_GROUP, ((status, None),)))
    return groups


def _data_type(f: Field) -> tuple[str, str, str]:
    """ODM ``DataType``, ``Length`` and ``SignificantDigits`` for a field."""
    if f.type in BOOLEAN_TYPES:
        return "boolean", "1", ""
    if f.type in ("radio", "dropdown"):
        return "text", str(max((len(code) for code in f.choices), default=1)), ""
    if f.type == "calc":
        return "float", "999", ""
    if f.type == "slider":
        return "integer", "999", ""
    if f.type != "text":
        return "text", "999", ""
    v = f.validation
    places = re.fullmatch(r"number_(\d)dp(_comma_decimal)?", v)
    if places:
        return "float", "999", places.group(1)
    if v in ("integer", "int"):
        return "integer", "999", ""
    if v.startswith("number") or v == "float":
        return "float", "999", ""
    if v.startswith("datetime_seconds"):
        return "datetime", "999", ""
    if v.startswith("datetime"):
        return "partialDatetime", "999", ""
    if v.startswith("date"):
        return "date", "999", ""
    if v == "time":
        return "partialTime", "999", ""
    if v == "time_hh_mm_ss":
        return "time", "999", ""
    return "text", "999", ""


class _Writer:
    def __init__(
        self,
        project: ProjectDef,
        *,
        version: str,
        now: datetime,
        drw_enabled: bool,
        with_dags: bool,
    ) -> None:
        self.project = project
        self.version = version
        self.now = now
        self.drw_enabled = drw_enabled
        self.with_dags = with_dags and bool(project.dags)
        self.title = str(project.info.get("project_title", "") or "")
        self.oid = study_oid(self.title)
        self.metadata_oid = f"Metadata.{self.oid}_{now:%Y-%m-%d_%H%M}"
        self.groups = {form: item_groups(project, form) for form in project.forms}
        self.dictionary = {row["field_name"]: row for row in project.metadata}
        self.options_of = {
            f.name: {checkbox_column(f.name, code) for code in f.choices}
            for f in project.fields.values()
            if f.type == "checkbox"
        }
        self.field_columns: dict[str, list[str]] = {}
        for name, column in project.columns.items():
            if column.field is not None:
                self.field_columns.setdefault(column.field.name, []).append(name)
        self.out: list[str] = []

    def line(self, depth: int, content: str) -> None:
        self.out.append("\t" * depth + content)

    # -- Study ------------------------------------------------------------------------------

    def header(self) -> None:
        stamp = f"{self.now:%Y-%m-%dT%H:%M:%S}"
        self.out.append(
            HEADER
            + _attrs(
                (
                    ("Description", self.title),
                    ("AsOfDateTime", stamp),
                    ("CreationDateTime", stamp),
                    ("SourceSystem", "REDCap"),
                    ("SourceSystemVersion", self.version),
                )
            )
            + ">"
        )
        self.out.append(f'<Study OID="Project.{attr(self.oid)}">')

    def global_variables(self) -> None:
        project, title = self.project, text(self.title)
        self.out.append("<GlobalVariables>")
        self.line(1, f"<StudyName>{title}</StudyName>")
        self.line(
            1,
            "<StudyDescription>This file contains the metadata, events, and data for REDCap "
            f'project "{title}".</StudyDescription>',
        )
        self.line(1, f"<ProtocolName>{title}</ProtocolName>")
        info = project.project_info()
        for element, key, default in GLOBAL_ATTRIBUTES:
            if element == "DataResolutionWorkflowEnabled":
                value = "2" if self.drw_enabled else "0"  # 2: the Data Resolution Workflow
            elif element == "MissingDataCodes":
                value = missing_codes_lines(str(info.get(key) or ""))
            else:
                stored = info.get(key, project.info.get(key))
                value = default if stored is None else str(stored)
            self.line(1, f"<redcap:{element}>{text(value)}</redcap:{element}>")
        self.repeating_setup()
        if project.dags:
            self.line(1, "<redcap:DataAccessGroupsGroup>")
            for dag in project.dags:
                name = dag.get("data_access_group_name") or dag["unique_group_name"]
                self.line(2, f'<redcap:DataAccessGroups group_name="{attr(name)}"/>')
            self.line(1, "</redcap:DataAccessGroupsGroup>")
        self.out.append("</GlobalVariables>")

    def repeating_setup(self) -> None:
        project = self.project
        if not project.has_repeating:
            return
        self.line(1, "<redcap:RepeatingInstrumentsAndEvents>")
        for event in project.event_names:
            name = event or CLASSIC_EVENT
            if event in project.repeating_events:
                label = project.repeating_labels.get((event, ""), "")
                extra = f' redcap:CustomLabel="{attr(label)}"' if label else ""
                self.line(
                    2, f'<redcap:RepeatingEvent redcap:UniqueEventName="{attr(name)}"{extra}/>'
                )
            forms = sorted(
                project.repeating_forms.get(event, ()), key=project.form_order.__getitem__
            )
            if not forms:
                continue
            self.line(2, "<redcap:RepeatingInstruments>")
            for form in forms:
                label = project.repeating_labels.get((event, form), "")
                self.line(
                    3,
                    "<redcap:RepeatingInstrument"
                    + _attrs(
                        (
                            ("redcap:UniqueEventName", name),
                            ("redcap:RepeatInstrument", form),
                            ("redcap:CustomLabel", label),
                        )
                    )
                    + "/>",
                )
            self.line(2, "</redcap:RepeatingInstruments>")
        self.line(1, "</redcap:RepeatingInstrumentsAndEvents>")

    # -- MetaDataVersion ----------------------------------------------------------------------

    def metadata_version(self) -> None:
        project = self.project
        self.out.append(
            f'<MetaDataVersion OID="{attr(self.metadata_oid)}" Name="{attr(self.title)}"'
            f' redcap:RecordIdField="{attr(project.record_id_field)}">'
        )
        if project.is_longitudinal:
            self.line(1, "<Protocol>")
            for number, event in enumerate(project.events, start=1):
                self.line(
                    2,
                    f'<StudyEventRef StudyEventOID="Event.{attr(event.unique_name)}"'
                    f' OrderNumber="{number}" Mandatory="No"/>',
                )
            self.line(1, "</Protocol>")
            for event in project.events:
                self.study_event_def(event.unique_name)
        for form in project.forms:
            self.line(
                1,
                f'<FormDef OID="Form.{attr(form)}" Name="{attr(project.form_labels[form])}"'
                f' Repeating="No" redcap:FormName="{attr(form)}">',
            )
            for group in self.groups[form]:
                self.line(2, f'<ItemGroupRef ItemGroupOID="{attr(group.oid)}" Mandatory="No"/>')
            self.line(1, "</FormDef>")
        first_group = True
        for form in project.forms:
            for group in self.groups[form]:
                self.line(
                    1,
                    f'<ItemGroupDef OID="{attr(group.oid)}" Name="{attr(group.name)}"'
                    ' Repeating="No">',
                )
                for oid, f in group.items:
                    required = f is not None and self.dictionary[f.name]["required_field"]
                    variable = f.name if f is not None else oid
                    self.line(
                        2,
                        f'<ItemRef ItemOID="{attr(oid)}"'
                        f' Mandatory="{"Yes" if required == "y" else "No"}"'
                        f' redcap:Variable="{attr(variable)}"/>',
                    )
                    if first_group and self.with_dags and variable == project.record_id_field:
                        self.line(
                            2,
                            f'<ItemRef ItemOID="{DAG}" Mandatory="No" redcap:Variable="{DAG}"/>',
                        )
                first_group = False
                self.line(1, "</ItemGroupDef>")
        for form in project.forms:
            for group in self.groups[form]:
                for oid, f in group.items:
                    self.item_def(oid, f)
        for form in project.forms:
            for group in self.groups[form]:
                for oid, f in group.items:
                    self.code_list(oid, f)
        self.out.append("</MetaDataVersion>")

    def study_event_def(self, unique: str) -> None:
        project = self.project
        event = project.event_by_name[unique]
        raw = event.raw
        self.line(
            1,
            "<StudyEventDef"
            + _attrs(
                (
                    ("OID", f"Event.{unique}"),
                    ("Name", project.event_label(unique)),
                    ("Type", "Common"),
                    ("Repeating", "No"),
                    ("redcap:EventName", event.label),
                    ("redcap:CustomEventLabel", raw.get("custom_event_label") or ""),
                    ("redcap:UniqueEventName", unique),
                    ("redcap:ArmNum", event.arm_num),
                    ("redcap:ArmName", project.arm_label(event.arm_num)),
                    ("redcap:DayOffset", raw.get("day_offset", 0)),
                    ("redcap:OffsetMin", raw.get("offset_min", 0)),
                    ("redcap:OffsetMax", raw.get("offset_max", 0)),
                )
            )
            + ">",
        )
        for number, form in enumerate(project.mapping.get(unique, ()), start=1):
            self.line(
                2,
                f'<FormRef FormOID="Form.{attr(form)}" OrderNumber="{number}" Mandatory="No"'
                f' redcap:FormName="{attr(form)}"/>',
            )
        self.line(1, "</StudyEventDef>")

    def item_def(self, oid: str, f: Field | None) -> None:
        if f is None:  # the form's status
            self.line(
                1,
                f'<ItemDef OID="{attr(oid)}" Name="{attr(oid)}" DataType="text" Length="1"'
                f' redcap:Variable="{attr(oid)}" redcap:FieldType="select"'
                f' redcap:SectionHeader="{STATUS_GROUP}">',
            )
            self.line(2, "<Question><TranslatedText>Complete?</TranslatedText></Question>")
            self.line(2, f'<CodeListRef CodeListOID="{attr(oid)}.choices"/>')
            self.line(1, "</ItemDef>")
            return
        row = self.dictionary[f.name]
        data_type, length, digits = _data_type(f)
        pairs: list[tuple[str, Any]] = [
            ("OID", oid),
            ("Name", oid),
            ("DataType", data_type),
            ("Length", length),
        ]
        if digits:
            pairs.append(("SignificantDigits", digits))
        pairs += [
            ("redcap:Variable", f.name),
            ("redcap:FieldType", INTERNAL_TYPES.get(f.type, f.type)),
        ]
        choices = row["select_choices_or_calculations"]
        if f.type == "calc" and choices:
            pairs.append(("redcap:Calculation", choices))
        elif f.type == "slider" and choices:
            pairs.append(("redcap:SliderLabels", choices))
        for name, column in ITEM_ATTRIBUTES:
            value = row[column]
            if column == "text_validation_type_or_show_slider_number":
                value = INTERNAL_VALIDATION.get(value, value)
            if value:
                pairs.append((f"redcap:{name}", value))
        self.line(1, "<ItemDef" + _attrs(pairs) + ">")
        self.line(2, f"<Question>{_translated(row['field_label'])}</Question>")
        if f.choices and f.type != "sql":
            self.line(2, f'<CodeListRef CodeListOID="{attr(oid)}.choices"/>')
        low, high = row["text_validation_min"], row["text_validation_max"]
        for comparator, limit in (("GE", low), ("LE", high)):
            if limit:
                self.range_check(comparator, limit, low, high)
        if oid == self.project.record_id_field and self.with_dags:
            self.line(1, "</ItemDef>")
            self.line(
                1,
                f'<ItemDef OID="{DAG}" Name="{DAG}" DataType="text" Length="999"'
                f' redcap:Variable="{DAG}">',
            )
            self.line(2, "<Question><TranslatedText>Data Access Group</TranslatedText></Question>")
        self.line(1, "</ItemDef>")

    def range_check(self, comparator: str, limit: str, low: str, high: str) -> None:
        span = f"({low or 'no limit'} - {high or 'no limit'})"
        self.line(2, f'<RangeCheck Comparator="{comparator}" SoftHard="Soft">')
        self.line(3, f"<CheckValue>{text(limit)}</CheckValue>")
        self.line(
            3,
            "<ErrorMessage><TranslatedText>The value you provided is outside the suggested "
            f"range {text(span)}. This value is admissible, but you may wish to double check "
            "it.</TranslatedText></ErrorMessage>",
        )
        self.line(2, "</RangeCheck>")

    def code_list(self, oid: str, f: Field | None) -> None:
        extra: tuple[tuple[str, str], ...] = ()
        if f is None:
            choices, data_type, variable = STATUS_CHOICES, "text", oid
        elif not f.choices or f.type == "sql":
            return
        elif f.type == "checkbox":
            options = "|".join(f"{code}, {label}" for code, label in f.choices.items())
            choices, data_type, variable = {"1": "Checked", "0": "Unchecked"}, "boolean", f.name
            extra = (("redcap:CheckboxChoices", options),)
        else:
            data_type = "boolean" if f.type in BOOLEAN_TYPES else "text"
            choices, variable = f.choices, f.name
        self.line(
            1,
            "<CodeList"
            + _attrs(
                (
                    ("OID", f"{oid}.choices"),
                    ("Name", oid),
                    ("DataType", data_type),
                    ("redcap:Variable", variable),
                    *extra,
                )
            )
            + ">",
        )
        for code, label in choices.items():
            self.line(
                2,
                f'<CodeListItem CodedValue="{attr(code)}"><Decode>{_translated(label)}</Decode>'
                "</CodeListItem>",
            )
        self.line(1, "</CodeList>")

    # -- ClinicalData -------------------------------------------------------------------------

    def clinical_data(self, rows: Sequence[Mapping[str, Any]]) -> None:
        project = self.project
        rid = project.record_id_field
        self.out.append(
            f'<ClinicalData StudyOID="Project.{attr(self.oid)}"'
            f' MetaDataVersionOID="{attr(self.metadata_oid)}">'
        )
        by_record: dict[str, list[Mapping[str, Any]]] = {}
        for row in rows:
            by_record.setdefault(str(row[rid]), []).append(row)
        for record, record_rows in by_record.items():
            self.line(
                1,
                f'<SubjectData SubjectKey="{attr(record)}" redcap:RecordIdField="{attr(rid)}">',
            )
            if project.is_longitudinal:
                self.events_of(record_rows)
            else:
                for row in record_rows:
                    self.forms_of(row, "", 2)
            self.line(1, "</SubjectData>")
        self.out.append("</ClinicalData>")

    def events_of(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """One ``StudyEventData`` per event (per instance of a repeating event), in event
        order; a repeating instrument's instances go into their event's."""
        project = self.project
        blocks: dict[tuple[str, int], list[Mapping[str, Any]]] = {}
        for row in rows:
            event, instance = row[EVENT], row.get(INSTANCE, "")
            repeats = event in project.repeating_events and instance != ""
            blocks.setdefault((event, int(instance) if repeats else 1), []).append(row)
        for event, instance in sorted(blocks, key=lambda k: (project.event_order[k[0]], k[1])):
            self.line(
                2,
                f'<StudyEventData StudyEventOID="Event.{attr(event)}"'
                f' StudyEventRepeatKey="{instance}" redcap:UniqueEventName="{attr(event)}">',
            )
            for row in blocks[(event, instance)]:
                self.forms_of(row, event, 3)
            self.line(2, "</StudyEventData>")

    def forms_of(self, row: Mapping[str, Any], event: str, depth: int) -> None:
        """The ``FormData`` of one flat row: each form that can hold data there and holds
        some (an unchecked checkbox alone is the export's default, not data)."""
        project = self.project
        ri = str(row.get(RI, "") or "")
        instance = row.get(INSTANCE, "")
        repeat_key = instance if ri and instance != "" else 1
        for form in project.forms:
            if not form_holds_data(project, event, ri, form):
                continue
            groups = [(g, list(self.values(g, row))) for g in self.groups[form]]
            if not any(
                value != "0" or kind != "checkbox"
                for _, items in groups
                for _, value, kind in items
            ):
                continue
            self.line(depth, f'<FormData FormOID="Form.{attr(form)}" FormRepeatKey="{repeat_key}">')
            for group, items in groups:
                if not items:
                    continue
                self.line(
                    depth + 1,
                    f'<ItemGroupData ItemGroupOID="{attr(group.oid)}" ItemGroupRepeatKey="1">',
                )
                for column, value, _ in items:
                    self.line(
                        depth + 2, f'<ItemData ItemOID="{attr(column)}" Value="{attr(value)}"/>'
                    )
                self.line(depth + 1, "</ItemGroupData>")
            self.line(depth, "</FormData>")

    def values(self, group: ItemGroup, row: Mapping[str, Any]) -> Iterable[tuple[str, str, str]]:
        """(column, value, column kind) for the group's non-blank cells of the row, the
        record's DAG after its record ID; a checkbox's missing-data-code columns included."""
        project = self.project
        seen: set[str] = set()
        for oid, f in group.items:
            names = [oid] if f is None or f.type != "checkbox" else self.field_columns[f.name]
            for name in names:
                if name in seen:
                    continue
                seen.add(name)
                value = row.get(name, "")
                if value is None or value == "" or name not in project.columns:
                    continue
                is_code_column = f is not None and name not in self.options_of.get(f.name, {oid})
                if is_code_column and value == "0":
                    continue  # a missing data code's checkbox column: no item of its own
                yield name, str(value), project.columns[name].kind
                if name == project.record_id_field and self.with_dags and row.get(DAG):
                    yield DAG, str(row[DAG]), "value"


def project_xml(
    project: ProjectDef,
    rows: Sequence[Mapping[str, Any]] | None = None,
    *,
    version: str,
    now: datetime,
    drw_enabled: bool = False,
    with_dags: bool = False,
) -> str:
    """The project XML REDCap would write: the metadata, and ``ClinicalData`` from ``rows``
    (flat export rows with the record ID column, ``redcap_data_access_group`` holding each
    record's group when ``with_dags``) unless ``rows`` is None."""
    writer = _Writer(
        project, version=version, now=now, drw_enabled=drw_enabled, with_dags=with_dags
    )
    writer.header()
    writer.global_variables()
    writer.metadata_version()
    writer.out.append("</Study>")
    if rows is not None:
        writer.clinical_data(rows)
    writer.out.append("</ODM>")
    return "\n".join(writer.out) + "\n"
