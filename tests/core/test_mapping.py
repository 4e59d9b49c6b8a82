"""The mapping: REDCap rows become typed participant models, as the mapping file declares."""

from __future__ import annotations

import tomllib
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest

from tests.support.projects import demo_schema
from worker.core.mapping import (
    MappingSpec,
    PartEntry,
    Participant,
    ParticipantBuilder,
    declared_drift,
    load_mapping,
    mapping_drift,
    model_problems,
    python_type,
)
from worker.core.records import RecordData, RowKey, group_rows
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


# --- every validation type, and missing-data codes, on a small classic project ------------


def _field(name: str, field_type: str = "text", validation: str = "", **more: str) -> dict:
    return {
        "field_name": name,
        "form_name": "visit",
        "field_type": field_type,
        "text_validation_type_or_show_slider_number": validation,
        **more,
    }


TYPED_METADATA = [
    _field("study_id"),
    _field("v_date", validation="date_dmy"),
    _field("v_at", validation="datetime_mdy"),
    _field("v_at_s", validation="datetime_seconds_ymd"),
    _field("v_time", validation="time"),
    _field("v_time_s", validation="time_hh_mm_ss"),
    _field("v_walk", validation="time_mm_ss"),
    _field("v_count", validation="integer"),
    _field("v_old_count", validation="int"),
    _field("v_dose", validation="number_2dp_comma_decimal"),
    _field("v_ratio", validation="number_comma_decimal"),
    _field("v_weight", validation="number_1dp"),
    _field("v_zip", validation="zipcode"),
    _field("v_site_code", validation="my_site_type"),
    _field("v_pain", "slider"),
    _field("v_bmi", "calc", select_choices_or_calculations="1"),
    _field("v_done", "yesno"),
    _field("v_arm", "radio", select_choices_or_calculations="1, A | 2, B"),
    _field("v_symptoms", "checkbox", select_choices_or_calculations="1, Fever | 2, Cough"),
    _field(
        "v_tags",
        "checkbox",
        select_choices_or_calculations="1, X",
        field_annotation="@NOMISSING",
    ),
]
TYPED_SCHEMA = ProjectSchema.from_exports(
    project_info={"is_longitudinal": 0, "missing_data_codes": "UNK, Unknown | NA, Not applicable"},
    metadata=TYPED_METADATA,
)
TYPED_SPEC = MappingSpec.model_validate({"study": "t", "parts": {"visit": {"forms": ["visit"]}}})


def typed_entry(**values: str):
    rows = [
        {"study_id": "1", "redcap_repeat_instrument": "", "redcap_repeat_instance": "", **values}
    ]
    record = group_rows(TYPED_SCHEMA, rows)["1"]
    return ParticipantBuilder(TYPED_SPEC, TYPED_SCHEMA).build(record).visit


def test_python_types_follow_every_validation_type() -> None:
    expected = {
        "v_date": date,
        "v_at": datetime,
        "v_at_s": datetime,
        "v_time": time,
        "v_time_s": time,
        "v_walk": timedelta,
        "v_count": int,
        "v_old_count": int,
        "v_dose": float,
        "v_ratio": float,
        "v_weight": float,
        "v_zip": str,
        "v_site_code": str,
        "v_pain": float,
        "v_bmi": float,
        "v_done": bool,
        "v_arm": str,
        "v_symptoms": frozenset[str],
    }
    assert {name: python_type(TYPED_SCHEMA.fields[name]) for name in expected} == expected


def test_values_of_every_type_reach_the_checks_typed() -> None:
    entry = typed_entry(
        v_date="2026-01-31",
        v_at="2026-01-31 09:05",
        v_at_s="2026-01-31 09:05:07",
        v_time="9:05",
        v_time_s="09:05:07",
        v_walk="06:30",
        v_count="9" * 5000,
        v_old_count=" 12 ",
        v_dose="1,25",
        v_ratio="-0,5",
        v_weight="61.5",
        v_zip="37232",
        v_site_code="anything",
        v_pain="40",
        v_bmi="22.5",
        v_done="0",
        v_arm="2",
        v_symptoms___1="1",
        v_symptoms___2="0",
    )
    assert entry.v_date == date(2026, 1, 31)
    assert entry.v_at == datetime(2026, 1, 31, 9, 5)
    assert entry.v_at_s == datetime(2026, 1, 31, 9, 5, 7)
    assert entry.v_time == time(9, 5)
    assert entry.v_time_s == time(9, 5, 7)
    assert entry.v_walk == timedelta(minutes=6, seconds=30)
    assert entry.v_count == 10**5000 - 1  # longer than int() reads: still an integer
    assert entry.v_old_count == 12
    assert entry.v_dose == 1.25
    assert entry.v_ratio == -0.5
    assert (entry.v_weight, entry.v_zip, entry.v_site_code) == (61.5, "37232", "anything")
    assert (entry.v_pain, entry.v_bmi, entry.v_done, entry.v_arm) == (40.0, 22.5, False, "2")
    assert entry.v_symptoms == frozenset({"1"})
    assert entry.invalid == entry.missing == frozenset()


def test_a_missing_code_is_none_and_not_invalid() -> None:
    entry = typed_entry(
        v_date="UNK", v_count="NA", v_arm="UNK", v_done=" NA ", v_zip="UNK", v_weight="x"
    )
    assert (entry.v_date, entry.v_count, entry.v_arm, entry.v_done, entry.v_zip) == (None,) * 5
    assert entry.missing == {"v_date", "v_count", "v_arm", "v_done", "v_zip"}
    assert entry.invalid == {"v_weight"}
    assert entry.raw["v_date"] == "UNK"


