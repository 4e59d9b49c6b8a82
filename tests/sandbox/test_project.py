"""Loading a project definition from a folder of REDCap API exports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.projects import DEMO_PROJECT
from tests.support.sandbox import write_classic_project
from worker.errors import ConfigError
from worker.sandbox.project import checkbox_column, load_project, parse_choices


def test_the_dnk_project() -> None:
    project = load_project(DEMO_PROJECT)
    assert project.is_longitudinal
    assert project.has_repeating
    assert project.record_id_field == "record_id"
    assert project.event_names[0] == "screening_arm_1"
    assert project.repeating_events == {"treatment_arm_1"}
    assert project.is_repeating_form("queries_arm_1", "data_query")
    assert not project.is_repeating_form("treatment_arm_1", "infusion")
    assert project.mapping["screening_arm_1"] == [
        "enrollment",
        "informed_consent",
        "menstrual_blood_analysis",
    ]
    columns = list(project.columns)
    assert columns.index("enrollment_complete") == columns.index("enr_fertility_need") + 1
    assert columns[-1] == "data_query_complete"


def test_a_classic_project_uses_the_blank_event(tmp_path: Path) -> None:
    project = load_project(write_classic_project(tmp_path / "c"))
    assert not project.is_longitudinal
    assert project.event_names == [""]
    assert project.mapping == {"": ["demographics", "visit"]}
    assert project.repeating_forms == {"": frozenset({"visit"})}
    assert "intro" not in project.columns
    assert "colors____1" in project.columns
    assert project.project_info()["has_repeating_instruments_or_events"] == 1
    plain = load_project(write_classic_project(tmp_path / "p", repeating=False, dags=False))
    assert not plain.has_repeating
    assert plain.dags == []


@pytest.mark.parametrize(
    ("file", "content", "message"),
    [
        ("metadata.json", None, "has no metadata.json"),
        ("metadata.json", "[]", "metadata.json is empty"),
        ("metadata.json", "{nope", "cannot read"),
        ("instruments.json", '[{"instrument_name": "ghost"}]', "names 'ghost'"),
        ("repeating_forms_events.json", '[{"form_name": "ghost"}]', "unknown form 'ghost'"),
    ],
)
def test_bad_folders_are_one_line_config_errors(
    tmp_path: Path, file: str, content: str | None, message: str
) -> None:
    folder = write_classic_project(tmp_path / "bad")
    if content is None:
        (folder / file).unlink()
    else:
        (folder / file).write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_project(folder)


def test_mapping_must_name_known_events_and_forms(tmp_path: Path) -> None:
    folder = tmp_path / "nk"
    folder.mkdir()
    for path in DEMO_PROJECT.glob("*.json"):
        (folder / path.name).write_text(path.read_text())
    mapping = json.loads((folder / "form_event_mapping.json").read_text())
    mapping.append({"arm_num": 1, "unique_event_name": "nope_arm_1", "form": "enrollment"})
    (folder / "form_event_mapping.json").write_text(json.dumps(mapping))
    with pytest.raises(ConfigError, match="nope_arm_1"):
        load_project(folder)


def test_missing_folder() -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_project("/nonexistent/project")


def test_choice_parsing_and_checkbox_names() -> None:
    assert parse_choices("1, Yes | 0, No, really |  | x_1,Other") == {
        "1": "Yes",
        "0": "No, really",
        "x_1": "Other",
    }
    assert checkbox_column("race", "-1") == "race____1"
    assert checkbox_column("race", "A.b") == "race___a_b"
