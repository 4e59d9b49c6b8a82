"""The mapping: REDCap rows become typed participant models, as the mapping file declares."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import demo_schema
from worker.core.mapping import (
    MappingSpec,
    ParticipantBuilder,
    load_mapping,
    mapping_drift,
)
from worker.core.records import group_rows
from worker.core.schema import ProjectSchema
from worker.errors import MappingError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def schema() -> ProjectSchema:
    return demo_schema()


@pytest.fixture(scope="module")
def spec() -> MappingSpec:
    return load_mapping(REPO / "mappings" / "nk_trial.toml")


QUERY_ROLES = {
    k: v
    for k, v in tomllib.loads((REPO / "mappings" / "nk_trial.toml").read_text())["queries"].items()
    if k in ("fields", "codes")
}


def row(event: str, instrument: str = "", instance: str = "", **values: str) -> dict:
    return {
        "record_id": "7",
        "redcap_event_name": event,
        "redcap_repeat_instrument": instrument,
        "redcap_repeat_instance": int(instance) if instance else "",
        **values,
    }


def test_the_dnk_mapping_matches_the_dnk_project(spec: MappingSpec, schema: ProjectSchema) -> None:
    assert mapping_drift(spec, schema) == []


def test_values_are_typed_from_the_data_dictionary(spec, schema) -> None:
    rows = [
        row(
            "screening_arm_1",
            enr_screen_date="2026-01-05",
            enr_age="34",
            enr_fertility_need="1",
            mba_unk_status="2",
            mba_cd56bright_pct="41.5",
        ),
    ]
    record = group_rows(schema, rows)["7"]
    participant = ParticipantBuilder(spec, schema).build(record)
    screening = participant.screening
    assert participant.record_id == "7"
    assert screening.enr_screen_date == date(2026, 1, 5)
    assert screening.enr_age == 34
    assert screening.enr_fertility_need is True
    assert screening.mba_unk_status == "2"
    assert screening.mba_cd56bright_pct == 41.5
    assert screening.icf_date is None
    assert screening.event == "screening_arm_1"
    assert screening.instance is None


def test_an_invalid_value_is_blank_for_the_checks_and_kept_raw(spec, schema) -> None:
    rows = [row("screening_arm_1", enr_screen_date="2026-02-30", mba_unk_status="3")]
    screening = ParticipantBuilder(spec, schema).build(group_rows(schema, rows)["7"]).screening
    assert screening.enr_screen_date is None
    assert screening.mba_unk_status is None
    assert screening.invalid == {"enr_screen_date", "mba_unk_status"}
    assert screening.raw["enr_screen_date"] == "2026-02-30"


def test_a_repeating_event_becomes_a_list_of_instances(spec, schema) -> None:
    rows = [
        row("treatment_arm_1", instance="1", inf_date="2026-03-01"),
        row("treatment_arm_1", instance="2", inf_date="2026-06-01", cp_released="0"),
    ]
    treatments = ParticipantBuilder(spec, schema).build(group_rows(schema, rows)["7"]).treatments
    assert [t.instance for t in treatments] == [1, 2]
    assert treatments[1].inf_date == date(2026, 6, 1)
    assert treatments[1].cp_released is False


def test_a_repeating_instrument_becomes_a_list_of_instances(spec, schema) -> None:
    rows = [
        row("pregnancy_arm_1", "pregnancy", "2", pg_hcg_pos="1"),
        row("pregnancy_arm_1", "pregnancy", "1", pg_hcg_pos="0"),
    ]
    pregnancies = ParticipantBuilder(spec, schema).build(group_rows(schema, rows)["7"]).pregnancies
    assert [(p.instance, p.pg_hcg_pos) for p in pregnancies] == [(1, False), (2, True)]


def test_events_listed_together_become_an_ordered_list(spec, schema) -> None:
    rows = [
        row("fu_m3_arm_1", mba_date="2026-06-01"),
        row("fu_m1_arm_1", mba_date="2026-04-01"),
    ]
    follow_up = ParticipantBuilder(spec, schema).build(group_rows(schema, rows)["7"]).follow_up
    assert [(f.event, f.ordinal) for f in follow_up] == [("fu_m1_arm_1", 1), ("fu_m3_arm_1", 3)]


def test_a_part_without_data_is_absent(spec, schema) -> None:
    rows = [row("end_of_study_arm_1", end_of_study_complete="0")]
    participant = ParticipantBuilder(spec, schema).build(group_rows(schema, rows)["7"])
    assert participant.end_of_study is None
    assert participant.treatments == []


def test_evidence_names_where_each_value_came_from(spec, schema) -> None:
    rows = [row("treatment_arm_1", instance="2", inf_date="2026-06-01")]
    entry = ParticipantBuilder(spec, schema).build(group_rows(schema, rows)["7"]).treatments[0]
    assert entry.evidence("inf_date", "pb_date") == {
        "treatment_arm_1[2].inf_date": "2026-06-01",
        "treatment_arm_1[2].pb_date": "",
    }


def test_drift_names_every_missing_field_form_and_event(schema) -> None:
    spec = MappingSpec.model_validate(
        {
            "study": "x",
            "parts": {
                "a": {"event": "nowhere_arm_1", "forms": ["enrollment"]},
                "b": {"event": "screening_arm_1", "forms": ["no_such_form", "pregnancy"]},
            },
            "queries": {"event": "queries_arm_1", "form": "enrollment", **QUERY_ROLES},
        }
    )
    problems = mapping_drift(spec, schema)
    assert any("'nowhere_arm_1' is not in the project" in p for p in problems)
    assert any("'no_such_form' is not in the project" in p for p in problems)
    assert any("'pregnancy' is not designated for event 'screening_arm_1'" in p for p in problems)
    assert any("queries: form 'enrollment' is not a repeating instrument" in p for p in problems)
    with pytest.raises(MappingError, match="does not match the project"):
        ParticipantBuilder(spec, schema)


def test_a_malformed_mapping_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text('study = "x"\n[parts.a]\nevent = "e"\nevents = ["f"]\nforms = ["g"]\n')
    with pytest.raises(MappingError, match=r"parts\.a") as caught:
        load_mapping(path)
    assert "\n" not in str(caught.value)


def test_query_fields_and_codes_must_exist_on_the_query_form(schema) -> None:
    roles = {
        "fields": {**QUERY_ROLES["fields"], "message": "enr_age"},
        "codes": {
            **QUERY_ROLES["codes"],
            "status": {"open": "1", "resolved": "9", "verified": "3"},
        },
    }
    spec = MappingSpec.model_validate(
        {
            "study": "x",
            "parts": {"a": {"event": "screening_arm_1", "forms": ["enrollment"]}},
            "queries": {"event": "queries_arm_1", "form": "data_query", **roles},
        }
    )
    problems = mapping_drift(spec, schema)
    assert "queries: field 'enr_age' (message) is not on form 'data_query'" in problems
    assert any("code '9' (status resolved)" in p for p in problems)
