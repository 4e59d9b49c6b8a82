"""``content=project_xml`` (worker/sandbox/odm_export.py and its handler): the sandbox writes
its project as REDCap's project XML, and that file, read back by worker/sandbox/odm.py, is
the same project: the same data dictionary, events, form-event mapping, repeating setup,
project attributes and (unless only the metadata were asked for) the same records."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.support.projects import AS_OF, DEMO_PROJECT, REPO, TWO_ARM_XML
from tests.support.sandbox import SandboxFactory, post, pycap, write_classic_project
from tests.support.synthetic import nk_rows
from worker.sandbox import FakeClock, Sandbox
from worker.sandbox.access import NO_API_EXPORT
from worker.sandbox.api import Api
from worker.sandbox.errors import NO_PERMISSION
from worker.sandbox.odm import PROJECT_INFO_TAGS, read_odm
from worker.sandbox.odm_export import (
    missing_codes_lines,
    plain_text,
    project_xml,
    study_oid,
)
from worker.sandbox.project import load_project
from worker.sandbox.responses import CONTENT_TYPES, Response
from worker.sandbox.source import open_project

BP_PROJECT = REPO / "demo" / "bp_trial"
NOW = datetime(2026, 11, 20, 9, 0, 0)
ODM = "{http://www.cdisc.org/ns/odm/v1.3}"
REDCAP = "{https://projectredcap.org}"
# What the project XML carries of content=project (the rest is the server's: ids, times...).
CARRIED_INFO = [*PROJECT_INFO_TAGS.values(), "missing_data_codes"]
LABEL = 'Weight <b>in kg</b> ("as measured")<br>today & every visit'


# -- helpers -------------------------------------------------------------------------------


def call(sb: Sandbox, **params: Any) -> Response:
    """One API request to the sandbox in process (no HTTP), with its token unless given."""
    params.setdefault("token", sb.token)
    api = Api(sb.project, sb.store, sb.token, sb.access)
    response, _ = api.handle(urlencode(params, doseq=True).encode())
    return response


def export(sb: Sandbox, content: str, **params: Any) -> tuple[int, Any]:
    response = call(sb, content=content, format="json", **params)
    return response.status, json.loads(response.text)


def copy_of(sb: Sandbox, folder: Path, **params: Any) -> Sandbox:
    """A new sandbox whose project and records are the sandbox's project XML (with the
    records' data access groups), read back."""
    params.setdefault("exportDataAccessGroups", "true")
    response = call(sb, content="project_xml", **params)
    assert response.status == 200, response.text
    path = folder / "copy.REDCap.xml"
    path.write_bytes(response.body)
    return Sandbox.from_project(path, data=None, clock=FakeClock(NOW))


def without_event_ids(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "event_id"} for row in rows]


def assert_same_design(original: Sandbox, copy: Sandbox) -> None:
    for content in ("metadata", "instrument", "arm", "formEventMapping", "exportFieldNames"):
        assert export(copy, content) == export(original, content), content
    assert export(copy, "repeatingFormsEvents") == export(original, "repeatingFormsEvents")
    status, events = export(original, "event")
    assert export(copy, "event")[0] == status
    if status == 200:  # event ids are the server's own: the file has none
        assert without_event_ids(export(copy, "event")[1]) == without_event_ids(events)
    info, copied = export(original, "project")[1], export(copy, "project")[1]
    assert {k: copied[k] for k in CARRIED_INFO} == {k: info[k] for k in CARRIED_INFO}
    for key in ("is_longitudinal", "has_repeating_instruments_or_events"):
        assert copied[key] == info[key]
    names = ["data_access_group_name", "unique_group_name"]
    assert [{k: d[k] for k in names} for d in export(copy, "dag")[1]] == [
        {k: d[k] for k in names} for d in export(original, "dag")[1]
    ]


def records(sb: Sandbox) -> list[dict[str, Any]]:
    status, rows = export(sb, "record", exportDataAccessGroups="true")
    assert status == 200
    return rows


