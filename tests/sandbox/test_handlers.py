"""The design exports, as PyCap 2.7 receives them: version, project, metadata, instruments,
events, arms, form-event mapping, repeating setup, export field names, next record name."""

from __future__ import annotations

import json

import pytest
import redcap
import semantic_version

from tests.support.projects import DEMO_PROJECT
from tests.support.sandbox import CLASSIC_METADATA, SandboxFactory, post, pycap
from worker.sandbox import Sandbox


def _saved(name: str) -> object:
    return json.loads((DEMO_PROJECT / name).read_text())


def test_version_is_plain_text_semver(nk: Sandbox) -> None:
    assert pycap(nk).export_version() == semantic_version.Version("15.7.6")
    raw = post(nk, content="version")
    assert raw.text == "15.7.6"


def test_project_info_is_one_object_in_redcaps_key_order(nk: Sandbox) -> None:
    info = pycap(nk).export_project_info()
    saved = _saved("project.json")
    assert info == saved
    assert list(info)[:3] == ["project_id", "project_title", "creation_time"]
    assert list(info)[-1] == "bypass_branching_erase_field_prompt"


def test_metadata_is_the_folders_data_dictionary(nk: Sandbox) -> None:
    project = pycap(nk)
    assert project.export_metadata() == _saved("metadata.json")
    assert project.def_field == "record_id"


def test_metadata_filters_combine_fields_and_forms_with_or(nk: Sandbox) -> None:
    rows = pycap(nk).export_metadata(fields=["enr_age"], forms=["end_of_study"])
    assert [r["field_name"] for r in rows] == ["enr_age", "eos_date", "eos_status", "eos_comment"]


def test_metadata_rejects_unknown_names(nk: Sandbox) -> None:
    with pytest.raises(redcap.RedcapError) as caught:
        pycap(nk).export_metadata(fields=["nope"])
    assert caught.value.args[0] == {
        "error": "The following values in the parameter \"fields\" are not valid: 'nope'"
    }


def test_instruments_events_arms_and_mapping(nk: Sandbox) -> None:
    project = pycap(nk)
    assert project.export_instruments() == _saved("instruments.json")
    assert project.export_events() == _saved("events.json")
    assert project.export_arms() == _saved("arms.json")
    assert project.export_instrument_event_mappings() == _saved("form_event_mapping.json")
    assert project.export_repeating_instruments_events() == _saved("repeating_forms_events.json")
    assert project.is_longitudinal


def test_arm_filters(nk: Sandbox) -> None:
    project = pycap(nk)
    assert len(project.export_events(arms=["1"])) == 12
    assert project.export_events(arms=["2"]) == []
    assert project.export_arms(arms=["2"]) == []
    placeholder = project.export_instrument_event_mappings(arms=["2"])
    assert placeholder == [{"arm_num": "", "unique_event_name": "", "form": ""}]


def test_classic_projects_refuse_events_arms_and_mappings(classic: Sandbox) -> None:
    project = pycap(classic)
    messages = {
        project.export_events: "You cannot export events for classic projects",
        project.export_arms: "You cannot export arms for classic projects",
        project.export_instrument_event_mappings: (
            "You cannot export form/event mappings for classic projects"
        ),
    }
    for method, message in messages.items():
        with pytest.raises(redcap.RedcapError) as caught:
            method()
        assert caught.value.args[0] == {"error": message}
    assert project.is_longitudinal is False
    answer = post(classic, content="event", format="json")
    assert answer.status_code == 400


def test_classic_repeating_setup_has_no_event_name(classic: Sandbox) -> None:
    rows = pycap(classic).export_repeating_instruments_events()
    assert rows == [{"form_name": "visit", "custom_form_label": "[visit_date]"}]


def test_no_repeating_setup_is_a_400(make_sandbox: SandboxFactory, tmp_path) -> None:
    from tests.support.sandbox import write_classic_project

    sb = make_sandbox(project_dir=write_classic_project(tmp_path / "plain", repeating=False))
    with pytest.raises(redcap.RedcapError) as caught:
        pycap(sb).export_repeating_instruments_events()
    assert "does not contain any repeating instruments and events" in caught.value.args[0]["error"]
    assert pycap(sb).export_project_info()["has_repeating_instruments_or_events"] == 0


def test_export_field_names_expand_checkboxes_and_skip_file_and_descriptive(
    classic: Sandbox,
) -> None:
    rows = pycap(classic).export_field_names()
    names = [r["export_field_name"] for r in rows]
    assert names == [
        "record_id",
        "name",
        "dob",
        "age",
        "weight",
        "sex",
        "colors___1",
        "colors___2",
        "colors____1",
        "consent",
        "bmi",
        "demographics_complete",
        "visit_date",
        "visit_score",
        "visit_done",
        "visit_complete",
    ]
    assert rows[7] == {
        "original_field_name": "colors",
        "choice_value": "2",
        "export_field_name": "colors___2",
    }
    assert rows[0]["choice_value"] == ""


def test_export_field_names_for_one_field(classic: Sandbox) -> None:
    project = pycap(classic)
    assert [r["export_field_name"] for r in project.export_field_names(field="colors")] == [
        "colors___1",
        "colors___2",
        "colors____1",
    ]
    assert len(project.export_field_names(field="visit_complete")) == 1
    with pytest.raises(redcap.RedcapError) as caught:
        project.export_field_names(field="nope")
    assert caught.value.args[0] == {"error": "Invalid field"}


def test_metadata_csv_has_the_18_columns(classic: Sandbox) -> None:
    text = pycap(classic).export_metadata(format_type="csv")
    header = text.splitlines()[0].split(",")
    assert header == list(CLASSIC_METADATA[0])
    assert len(text.splitlines()) == 1 + len(CLASSIC_METADATA)


def test_generate_next_record_name(nk: Sandbox, classic: Sandbox) -> None:
    assert pycap(nk).generate_next_record_name() == "4"
    assert pycap(classic).generate_next_record_name() == "1"


def test_data_access_groups(classic: Sandbox) -> None:
    rows = pycap(classic).export_dags()
    assert rows[0] == {
        "data_access_group_name": "Site A",
        "unique_group_name": "site_a",
        "data_access_group_id": 11,
    }
