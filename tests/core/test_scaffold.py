"""What `init` writes for a project: a mapping covering every arm and event, rules that add
no finding until edited, a config without secrets, and the query instrument to add."""

from __future__ import annotations

import io
import tomllib
import zipfile
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.support.projects import demo_schema, dictionary_rows, two_arm_schema
from worker.config import load_settings
from worker.core.coverage import mapping_coverage
from worker.core.mapping import (
    MappingSpec,
    ParticipantBuilder,
    QueryFields,
    load_mapping,
    mapping_drift,
)
from worker.core.records import group_rows
from worker.core.rules import load_ruleset
from worker.core.rules.logic_rules import load_logic_rules
from worker.core.rules.params import name_problems
from worker.core.scaffold import (
    QUERY_CSV,
    QUERY_FIELDS,
    QUERY_FORM,
    QUERY_ZIP,
    ZIP_MEMBER,
    query_dictionary_rows,
    study_folder,
)
from worker.core.schema import ProjectSchema
from worker.errors import ConfigError
from worker.pipeline import judged_mapping

WRITTEN_ON = date(2026, 12, 5)


def field(name: str, form: str, field_type: str = "text", **extra: str) -> dict[str, str]:
    return {"field_name": name, "form_name": form, "field_type": field_type, **extra}


def project(
    metadata: list[dict[str, str]],
    *,
    designations: dict[str, list[str]] | None = None,
    repeating_forms: Iterable[tuple[str | None, str]] = (),
    repeating_events: Iterable[str] = (),
) -> ProjectSchema:
    """A project from its data dictionary; longitudinal when ``designations`` (unique event
    name -> forms, in event order) is given, with each event's arm read from its name."""
    events = [
        {"unique_event_name": e, "event_name": e.title(), "arm_num": int(e.rsplit("_", 1)[1])}
        for e in designations or {}
    ]
    mapping = [
        {"unique_event_name": e, "form": f}
        for e, forms in (designations or {}).items()
        for f in forms
    ]
    repeating = [{"event_name": e or "", "form_name": f} for e, f in repeating_forms]
    repeating += [{"event_name": e, "form_name": ""} for e in repeating_events]
    return ProjectSchema.from_exports(
        project_info={"project_id": 9, "project_title": "Trial"},
        metadata=metadata,
        events=events,
        form_event_mapping=mapping,
        repeating=repeating,
    )


def parts_of(schema: ProjectSchema) -> dict[str, dict[str, Any]]:
    """The generated mapping's parts, as the mapping file has them."""
    return mapping_data(schema)["parts"]


def mapping_data(schema: ProjectSchema) -> dict[str, Any]:
    text = study_folder(schema, written_on=WRITTEN_ON).files["mapping.toml"]
    assert isinstance(text, str)
    data = tomllib.loads(text)
    MappingSpec.model_validate(data)  # a mapping the worker reads
    return data


def write_folder(schema: ProjectSchema, folder: Path) -> None:
    for name, content in study_folder(schema, written_on=WRITTEN_ON).files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


# A two-arm trial: screening, baseline and week 4 in both arms, week 12 in arm 1 only;
# adverse events repeat at baseline; one form is designated at baseline in arm 1 only.
TWO_ARMS = project(
    [
        field("record_id", "enrollment"),
        field("enr_date", "enrollment", text_validation_type_or_show_slider_number="date_ymd"),
        field("sex", "enrollment", "radio", select_choices_or_calculations="1, Female | 2, Male"),
        field("vs_weight", "vitals", text_validation_type_or_show_slider_number="number"),
        field("ae_term", "adverse_event"),
        field("lab_value", "arm1_lab"),
    ],
    designations={
        "screening_arm_1": ["enrollment"],
        "baseline_arm_1": ["vitals", "adverse_event", "arm1_lab"],
        "week_4_arm_1": ["vitals"],
        "week_12_arm_1": ["vitals"],
        "screening_arm_2": ["enrollment"],
        "baseline_arm_2": ["vitals", "adverse_event"],
        "week_4_arm_2": ["vitals"],
    },
    repeating_forms=[("baseline_arm_1", "adverse_event"), ("baseline_arm_2", "adverse_event")],
)


