"""ProjectSchema saved as JSON and read back (the structure incremental syncs reuse)."""

from __future__ import annotations

import json

import pytest

from tests.support.nk_trial import schema as demo_schema
from worker.core.schema import ProjectSchema

CLASSIC = ProjectSchema.from_exports(
    project_info={"project_id": 3, "is_longitudinal": 0},
    metadata=[
        {"field_name": "study_id", "form_name": "demographics", "field_type": "text"},
        {"field_name": "visit_date", "form_name": "visit", "field_type": "text"},
    ],
    repeating=[{"form_name": "visit"}],
    instruments=[{"instrument_name": "visit", "instrument_label": "Visit"}],
    redcap_version="15.7.6",
)


def through_json(schema: ProjectSchema) -> ProjectSchema:
    # As the state folder writes it: object keys sorted.
    return ProjectSchema.from_json(json.loads(json.dumps(schema.to_json(), sort_keys=True)))


@pytest.mark.parametrize("schema", [demo_schema(), CLASSIC], ids=["longitudinal", "classic"])
def test_a_schema_comes_back_equal_with_its_orders(schema: ProjectSchema) -> None:
    back = through_json(schema)
    assert back == schema
    assert back.record_id_field == schema.record_id_field  # the first field
    assert list(back.fields) == list(schema.fields)
    assert back.event_names == schema.event_names


def test_a_classic_projects_event_less_mapping_survives() -> None:
    assert through_json(CLASSIC).forms_of_event(None) == ["demographics", "visit"]


@pytest.mark.parametrize("document", [{}, {"fields": 3}, {"fields": [], "form_events": [1]}])
def test_anything_else_is_a_value_error(document: dict) -> None:
    with pytest.raises(ValueError, match="not a saved project structure"):
        ProjectSchema.from_json(document)


# --- missing-data codes -------------------------------------------------------------------

WITH_CODES = ProjectSchema.from_exports(
    project_info={"is_longitudinal": 0, "missing_data_codes": " UNK, Unknown |NA,Not applicable "},
    metadata=[
        {"field_name": "study_id", "form_name": "visit", "field_type": "text"},
        {
            "field_name": "symptoms",
            "form_name": "visit",
            "field_type": "checkbox",
            "select_choices_or_calculations": "1, Fever | -2.5, Other",
        },
        {
            "field_name": "tags",
            "form_name": "visit",
            "field_type": "checkbox",
            "select_choices_or_calculations": "1, A",
            "field_annotation": "@HIDDEN @NOMISSING",
        },
        {"field_name": "age", "form_name": "visit", "field_type": "text"},
    ],
)


def test_missing_codes_are_read_from_the_project_info() -> None:
    assert WITH_CODES.missing_codes == {"UNK": "Unknown", "NA": "Not applicable"}


@pytest.mark.parametrize(
    "info", [None, {}, {"missing_data_codes": ""}, {"missing_data_codes": " "}]
)
def test_a_project_without_codes_has_none(info: dict | None) -> None:
    metadata = [
        {"field_name": "a", "form_name": "f", "field_type": "text"},
        {
            "field_name": "b",
            "form_name": "f",
            "field_type": "checkbox",
            "select_choices_or_calculations": "1, X",
        },
    ]
    schema = ProjectSchema.from_exports(project_info=info, metadata=metadata)
    assert schema.missing_codes == {}
    assert schema.fields["b"].export_names == ["b___1"]


def test_each_checkbox_has_a_column_per_code_unless_nomissing() -> None:
    assert WITH_CODES.fields["symptoms"].export_names == [
        "symptoms___1",
        "symptoms____2_5",
        "symptoms___unk",
        "symptoms___na",
    ]
    assert WITH_CODES.fields["symptoms"].missing_columns == {
        "symptoms___unk": "UNK",
        "symptoms___na": "NA",
    }
    assert WITH_CODES.fields["tags"].export_names == ["tags___1"]
    assert WITH_CODES.fields["age"].export_names == ["age"]
    assert list(WITH_CODES.export_columns) == [
        "study_id",
        "symptoms___1",
        "symptoms____2_5",
        "symptoms___unk",
        "symptoms___na",
        "tags___1",
        "age",
        "visit_complete",
    ]


def test_missing_codes_survive_the_saved_structure() -> None:
    back = through_json(WITH_CODES)
    assert back == WITH_CODES
    assert back.missing_codes == WITH_CODES.missing_codes
    assert back.fields["symptoms"].export_names == WITH_CODES.fields["symptoms"].export_names


def test_a_structure_saved_before_missing_codes_were_read_is_read_again() -> None:
    old = through_json(CLASSIC).to_json()
    del old["missing_codes"]
    with pytest.raises(ValueError, match="not a saved project structure"):
        ProjectSchema.from_json(old)
