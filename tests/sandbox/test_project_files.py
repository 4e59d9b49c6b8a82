"""The sandbox serves REDCap's own project files: a project XML (CDISC ODM with REDCap's
extensions, records included) and a data dictionary CSV (a classic project), answering every
export as REDCap's API would for that project."""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path
from typing import Any

import pytest
import redcap
from redcap import RedcapError

from tests.support.projects import CLASSIC_CSV, TWO_ARM_FINDINGS, TWO_ARM_XML
from tests.support.sandbox import SandboxFactory, launch, read_banner, refusal, stop
from worker.errors import ConfigError
from worker.sandbox import DEMO_TOKEN, Sandbox
from worker.sandbox.project import METADATA_COLUMNS
from worker.sandbox.source import open_project

ARM_1 = ["screening_arm_1", "baseline_arm_1", "week_4_arm_1", "week_12_arm_1", "follow_up_arm_1"]
ARM_2 = ["screening_arm_2", "baseline_arm_2", "week_4_arm_2", "week_12_arm_2"]


@pytest.fixture
def two_arm(make_sandbox: SandboxFactory) -> redcap.Project:
    sandbox = make_sandbox(project_dir=TWO_ARM_XML, data=None)
    return redcap.Project(sandbox.url, sandbox.token)


@pytest.fixture
def classic(make_sandbox: SandboxFactory) -> redcap.Project:
    sandbox = make_sandbox(project_dir=CLASSIC_CSV, data=None)
    return redcap.Project(sandbox.url, sandbox.token)


def metadata_by_name(project: redcap.Project) -> dict[str, dict[str, str]]:
    return {row["field_name"]: row for row in project.export_metadata()}


def row_of(
    rows: list[dict[str, Any]], record: str, event: str, instrument: str = "", instance: Any = ""
) -> dict[str, Any]:
    (row,) = [
        r
        for r in rows
        if (r["record_id"], r["redcap_event_name"]) == (record, event)
        and (r["redcap_repeat_instrument"], r["redcap_repeat_instance"]) == (instrument, instance)
    ]
    return row


# -- the project XML: design ------------------------------------------------------------------


def test_project_info_is_read_from_the_global_variables(two_arm: redcap.Project) -> None:
    info = two_arm.export_project_info()
    assert info["project_title"] == "Two-arm trial (sandbox fixture)"
    assert info["is_longitudinal"] == 1
    assert info["has_repeating_instruments_or_events"] == 1
    assert info["record_autonumbering_enabled"] == 0
    assert info["purpose"] == 2
    # Stored one per line in the XML; REDCap's API joins them with " | ".
    assert info["missing_data_codes"] == "UNK, Unknown | NA, Not applicable | NASK, Not asked"


def test_arms_and_events_as_redcap_exports_them(two_arm: redcap.Project) -> None:
    assert two_arm.export_arms() == [
        {"arm_num": 1, "name": "Active"},
        {"arm_num": 2, "name": "Control"},
    ]
    events = two_arm.export_events()
    assert [e["unique_event_name"] for e in events] == ARM_1 + ARM_2
    assert [e["event_id"] for e in events] == list(range(1, 10))  # the XML carries no IDs
    assert events[5] == {
        "event_name": "Screening",  # redcap:EventName, not the ODM Name with its arm
        "arm_num": 2,
        "unique_event_name": "screening_arm_2",
        "custom_event_label": "",
        "event_id": 6,
    }
    assert [e["unique_event_name"] for e in two_arm.export_events(arms=["2"])] == ARM_2


def test_form_event_mapping_and_repeating_setup(two_arm: redcap.Project) -> None:
    mapping = {
        (m["unique_event_name"], m["form"]) for m in two_arm.export_instrument_event_mappings()
    }
    assert ("follow_up_arm_1", "study_end") in mapping
    assert not any(form == "study_end" for event, form in mapping if event.endswith("_arm_2"))
    assert {form for event, form in mapping if event.startswith("baseline_")} == {
        "vitals",
        "adverse_events",
    }
    assert len(mapping) == 11
    assert two_arm.export_repeating_instruments_events() == [
        {
            "event_name": "baseline_arm_1",
            "form_name": "adverse_events",
            "custom_form_label": "[ae_term]",
        },
        {
            "event_name": "baseline_arm_2",
            "form_name": "adverse_events",
            "custom_form_label": "[ae_term]",
        },
    ]