def write_tricky_classic(folder: Path, *, repeating: bool = True, codes: bool = True) -> Path:
    """The shared classic project with what XML must escape (HTML labels, quotes, ampersands,
    line breaks) and, with ``codes``, missing data codes."""
    write_classic_project(folder, repeating=repeating, dags=repeating)
    metadata = json.loads((folder / "metadata.json").read_text())
    weight = next(row for row in metadata if row["field_name"] == "weight")
    weight.update(
        field_label=LABEL,
        section_header="Body <i>size</i>",
        field_note='Say "kg" & round',
        branching_logic="[age] > 17\nand [sex] = '1'",
        field_annotation="@DEFAULT='70'\n@HIDDEN-SURVEY",
        text_validation_min="30",
    )
    sex = next(row for row in metadata if row["field_name"] == "sex")
    sex["select_choices_or_calculations"] = "1, Female <i>(F)</i> | 2, Male & other"
    (folder / "metadata.json").write_text(json.dumps(metadata))
    info = json.loads((folder / "project.json").read_text())
    info["project_notes"] = 'Site\'s "classic" <test> & more'
    if codes:
        info["missing_data_codes"] = "UNK, Unknown | NA, Not applicable"
    (folder / "project.json").write_text(json.dumps(info))
    return folder


CLASSIC_ROWS = [
    {
        "record_id": "1",
        "redcap_data_access_group": "site_b",
        "name": 'Ann "Nan" <O\'Hara> & co\nsecond line',
        "weight": "61.5",
        "sex": "1",
        "colors___1": "1",
        "colors____1": "1",
        "demographics_complete": "2",
    },
    {"record_id": "2", "age": "UNK", "colors___na": "1", "demographics_complete": "0"},
]
VISITS = [
    {
        "record_id": "1",
        "redcap_repeat_instrument": "visit",
        "redcap_repeat_instance": "1",
        "visit_date": "2026-01-05",
        "visit_complete": "1",
    },
    {
        "record_id": "1",
        "redcap_repeat_instrument": "visit",
        "redcap_repeat_instance": "3",
        "visit_score": "7",
    },
]


@pytest.fixture
def nk() -> Sandbox:
    return Sandbox.from_folder(DEMO_PROJECT, data=nk_rows(4), clock=FakeClock(NOW))


# -- round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("project", "data"),
    [(DEMO_PROJECT, "demo"), (BP_PROJECT, "demo"), (TWO_ARM_XML, None)],
    ids=["nk_trial", "bp_trial", "two_arm_xml"],
)
def test_a_longitudinal_project_read_back_is_the_same_project(
    tmp_path: Path, project: Path, data: str | None
) -> None:
    original = Sandbox.from_folder(project, data=data, as_of=AS_OF, clock=FakeClock(NOW))
    copy = copy_of(original, tmp_path)
    assert_same_design(original, copy)
    assert records(copy) == records(original)
    assert len(records(original)) > 10


@pytest.mark.parametrize("repeating", [True, False], ids=["repeating", "no_repeating"])
def test_a_classic_project_read_back_is_the_same_project(tmp_path: Path, repeating: bool) -> None:
    folder = write_tricky_classic(tmp_path / "classic", repeating=repeating, codes=repeating)
    rows = CLASSIC_ROWS + (VISITS if repeating else [])
    if not repeating:
        rows = [{k: v for k, v in r.items() if k != "redcap_data_access_group"} for r in rows]
        rows = [{k: v for k, v in r.items() if "___na" not in k and v != "UNK"} for r in rows]
    original = Sandbox.from_folder(folder, data=rows, clock=FakeClock(NOW))
    copy = copy_of(original, tmp_path)
    assert_same_design(original, copy)
    assert records(copy) == records(original)
    labels = {row["field_name"]: row["field_label"] for row in export(copy, "metadata")[1]}
    assert labels["weight"] == LABEL


def test_metadata_only_carries_the_design_and_no_records(tmp_path: Path, nk: Sandbox) -> None:
    response = call(nk, content="project_xml", returnMetadataOnly="true")
    assert "<ClinicalData" not in response.text
    copy = copy_of(nk, tmp_path, returnMetadataOnly="true")
    assert_same_design(nk, copy)
    assert records(copy) == []


