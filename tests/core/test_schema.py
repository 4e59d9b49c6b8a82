"""ProjectSchema saved as JSON and read back (the structure incremental syncs reuse)."""

from __future__ import annotations

import json

import pytest

from tests.rules.builders import schema as demo_schema
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