def test_metadata_rebuilds_the_data_dictionary(two_arm: redcap.Project) -> None:
    rows = two_arm.export_metadata()
    assert all(list(row) == list(METADATA_COLUMNS) for row in rows)
    names = [row["field_name"] for row in rows]
    # One row per field: checkbox options folded back, form status items left out.
    assert names.count("symptoms") == 1
    assert not any(name.endswith("_complete") or "___" in name for name in names)
    assert "redcap_data_access_group" not in names
    fields = {row["field_name"]: row for row in rows}
    assert fields["symptoms"]["select_choices_or_calculations"] == (
        "1, Headache | 2, Nausea | 3, Fatigue | 99, Other"
    )
    assert fields["symptoms"]["section_header"] == "Symptoms"
    assert fields["sex"]["select_choices_or_calculations"] == "1, Female | 2, Male"
    assert fields["pregnant"]["select_choices_or_calculations"] == ""  # yes/no: fixed codes
    assert fields["pregnant"]["branching_logic"] == "[sex] = '1'"
    # The XML's legacy names, translated as the API does.
    assert fields["age"]["text_validation_type_or_show_slider_number"] == "integer"
    assert fields["temp"]["text_validation_type_or_show_slider_number"] == "number"
    assert fields["ae_grade"]["field_type"] == "dropdown"
    assert fields["withdraw_note"]["field_type"] == "notes"
    assert (fields["age"]["text_validation_min"], fields["age"]["text_validation_max"]) == (
        "18",
        "75",
    )
    assert fields["age"]["required_field"] == "y"
    assert fields["age"]["field_note"] == "Years"
    assert fields["age"]["field_annotation"] == "@NOMISSING"
    assert fields["email"]["identifier"] == "y"
    assert fields["hr_high"]["select_choices_or_calculations"] == "if([heart_rate] > 100, 1, 0)"
    assert fields["qol_pain"]["matrix_group_name"] == "qol"
    assert fields["vitals_intro"]["field_type"] == "descriptive"
    assert fields["scr_date"]["text_validation_type_or_show_slider_number"] == "date_dmy"
    assert fields["consent_dt"]["text_validation_type_or_show_slider_number"] == (
        "datetime_seconds_ymd"
    )
    assert two_arm.export_instruments() == [
        {"instrument_name": "enrollment", "instrument_label": "Enrollment"},
        {"instrument_name": "vitals", "instrument_label": "Vital Signs"},
        {"instrument_name": "adverse_events", "instrument_label": "Adverse Events"},
        {"instrument_name": "study_end", "instrument_label": "Study End"},
    ]


# -- the project XML: its records -------------------------------------------------------------


def test_clinical_data_is_the_starting_data(two_arm: redcap.Project) -> None:
    rows = two_arm.export_records()
    assert list(dict.fromkeys(r["record_id"] for r in rows)) == [str(n) for n in range(1, 9)]
    assert list(rows[0])[:4] == [
        "record_id",
        "redcap_event_name",
        "redcap_repeat_instrument",
        "redcap_repeat_instance",
    ]
    screening = row_of(rows, "1", "screening_arm_1")
    assert screening["consent_dt"] == "2026-03-02 09:15:00"  # datetimes with a space
    assert screening["scr_date"] == "2026-03-02"  # stored Y-M-D whatever the display format
    baseline = row_of(rows, "1", "baseline_arm_1")
    assert [baseline[f"symptoms___{code}"] for code in ("1", "2", "3", "99")] == [
        "1",
        "0",
        "0",
        "0",
    ]
    # Repeat instances are numbers; a record may hold nothing but adverse events.
    assert [
        (r["redcap_repeat_instrument"], r["redcap_repeat_instance"])
        for r in rows
        if r["record_id"] == "5"
    ] == [
        ("adverse_events", 1),
        ("adverse_events", 2),
    ]
    assert row_of(rows, "4", "baseline_arm_1", "adverse_events", 2)["ae_grade"] == "4"
    # Arm 2 records have rows in arm 2's events only.
    assert {r["redcap_event_name"] for r in rows if r["record_id"] in ("6", "7", "8")} <= set(ARM_2)