def test_a_classic_projects_repeating_setup_names_redcaps_default_event(
    tmp_path: Path,
) -> None:
    sb = Sandbox.from_folder(write_tricky_classic(tmp_path / "c"), data="empty")
    root = ET.fromstring(call(sb, content="project_xml", returnMetadataOnly="1").body)
    repeating = root.findall(f".//{REDCAP}RepeatingInstrument")
    assert [r.get(f"{REDCAP}UniqueEventName") for r in repeating] == ["event_1_arm_1"]
    assert root.find(f".//{ODM}Protocol") is None
    assert root.find(f".//{ODM}StudyEventDef") is None


def test_codes_are_one_per_line_and_no_repeating_setup_is_written_without_one(
    tmp_path: Path,
) -> None:
    with_codes = Sandbox.from_folder(write_tricky_classic(tmp_path / "a"), data="empty")
    plain = Sandbox.from_folder(
        write_tricky_classic(tmp_path / "b", repeating=False, codes=False), data="empty"
    )
    text = call(with_codes, content="project_xml").text
    assert "<redcap:MissingDataCodes>UNK, Unknown\nNA, Not applicable</redcap:Missing" in text
    plain_text_ = call(plain, content="project_xml").text
    assert "<redcap:MissingDataCodes></redcap:MissingDataCodes>" in plain_text_
    assert "RepeatingInstrumentsAndEvents" not in plain_text_


# -- the format ----------------------------------------------------------------------------


def test_the_two_arm_fixtures_design_is_written_back_line_for_line(tmp_path: Path) -> None:
    """The fixture is written to REDCap's format: the sandbox serving it writes the same
    lines, but for what the file's server knew and the sandbox does not (its version, the
    time, the title's OID, the day offsets of a project without scheduling) and its DRW."""
    sb = Sandbox.from_project(TWO_ARM_XML, data=None, clock=FakeClock(NOW))
    written = project_xml(sb.project, sb.rows(blank_for_gray=True), version="15.7.0", now=NOW)
    ignore = re.compile(r"OID=\"(Project|Metadata)\.|DayOffset=|DataResolutionWorkflow")
    expected = TWO_ARM_XML.read_text(encoding="utf-8").splitlines()
    got = written.splitlines()
    assert len(got) == len(expected)
    differing = [(e, g) for e, g in zip(expected, got, strict=True) if e != g]
    assert differing
    assert all(ignore.search(e) for e, _ in differing)


def test_the_answer_is_utf8_xml_in_odm_with_redcaps_namespaces(nk: Sandbox) -> None:
    response = call(nk, content="project_xml", returnMetadataOnly="true", format="json")
    assert response.status == 200
    assert response.content_type == CONTENT_TYPES["xml"] == "text/xml; charset=utf-8"
    assert response.text.startswith('<?xml version="1.0" encoding="UTF-8" ?>\n<ODM ')
    root = ET.fromstring(response.body)
    assert root.tag == f"{ODM}ODM"
    assert root.get("ODMVersion") == "1.3.1"
    assert root.get("SourceSystem") == "REDCap"
    assert root.get("AsOfDateTime") == "2026-11-20T09:00:00"


def test_events_come_in_the_event_exports_order_and_forms_in_dictionary_order(
    nk: Sandbox,
) -> None:
    root = ET.fromstring(call(nk, content="project_xml", returnMetadataOnly="true").body)
    refs = [r.get("StudyEventOID") for r in root.iter(f"{ODM}StudyEventRef")]
    events = [e["unique_event_name"] for e in export(nk, "event")[1]]
    assert refs == [f"Event.{e}" for e in events]
    forms = [f.get(f"{REDCAP}FormName") for f in root.iter(f"{ODM}FormDef")]
    assert forms == [i["instrument_name"] for i in export(nk, "instrument")[1]]
    first = next(root.iter(f"{ODM}StudyEventDef"))
    assert first.get("Name") == nk.project.event_label(events[0])