def test_several_arms_map_each_visit_once_by_its_arm_less_name() -> None:
    assert parts_of(TWO_ARMS) == {
        "screening": {"event": "screening", "forms": ["enrollment"]},
        "baseline": {"event": "baseline", "forms": ["vitals"]},
        "adverse_event": {"event": "baseline", "forms": ["adverse_event"]},
        # Designated in one arm's baseline only: that arm's event, named in full.
        "baseline_arm_1": {"event": "baseline_arm_1", "forms": ["arm1_lab"]},
        "week_4": {"event": "week_4", "forms": ["vitals"]},
        "week_12": {"event": "week_12", "forms": ["vitals"]},
    }


def covered(schema: ProjectSchema) -> set[tuple[str | None, str]]:
    """Every (event, form) designation some generated part reads."""
    found = set()
    for part in parts_of(schema).values():
        for event in schema.event_names:
            named = event is None or part.get("event") in (event, schema.visit_of(event))
            if named:
                found |= {(event, f) for f in part["forms"] if f in schema.forms_of_event(event)}
    return found


@pytest.mark.parametrize("name", ["two arms", "two-arm fixture", "dNK"])
def test_the_mapping_covers_every_arm_event_and_form(name: str) -> None:
    schema = {"two arms": TWO_ARMS, "two-arm fixture": two_arm_schema(), "dNK": demo_schema()}[name]
    query_form = study_folder(schema, written_on=WRITTEN_ON).query_form
    designated = {
        (event, form)
        for event in schema.event_names
        for form in schema.forms_of_event(event)
        if form != query_form
    }
    assert covered(schema) == designated


def test_the_query_instrument_goes_to_the_first_visit_every_arm_has() -> None:
    place = study_folder(TWO_ARMS, written_on=WRITTEN_ON).query_place
    assert (place.event, place.events) == ("screening", ("screening_arm_1", "screening_arm_2"))
    assert not place.ready
    queries = mapping_data(TWO_ARMS)["queries"]
    assert (queries["event"], queries["form"]) == ("screening", QUERY_FORM)


def test_with_no_visit_in_every_arm_the_steps_say_to_add_a_queries_event() -> None:
    schema = project(
        [field("record_id", "a"), field("b1", "b")],
        designations={"one_arm_1": ["a"], "two_arm_2": ["a", "b"]},
    )
    folder = study_folder(schema, written_on=WRITTEN_ON)
    assert folder.query_place.event == "queries"
    assert folder.query_place.new_event
    assert "add an event 'Queries' to every arm (queries_arm_1, queries_arm_2)" in folder.steps[1]


# One arm: a repeating instrument beside ordinary forms, the same instrument repeating in a
# second event, and a whole repeating event.
ONE_ARM = project(
    [
        field("record_id", "demographics"),
        field("dm_dob", "demographics", text_validation_type_or_show_slider_number="date_ymd"),
        field("ae_term", "ae"),
        field("cm_drug", "meds"),
        field("dose_mg", "dosing", text_validation_type_or_show_slider_number="integer"),
        field("dose_note", "dosing_notes"),
    ],
    designations={
        "baseline_arm_1": ["demographics", "ae", "meds"],
        "dosing_arm_1": ["dosing", "dosing_notes"],
        "week_4_arm_1": ["ae"],
    },
    repeating_forms=[("baseline_arm_1", "ae"), ("baseline_arm_1", "meds"), ("week_4_arm_1", "ae")],
    repeating_events=["dosing_arm_1"],
)


def test_repeating_instruments_are_parts_of_their_own_and_a_repeating_event_is_one() -> None:
    assert parts_of(ONE_ARM) == {
        "baseline": {"event": "baseline_arm_1", "forms": ["demographics"]},
        # ae repeats in two events: each part is named by its visit too.
        "baseline_ae": {"event": "baseline_arm_1", "forms": ["ae"]},
        "meds": {"event": "baseline_arm_1", "forms": ["meds"]},
        "dosing": {"event": "dosing_arm_1", "forms": ["dosing", "dosing_notes"]},
        "week_4_ae": {"event": "week_4_arm_1", "forms": ["ae"]},
    }


def test_a_single_arm_mapping_names_full_events_and_matches_the_project() -> None:
    spec = MappingSpec.model_validate(mapping_data(ONE_ARM))
    # The query form is not in the project yet: no drift, only sync needs it.
    assert mapping_drift(judged_mapping(spec, ONE_ARM), ONE_ARM) == []
    assert spec.queries is not None
    assert spec.queries.event == "baseline_arm_1"


CLASSIC = project(
    [
        field("record_id", "demographics"),
        field("age", "demographics", text_validation_type_or_show_slider_number="integer"),
        field("visit_date", "visit", text_validation_type_or_show_slider_number="date_ymd"),
        field("score", "score_sheet"),
    ],
    repeating_forms=[(None, "visit")],
)