def test_a_checkbox_is_missing_when_a_missing_code_column_is_ticked() -> None:
    assert TYPED_SCHEMA.fields["v_symptoms"].export_names == [
        "v_symptoms___1",
        "v_symptoms___2",
        "v_symptoms___unk",
        "v_symptoms___na",
    ]
    assert TYPED_SCHEMA.fields["v_tags"].export_names == ["v_tags___1"]  # @NOMISSING
    entry = typed_entry(v_symptoms___1="0", v_symptoms___2="0", v_symptoms___na="1")
    assert entry.v_symptoms == frozenset()  # no real option ticked
    assert entry.missing == {"v_symptoms"}
    assert entry.invalid == frozenset()


def test_an_entry_of_only_whitespace_is_absent() -> None:
    assert typed_entry(v_zip="  ", v_date="\t") is None


# --- a study's declared classes -------------------------------------------------------------


class DeclaredVisit(PartEntry):
    """Some fields of form ``visit``, one of each kind of type."""

    v_date: date | None
    v_walk: timedelta | None
    v_count: int | None
    v_dose: float | None
    v_done: bool | None
    v_arm: str | None
    v_symptoms: frozenset[str]  # a checkbox is never None: the set of ticked codes


class DeclaredParticipant(Participant):
    visit: DeclaredVisit | None


def test_a_declared_class_of_every_type_matches_the_data_dictionary() -> None:
    assert model_problems(DeclaredParticipant, TYPED_SPEC, TYPED_SCHEMA) == []
    rows = [
        {
            "study_id": "1",
            "redcap_repeat_instrument": "",
            "redcap_repeat_instance": "",
            "v_date": "2026-01-31",
            "v_count": "x",
            "v_dose": "1,25",
            "v_symptoms___2": "1",
            "v_weight": "heavy",
        }
    ]
    record = group_rows(TYPED_SCHEMA, rows)["1"]
    builder = ParticipantBuilder(TYPED_SPEC, TYPED_SCHEMA, model=DeclaredParticipant)
    p = builder.build(record)
    assert type(p) is DeclaredParticipant
    entry = p.visit
    assert type(entry) is DeclaredVisit
    assert (entry.v_date, entry.v_count, entry.v_dose) == (date(2026, 1, 31), None, 1.25)
    assert entry.v_symptoms == frozenset({"2"})
    assert entry.invalid == {"v_count", "v_weight"}  # v_weight is judged, though not declared
    assert entry.raw["v_weight"] == "heavy"
    assert not hasattr(entry, "v_weight")


def test_a_declared_class_that_disagrees_with_the_data_dictionary_names_class_and_field() -> None:
    class Visit(PartEntry):
        v_date: datetime | None  # a date field
        v_count: int  # not optional
        v_arm: int | None  # a radio's code is text
        v_nothing: str | None  # not in the project
        event: str  # PartEntry's own

    class Person(Participant):
        visit: list[Visit]  # one entry in a classic project without repeats

    class Again(Participant):
        visit: Visit | None
        extra: Visit | None  # not a part of the mapping

    where = Path(__file__).name
    assert model_problems(Person, TYPED_SPEC, TYPED_SCHEMA, root=Path(__file__).parent) == [
        f"{where}: Person.visit is declared list[Visit], but part 'visit' is one entry or "
        "None: declare it <a PartEntry class> | None"
    ]
    assert model_problems(Again, TYPED_SPEC, TYPED_SCHEMA, root=Path(__file__).parent) == [
        f"{where}: Visit.event: the name 'event' is reserved by PartEntry",
        f"{where}: Visit.v_date is declared datetime | None, but field 'v_date' (text, "
        "date_dmy) is date | None",
        f"{where}: Visit.v_count is declared int, but field 'v_count' (text, integer) is "
        "int | None",
        f"{where}: Visit.v_arm is declared int | None, but field 'v_arm' (radio) is str | None",
        f"{where}: Again.extra is not a part of the mapping (parts: visit)",
    ]
    # A field the project lacks is drift, not a mistake in the class: its part is built
    # empty and the checks reading it are quarantined (declared_drift names it).
    assert declared_drift(Again, TYPED_SPEC, TYPED_SCHEMA, root=Path(__file__).parent) == {
        "visit": [f"{where}: Visit.v_nothing: field 'v_nothing' is not in the project"]
    }
    with pytest.raises(MappingError, match=r"Again\.extra is not a part of the mapping"):
        ParticipantBuilder(TYPED_SPEC, TYPED_SCHEMA, model=Again)


def test_every_entry_is_validated_so_hand_made_values_are_coerced(
    schema: ProjectSchema, spec: MappingSpec
) -> None:
    """Hand-made records (not from an export) may hold what an export never does: pydantic
    validates every entry the builder makes, so they are coerced like any other."""
    text_instance = RecordData(
        "7",
        {RowKey("treatment_arm_1", "", "1"): {"inf_date": "2026-01-05"}},  # type: ignore[arg-type]
    )
    (treatment,) = ParticipantBuilder(spec, schema).build(text_instance).treatments
    assert treatment.instance == 1
    assert type(treatment.instance) is int