def test_text_is_escaped_as_xml_needs_and_labels_keep_their_html(tmp_path: Path) -> None:
    sb = Sandbox.from_folder(write_tricky_classic(tmp_path / "c"), data=CLASSIC_ROWS)
    text = call(sb, content="project_xml").text
    assert "Site&#039;s &quot;classic&quot; &lt;test&gt; &amp; more" in text
    root = ET.fromstring(text.encode())
    item = next(i for i in root.iter(f"{ODM}ItemDef") if i.get("OID") == "weight")
    question = item.find(f"{ODM}Question")
    assert question is not None
    assert question.findtext(f"{ODM}TranslatedText") == plain_text(LABEL)
    assert question.findtext(f"{REDCAP}FormattedTranslatedText") == LABEL
    assert item.get(f"{REDCAP}BranchingLogic") == "[age] > 17\nand [sex] = '1'"
    values = {d.get("ItemOID"): d.get("Value") for d in root.iter(f"{ODM}ItemData")}
    assert values["name"] == CLASSIC_ROWS[0]["name"]


def test_a_checkbox_is_one_item_per_option_and_every_form_has_its_status() -> None:
    sb = Sandbox.from_project(TWO_ARM_XML, data=None)
    root = ET.fromstring(call(sb, content="project_xml", returnMetadataOnly="true").body)
    items = [i.get("OID") for i in root.iter(f"{ODM}ItemDef")]
    options = [c for c in items if c and c.startswith("symptoms___")]
    assert options == ["symptoms___1", "symptoms___2", "symptoms___3", "symptoms___99"]
    assert {f"{form}_complete" for form in sb.project.forms} <= set(items)


def test_small_helpers_write_what_redcap_writes() -> None:
    assert study_oid("genAdipositas - ALT Demo") == "GenAdipositasALTDemo"
    assert missing_codes_lines("UNK, Unknown | NA, Not applicable") == (
        "UNK, Unknown\nNA, Not applicable"
    )
    assert plain_text("A <b>bold</b><br/>move") == "A bold\nmove"
    assert plain_text("age > 18") == "age > 18"


# -- what the data hold --------------------------------------------------------------------


def test_the_records_events_and_fields_asked_for_narrow_only_the_data(
    tmp_path: Path, nk: Sandbox
) -> None:
    event = export(nk, "event")[1][0]["unique_event_name"]
    copy = copy_of(nk, tmp_path, **{"records[0]": "2", "events[0]": event})
    assert_same_design(nk, copy)
    rows = records(copy)
    assert rows
    assert {r["record_id"] for r in rows} == {"2"}
    assert {r["redcap_event_name"] for r in rows} == {event}
    assert rows == [
        r for r in records(nk) if r["record_id"] == "2" and r["redcap_event_name"] == event
    ]


def test_export_rights_leave_the_same_data_out_as_a_record_export(nk: Sandbox) -> None:
    form = nk.project.forms[1]
    assert f'<FormData FormOID="Form.{form}"' in call(nk, content="project_xml").text
    nk.access.set_export_right(form, "none")
    root = ET.fromstring(call(nk, content="project_xml").body)
    data = {d.get("ItemOID") for d in root.iter(f"{ODM}ItemData")}
    assert nk.access.hidden
    assert not nk.access.hidden & data
    assert {f"Form.{form}"}.isdisjoint(f.get("FormOID") for f in root.iter(f"{ODM}FormData"))
    defined = {i.get("OID") for i in root.iter(f"{ODM}ItemDef")}
    assert f"{form}_complete" in defined  # the metadata stay whole


def test_data_access_groups_come_with_exportdataaccessgroups(tmp_path: Path) -> None:
    sb = Sandbox.from_folder(write_tricky_classic(tmp_path / "c"), data=CLASSIC_ROWS)
    plain = call(sb, content="project_xml").text
    assert 'ItemOID="redcap_data_access_group"' not in plain
    assert '<redcap:DataAccessGroups group_name="Site A"/>' in plain
    with_groups = call(sb, content="project_xml", exportDataAccessGroups="true").text
    assert '<ItemData ItemOID="redcap_data_access_group" Value="site_b"/>' in with_groups