def test_a_classic_project_has_parts_without_events() -> None:
    data = mapping_data(CLASSIC)
    assert data["parts"] == {
        "record": {"forms": ["demographics", "score_sheet"]},
        "visit": {"forms": ["visit"]},
    }
    assert "event" not in data["queries"]
    spec = MappingSpec.model_validate(data)
    assert mapping_drift(judged_mapping(spec, CLASSIC), CLASSIC) == []


def test_a_project_holding_the_query_instrument_keeps_it_and_maps_around_it() -> None:
    schema = demo_schema()
    folder = study_folder(schema, written_on=WRITTEN_ON)
    assert folder.query_place.ready
    assert len(folder.steps) == 1  # nothing to add before a sync
    data = mapping_data(schema)
    assert data["queries"]["event"] == "queries_arm_1"
    assert folder.query_form == "data_query"  # found by its fields, not by its name
    assert data["queries"]["form"] == "data_query"
    assert all("data_query" not in part["forms"] for part in data["parts"].values())
    assert mapping_drift(MappingSpec.model_validate(data), schema) == []


def test_a_form_with_a_field_named_like_a_model_attribute_is_left_out_and_said_so() -> None:
    schema = project(
        [field("record_id", "visit"), field("event", "visit"), field("x", "other")],
        designations={"v_arm_1": ["visit", "other"]},
    )
    text = study_folder(schema, written_on=WRITTEN_ON).files["mapping.toml"]
    assert "# Note: form 'visit' is in no part: its field 'event'" in str(text)
    assert parts_of(schema) == {"v": {"event": "v_arm_1", "forms": ["other"]}}


def test_part_names_are_identifiers_the_participant_model_can_use() -> None:
    schema = project(
        [field("record_id", "a"), field("b1", "b")],
        designations={"1_month_arm_1": ["a"], "copy_arm_1": ["b"]},
    )
    assert list(parts_of(schema)) == ["visit_1_month", "visit_copy"]


@pytest.mark.parametrize(
    ("metadata", "named"),
    [
        ([field("record_id", "a"), field("note", QUERY_FORM)], f"a form '{QUERY_FORM}'"),
        ([field("record_id", "a"), field("dq_status", "a")], "field 'dq_status' on form 'a'"),
    ],
)
def test_names_the_query_instrument_would_clash_with_are_refused(metadata, named) -> None:
    with pytest.raises(ConfigError, match=named):
        study_folder(project(metadata), written_on=WRITTEN_ON)


@pytest.mark.parametrize("schema", [ONE_ARM, TWO_ARMS], ids=["one arm", "two arms"])
def test_the_query_instrument_once_added_is_what_the_mapping_names(schema) -> None:
    folder = study_folder(schema, written_on=WRITTEN_ON)
    rows = dictionary_rows(str(folder.files[QUERY_CSV]))
    assert {r["form_name"] for r in rows} == {QUERY_FORM}
    assert len(rows) == len(QUERY_FIELDS)
    # The project after the steps: the instrument added, designated and repeating there.
    events = {e: schema.forms_of_event(e) for e in schema.event_names}
    for event in folder.query_place.events:
        events[event] = [*events[event], QUERY_FORM]
    added = project(
        [*(metadata_row(f) for f in schema.fields.values()), *rows],
        designations=events,
        repeating_forms=[
            *schema.repeating_forms,
            *((event, QUERY_FORM) for event in folder.query_place.events),
        ],
        repeating_events=schema.repeating_events,
    )
    spec = load_mapping_text(str(folder.files["mapping.toml"]))
    assert mapping_drift(spec, added) == []
    assert mapping_coverage(spec, added).problems == []


def metadata_row(f) -> dict[str, str]:
    choices = " | ".join(f"{c}, {label}" for c, label in f.choices.items())
    return field(
        f.name,
        f.form,
        f.field_type,
        select_choices_or_calculations=choices if f.field_type in ("radio", "dropdown") else "",
        text_validation_type_or_show_slider_number=f.validation or "",
    )


def load_mapping_text(text: str) -> MappingSpec:
    return MappingSpec.model_validate(tomllib.loads(text))