def test_values_are_served_as_stored_even_when_invalid_or_missing_codes(
    two_arm: redcap.Project,
) -> None:
    rows = two_arm.export_records(records=["2", "3"])
    assert row_of(rows, "2", "screening_arm_1")["scr_date"] == "14/03/2026"
    screening = row_of(rows, "3", "screening_arm_1")
    assert (screening["email"], screening["phone"], screening["age"]) == ("UNK", "NASK", "UNK")


def test_label_export_names_the_arm(two_arm: redcap.Project) -> None:
    rows = two_arm.export_records(records=["6"], raw_or_label="label", events=["screening_arm_2"])
    assert rows[0]["redcap_event_name"] == "Screening (Arm 2: Control)"
    assert rows[0]["sex"] == "Male"


def test_imports_accept_the_projects_missing_data_codes(two_arm: redcap.Project) -> None:
    row = {"record_id": "1", "redcap_event_name": "week_4_arm_1", "heart_rate": "NA"}
    assert two_arm.import_records([row]) == {"count": 1}
    with pytest.raises(RedcapError, match="heart_rate"):
        two_arm.import_records([{**row, "heart_rate": "N/A"}])


def test_a_seed_replaces_the_xmls_data(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox(project_dir=TWO_ARM_XML, data="empty")
    assert sandbox.rows() == []
    with pytest.raises(ConfigError, match="demo data come from a project folder"):
        Sandbox.from_project(TWO_ARM_XML, data="demo")


def test_the_oracle_names_only_what_the_project_has() -> None:
    """The oracle of generic findings fits the project: each finding's event is in the arm its
    record's data are in, the form is designated there, the field belongs to the form."""
    source = open_project(TWO_ARM_XML)
    project = source.project
    arm_of = {
        row["record_id"]: project.event_by_name[row["redcap_event_name"]].arm_num
        for row in source.rows or []
    }
    findings = json.loads(TWO_ARM_FINDINGS.read_text(encoding="utf-8"))
    assert findings
    rules = {"DQ-REQUIRED", "DQ-TYPE", "DQ-RANGE", "DQ-CHOICE", "DQ-HIDDEN"}
    for f in findings:
        assert set(f) == {"rule", "record", "event", "instrument", "instance", "field"}
        assert f["rule"] in rules
        assert project.event_by_name[f["event"]].arm_num == arm_of[f["record"]]
        assert project.is_designated(f["event"], f["instrument"])
        assert project.fields[f["field"]].form == f["instrument"]
        repeating = project.is_repeating_form(f["event"], f["instrument"])
        assert (f["instance"] is not None) == repeating
    assert {f["rule"] for f in findings} == rules
    assert len({json.dumps(f, sort_keys=True) for f in findings}) == len(findings)


CLASSIC_XML = """<?xml version="1.0" encoding="UTF-8" ?>
<ODM xmlns="https://www.cdisc.org/ns/odm/v1.3" xmlns:redcap="https://projectredcap.org"
 ODMVersion="1.3.1" FileType="Snapshot" SourceSystem="REDCap">
<Study OID="Project.Classic">
<GlobalVariables>
\t<StudyName>Classic XML</StudyName>
\t<redcap:MissingDataCodes></redcap:MissingDataCodes>
\t<redcap:RepeatingInstrumentsAndEvents>
\t\t<redcap:RepeatingInstruments>
\t\t\t<redcap:RepeatingInstrument redcap:UniqueEventName="event_1_arm_1"
 redcap:RepeatInstrument="visit" redcap:CustomLabel=""/>
\t\t</redcap:RepeatingInstruments>
\t</redcap:RepeatingInstrumentsAndEvents>
</GlobalVariables>
<MetaDataVersion OID="Metadata.Classic" Name="Classic XML" redcap:RecordIdField="pid">
\t<FormDef OID="Form.person" Name="Person" Repeating="No" redcap:FormName="person">
\t\t<ItemGroupRef ItemGroupOID="person.pid" Mandatory="No"/>
\t\t<ItemGroupRef ItemGroupOID="person.person_complete" Mandatory="No"/>
\t</FormDef>
\t<FormDef OID="Form.visit" Name="Visit" Repeating="No" redcap:FormName="visit">
\t\t<ItemGroupRef ItemGroupOID="visit.seen" Mandatory="No"/>
\t</FormDef>
\t<ItemGroupDef OID="person.pid" Name="Person" Repeating="No">
\t\t<ItemRef ItemOID="pid" Mandatory="No" redcap:Variable="pid"/>
\t\t<ItemRef ItemOID="langs___en" Mandatory="No" redcap:Variable="langs"/>
\t\t<ItemRef ItemOID="langs___fr" Mandatory="No" redcap:Variable="langs"/>
\t</ItemGroupDef>
\t<ItemGroupDef OID="person.person_complete" Name="Form Status" Repeating="No">
\t\t<ItemRef ItemOID="person_complete" Mandatory="No" redcap:Variable="person_complete"/>
\t</ItemGroupDef>
\t<ItemGroupDef OID="visit.seen" Name="Visit" Repeating="No">
\t\t<ItemRef ItemOID="seen" Mandatory="No" redcap:Variable="seen"/>
\t</ItemGroupDef>
\t<ItemDef OID="pid" Name="pid" DataType="text" Length="999" redcap:Variable="pid"
 redcap:FieldType="text"><Question><TranslatedText>ID</TranslatedText></Question></ItemDef>
\t<ItemDef OID="langs___en" Name="langs___en" DataType="boolean" Length="1"
 redcap:Variable="langs" redcap:FieldType="checkbox">
\t\t<Question><redcap:FormattedTranslatedText>&lt;b&gt;Languages&lt;/b&gt;</redcap:FormattedTranslatedText><TranslatedText>Languages</TranslatedText></Question>
\t\t<CodeListRef CodeListOID="langs___en.choices"/></ItemDef>
\t<ItemDef OID="langs___fr" Name="langs___fr" DataType="boolean" Length="1"
 redcap:Variable="langs" redcap:FieldType="checkbox">
\t\t<Question><TranslatedText>Languages</TranslatedText></Question>
\t\t<CodeListRef CodeListOID="langs___fr.choices"/></ItemDef>
\t<ItemDef OID="person_complete" Name="person_complete" DataType="text" Length="1"
 redcap:Variable="person_complete" redcap:FieldType="select" redcap:SectionHeader="Form Status">
\t\t<Question><TranslatedText>Complete?</TranslatedText></Question></ItemDef>
\t<ItemDef OID="seen" Name="seen" DataType="datetime" Length="999" redcap:Variable="seen"
 redcap:FieldType="text" redcap:TextValidationType="datetime_seconds_ymd">
\t\t<Question><TranslatedText>Seen at</TranslatedText></Question></ItemDef>
\t<CodeList OID="langs___en.choices" Name="langs___en" DataType="boolean" redcap:Variable="langs"
 redcap:CheckboxChoices="en, English|fr, French"/>
\t<CodeList OID="langs___fr.choices" Name="langs___fr" DataType="boolean" redcap:Variable="langs"
 redcap:CheckboxChoices="en, English|fr, French"/>
</MetaDataVersion>
</Study>
<ClinicalData StudyOID="Project.Classic" MetaDataVersionOID="Metadata.Classic">
\t<SubjectData SubjectKey="A-1" redcap:RecordIdField="pid">
\t\t<FormData FormOID="Form.person" FormRepeatKey="1">
\t\t\t<ItemGroupData ItemGroupOID="person.pid" ItemGroupRepeatKey="1">
\t\t\t\t<ItemData ItemOID="pid" Value="A-1"/>
\t\t\t\t<ItemData ItemOID="langs___en" Value="0"/>
\t\t\t\t<ItemData ItemOID="langs___fr" Value="1"/>
\t\t\t</ItemGroupData>
\t\t</FormData>
\t\t<FormData FormOID="Form.visit" FormRepeatKey="2">
\t\t\t<ItemGroupData ItemGroupOID="visit.seen" ItemGroupRepeatKey="1">
\t\t\t\t<ItemData ItemOID="seen" Value="2026-05-01 08:30:00"/>
\t\t\t</ItemGroupData>
\t\t</FormData>
\t</SubjectData>
</ClinicalData>
</ODM>
"""


def test_a_classic_project_xml(tmp_path: Path, make_sandbox: SandboxFactory) -> None:
    """No events: FormData sit in SubjectData, the repeating setup names REDCap's default
    event, and the ODM namespace is the newer https one."""
    path = tmp_path / "Classic_2026-11-20_0900.REDCap.xml"
    path.write_text(CLASSIC_XML, encoding="utf-8")
    sandbox = make_sandbox(project_dir=path, data=None)
    project = redcap.Project(sandbox.url, sandbox.token)
    assert project.export_project_info()["is_longitudinal"] == 0
    assert project.export_repeating_instruments_events() == [
        {"form_name": "visit", "custom_form_label": ""}
    ]
    fields = metadata_by_name(project)
    assert list(fields) == ["pid", "langs", "seen"]
    assert fields["langs"]["field_label"] == "<b>Languages</b>"  # the formatted label wins
    assert fields["langs"]["select_choices_or_calculations"] == "en, English | fr, French"
    assert project.export_records() == [
        {
            "pid": "A-1",
            "redcap_repeat_instrument": "",
            "redcap_repeat_instance": "",
            "langs___en": "0",
            "langs___fr": "1",
            "person_complete": "0",
            "seen": "",
            "visit_complete": "",
        },
        {
            "pid": "A-1",
            "redcap_repeat_instrument": "visit",
            "redcap_repeat_instance": 2,
            "langs___en": "",
            "langs___fr": "",
            "person_complete": "",
            "seen": "2026-05-01 08:30:00",
            "visit_complete": "0",
        },
    ]


@pytest.mark.e2e
def test_event_offsets_are_exported_when_scheduling_is_on(tmp_path: Path) -> None:
    text = TWO_ARM_XML.read_text(encoding="utf-8")
    path = tmp_path / "scheduled.REDCap.xml"
    path.write_text(
        text.replace("<redcap:SchedulingEnabled>0<", "<redcap:SchedulingEnabled>1<"),
        encoding="utf-8",
    )
    with Sandbox.from_project(path, data="empty") as sandbox:
        events = redcap.Project(sandbox.url, sandbox.token).export_events()
    assert events[2] == {
        "event_name": "Week 4",
        "arm_num": 1,
        "day_offset": 35,
        "offset_min": 0,
        "offset_max": 0,
        "unique_event_name": "week_4_arm_1",
        "custom_event_label": "",
        "event_id": 3,
    }


# -- the data dictionary CSV --------------------------------------------------------------------


def test_a_data_dictionary_is_served_as_a_classic_project(classic: redcap.Project) -> None:
    info = classic.export_project_info()
    assert info["is_longitudinal"] == 0
    assert info["has_repeating_instruments_or_events"] == 0
    with pytest.raises(RedcapError, match="classic projects"):
        classic.export_events()
    fields = metadata_by_name(classic)
    assert list(fields) == [
        "record_id",
        "intake_date",
        "age",
        "height",
        "smoker",
        "packs",
        "conditions",
        "notes",
        "info",
        "fu_done",
        "fu_date",
        "bmi_flag",
    ]
    assert fields["intake_date"]["text_validation_type_or_show_slider_number"] == "date_ymd"
    assert fields["age"]["text_validation_type_or_show_slider_number"] == "integer"
    assert fields["height"]["text_validation_type_or_show_slider_number"] == "number"
    assert fields["smoker"]["field_type"] == "dropdown"
    assert fields["notes"]["field_type"] == "notes"
    assert fields["packs"]["branching_logic"] == "[smoker] = '2'"
    assert [i["instrument_name"] for i in classic.export_instruments()] == ["intake", "follow_up"]
    assert classic.export_records() == []
    assert classic.import_records([{"record_id": "1", "conditions___2": "1"}]) == {"count": 1}
    (row,) = classic.export_records()
    assert "redcap_event_name" not in row
    assert (row["conditions___1"], row["conditions___2"]) == ("0", "1")


# -- one-line errors ----------------------------------------------------------------------------


def test_data_access_groups_in_the_xml(tmp_path: Path, make_sandbox: SandboxFactory) -> None:
    text = TWO_ARM_XML.read_text(encoding="utf-8")
    with_dag = text.replace(
        '<ItemData ItemOID="record_id" Value="6"/>',
        '<ItemData ItemOID="record_id" Value="6"/>\n'
        '<ItemData ItemOID="redcap_data_access_group" Value="site_b"/>',
    )
    path = tmp_path / "dags.REDCap.xml"
    path.write_text(with_dag, encoding="utf-8")
    sandbox = make_sandbox(project_dir=path, data=None)
    project = redcap.Project(sandbox.url, sandbox.token)
    assert [d["unique_group_name"] for d in project.export_dags()] == ["site_b"]
    rows = project.export_records(records=["6"], export_data_access_groups=True)
    assert {r["redcap_data_access_group"] for r in rows} == {"site_b"}


# -- the command line ---------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("how", [["FILE"], ["--project", "FILE"]])
def test_the_command_serves_a_project_xml(tmp_path: Path, how: list[str]) -> None:
    copy = tmp_path / TWO_ARM_XML.name
    shutil.copy(TWO_ARM_XML, copy)
    proc = launch(*[str(copy) if a == "FILE" else a for a in how], "--quiet")
    banner = read_banner(proc)
    assert banner["REDCap sandbox"] == (
        f"Two-arm trial (sandbox fixture) (8 records from {TWO_ARM_XML.name})"
    )
    project = redcap.Project(banner["URL"], DEMO_TOKEN, timeout=10)
    assert project.export_project_info()["missing_data_codes"].startswith("UNK, Unknown")
    code, _, err = stop(proc, signal.SIGTERM)
    assert (code, err) == (0, "")


@pytest.mark.e2e
def test_the_command_serves_a_data_dictionary_with_a_seed(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps([{"record_id": "1", "age": "40"}]), encoding="utf-8")
    proc = launch(str(CLASSIC_CSV), "--data", str(seed), "--quiet")
    banner = read_banner(proc)
    assert banner["REDCap sandbox"].endswith(f"(1 records from {seed})")
    code, _, _ = stop(proc, signal.SIGTERM)
    assert code == 0


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.REDCap.xml"], "error: project file missing.REDCap.xml does not exist"),
        (["--project", "README.md"], "error: project README.md must be a folder of API exports"),
        ([str(TWO_ARM_XML), "--project", str(CLASSIC_CSV)], "error: give the project either"),
        ([str(TWO_ARM_XML), "--participants", "3"], "error: --participants and --as-of apply"),
        ([str(TWO_ARM_XML), "--data", "demo"], "error: demo data come from a project folder"),
    ],
)
def test_bad_project_files_are_one_line_errors(args: list[str], message: str) -> None:
    assert refusal(*args).startswith(message)


@pytest.mark.e2e
def test_a_malformed_xml_on_the_command_line_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "cut.xml"
    path.write_text("<ODM><Study>", encoding="utf-8")
    proc = launch(str(path))
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 2
    assert err.decode().startswith(f"error: {path} is not well-formed XML")
    assert len(err.decode().strip().splitlines()) == 1


def test_every_checkbox_gets_a_column_per_missing_data_code(two_arm: redcap.Project) -> None:
    rows = two_arm.export_records(format_type="json", forms=["vitals"])
    columns = [c for c in rows[0] if c.startswith("symptoms___")]
    assert columns == [
        "symptoms___1",
        "symptoms___2",
        "symptoms___3",
        "symptoms___99",
        "symptoms___unk",
        "symptoms___na",
        "symptoms___nask",
    ]
    names = {r["export_field_name"] for r in two_arm.export_field_names()}
    assert {"symptoms___unk", "symptoms___na", "symptoms___nask"} <= names