def test_the_request_log_learns_what_the_export_returned(nk: Sandbox) -> None:
    api = Api(nk.project, nk.store, nk.token, nk.access)
    body = urlencode({"token": nk.token, "content": "project_xml", "records[0]": "3"})
    _, facts = api.handle(body.encode())
    assert facts["content"] == "project_xml"
    assert facts["action"] == "export"
    assert facts["records_returned"] == ("3",)
    _, facts = api.handle(f"{body}&returnMetadataOnly=true".encode())
    assert "records_returned" not in facts


# -- refusals ------------------------------------------------------------------------------


def test_a_wrong_token_is_refused_before_anything_else(nk: Sandbox) -> None:
    response = call(nk, content="project_xml", token="wrong", returnFormat="json")
    assert (response.status, json.loads(response.text)) == (403, {"error": NO_PERMISSION})


def test_without_the_api_export_right_every_export_is_refused(nk: Sandbox) -> None:
    nk.access.set_api_export(False)
    for content in ("project_xml", "record", "metadata"):
        response = call(nk, content=content, returnFormat="json")
        assert (response.status, json.loads(response.text)) == (403, {"error": NO_API_EXPORT})
    nk.access.set_api_export(True)
    assert call(nk, content="project_xml").status == 200


def test_an_unknown_return_format_gives_errors_in_xml(nk: Sandbox) -> None:
    response = call(nk, content="project_xml", token="wrong", returnFormat="yaml")
    assert response.status == 403
    assert response.content_type == CONTENT_TYPES["xml"]
    assert f"<hash><error>{NO_PERMISSION}</error></hash>" in response.text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"fields[0]": "no_such_field"}, "no_such_field"),
        ({"events[0]": "no_such_event"}, "no_such_event"),
        ({"filterLogic": "[age] > 3"}, "filterLogic"),
    ],
)
def test_what_the_data_part_cannot_honour_is_a_400(
    nk: Sandbox, params: dict[str, str], message: str
) -> None:
    response = call(nk, content="project_xml", returnFormat="json", **params)
    assert response.status == 400
    assert message in json.loads(response.text)["error"]
    metadata_only = call(nk, content="project_xml", returnMetadataOnly="true", **params)
    assert metadata_only.status == 200  # the options apply to the data alone


# -- over HTTP, through PyCap ----------------------------------------------------------------


def test_pycap_reads_the_project_xml_over_http(
    make_sandbox: SandboxFactory, tmp_path: Path
) -> None:
    sandbox = make_sandbox(data=nk_rows(2))
    project = pycap(sandbox)
    payload = project._initialize_payload("project_xml", format_type="xml")
    payload["returnMetadataOnly"] = "true"
    path = tmp_path / "project.REDCap.xml"
    path.write_text(project._call_api(payload, return_type="str"), encoding="utf-8")
    assert open_project(path).project.metadata == project.export_metadata()
    exports = read_odm(path).exports
    assert exports["mapping"] == project.export_instrument_event_mappings()
    (entry,) = sandbox.request_log.where(content="project_xml")
    assert entry.status == 200


def test_faults_apply_to_the_project_xml_as_to_any_content(make_sandbox: SandboxFactory) -> None:
    sandbox = make_sandbox(data=nk_rows(1))
    sandbox.faults.plan("500")
    assert post(sandbox, content="project_xml").status_code == 500
    assert sandbox.request_log[-1].fault == "500"
    answer = post(sandbox, content="project_xml")
    assert answer.status_code == 200
    assert "<ODM " in answer.text


def test_the_loaded_project_module_is_the_folders(tmp_path: Path) -> None:
    # A project folder's XML read back by the loader it came from builds without complaint.
    sb = Sandbox.from_folder(DEMO_PROJECT, data="empty")
    path = tmp_path / "nk.REDCap.xml"
    path.write_bytes(call(sb, content="project_xml", returnMetadataOnly="true").body)
    assert load_project(DEMO_PROJECT).forms == Sandbox.from_project(path).project.forms