def test_the_instrument_zip_holds_the_csv_and_is_the_same_every_time() -> None:
    files = study_folder(TWO_ARMS, written_on=WRITTEN_ON).files
    archive = zipfile.ZipFile(io.BytesIO(files[QUERY_ZIP]))  # type: ignore[arg-type]
    assert archive.namelist() == [ZIP_MEMBER]
    assert archive.read(ZIP_MEMBER).decode("utf-8") == files[QUERY_CSV]
    assert study_folder(TWO_ARMS, written_on=WRITTEN_ON).files[QUERY_ZIP] == files[QUERY_ZIP]


def test_query_rows_have_every_role_of_the_mapping() -> None:
    assert [f.role for f in QUERY_FIELDS] == list(QueryFields.model_fields)
    rows = query_dictionary_rows("queries")
    assert [r["field_name"] for r in rows] == [f.name for f in QUERY_FIELDS]
    assert {r["form_name"] for r in rows} == {"queries"}


def uncommented(text: str) -> str:
    """The commented example, made live: the block after the first bare '#' line."""
    block = text.split("\n#\n", 1)[1]
    return "\n".join(line.removeprefix("# ") for line in block.splitlines()) + "\n"


@pytest.mark.parametrize("schema", [ONE_ARM, CLASSIC, demo_schema()], ids=["arm", "classic", "dNK"])
def test_the_example_logic_rule_adds_nothing_as_written_and_loads_once_uncommented(
    schema: ProjectSchema, tmp_path: Path
) -> None:
    text = str(study_folder(schema, written_on=WRITTEN_ON).files["rules/logic_rules.toml"])
    (tmp_path / "as_written.toml").write_text(text)
    assert load_logic_rules(tmp_path / "as_written.toml", schema) == ([], [])
    (tmp_path / "live.toml").write_text(uncommented(text))
    rules, problems = load_logic_rules(tmp_path / "live.toml", schema)
    assert problems == []
    assert [r.info.id for r in rules] == ["EX-01"]


def test_the_example_parameters_name_what_the_project_has(tmp_path: Path) -> None:
    text = str(study_folder(TWO_ARMS, written_on=WRITTEN_ON).files["rules/params.toml"])
    assert tomllib.loads(text) == {}
    live = tomllib.loads(uncommented(text))
    assert live["codes"] == {"sex": {"female": "1", "male": "2"}}
    assert name_problems(live, TWO_ARMS) == []


def test_the_config_points_at_the_folder_and_holds_no_connection(tmp_path: Path) -> None:
    write_folder(ONE_ARM, tmp_path)
    data = tomllib.loads((tmp_path / "config.toml").read_text())
    assert "redcap" not in data
    settings = load_settings(tmp_path / "config.toml")
    assert settings.study.mapping == tmp_path / "mapping.toml"
    assert settings.study.rules == tmp_path / "rules"
    assert settings.state_dir == tmp_path / "state"
    # The rules folder loads: no checks until one is written.
    ruleset = load_ruleset(
        tmp_path / "rules",
        schema=ONE_ARM,
        mapping=judged_mapping(load_mapping(tmp_path / "mapping.toml"), ONE_ARM),
    )
    assert ruleset.checks == []


def test_the_example_rule_once_uncommented_flags_a_date_after_today(tmp_path: Path) -> None:
    write_folder(ONE_ARM, tmp_path)
    logic = tmp_path / "rules" / "logic_rules.toml"
    logic.write_text(uncommented(logic.read_text()))
    mapping = judged_mapping(load_mapping(tmp_path / "mapping.toml"), ONE_ARM)
    rules = load_ruleset(tmp_path / "rules", schema=ONE_ARM, mapping=mapping)
    builder = ParticipantBuilder(mapping, ONE_ARM)
    rows = [
        {"record_id": rid, "redcap_event_name": "baseline_arm_1", "dm_dob": dob}
        for rid, dob in (("1", "2026-12-04"), ("2", "2026-12-06"), ("3", ""))
    ]
    run = rules.start(date(2026, 12, 5))
    found = [
        finding
        for record in group_rows(ONE_ARM, rows).values()
        for finding in run.check(builder.build(record), record)
    ]
    assert [(f.rule, f.record, f.field) for f in found] == [("EX-01", "2", "dm_dob")]


@pytest.mark.parametrize("name", ["two arms", "two-arm fixture"])
def test_a_mapping_with_visit_names_matches_a_project_with_several_arms(name: str) -> None:
    schema = TWO_ARMS if name == "two arms" else two_arm_schema()
    spec = MappingSpec.model_validate(mapping_data(schema))
    assert mapping_drift(judged_mapping(spec, schema), schema) == []
    assert mapping_coverage(judged_mapping(spec, schema), schema).problems == []
