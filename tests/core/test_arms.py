"""Several arms: visit names (an event's name without ``_arm_N``) in mappings and queries,
resolved for each record to the event of its own arm."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from tests.support.projects import TWO_ARM_PROJECT, demo_schema, project_export, two_arm_schema
from worker.core.arms import arms_of_record, own_event
from worker.core.findings import Finding, Kind, Severity
from worker.core.logic import RecordContext, parse
from worker.core.mapping import MappingSpec, ParticipantBuilder, load_mapping, mapping_drift
from worker.core.queries import Action, QueryBook
from worker.core.records import RecordData, group_rows
from worker.core.rules import load_ruleset
from worker.core.rules.logic_rules import load_logic_rules, one_arm_names
from worker.core.schema import ProjectSchema
from worker.errors import MappingError


@pytest.fixture(scope="module")
def schema() -> ProjectSchema:
    return two_arm_schema()


@pytest.fixture(scope="module")
def spec() -> MappingSpec:
    return load_mapping(TWO_ARM_PROJECT / "mapping.toml")


def record(*rows: dict) -> RecordData:
    return group_rows(two_arm_schema(), [{"record_id": "9", **r} for r in rows])["9"]


def base(event: str, **values: str) -> dict:
    return {
        "redcap_event_name": event,
        "redcap_repeat_instrument": "",
        "redcap_repeat_instance": "",
        **values,
    }


def repeat(event: str, form: str, instance: int, **values: str) -> dict:
    return {
        "redcap_event_name": event,
        "redcap_repeat_instrument": form,
        "redcap_repeat_instance": instance,
        **values,
    }


# --- the schema's arms and visits ---------------------------------------------------------


def test_a_project_lists_its_arms(schema) -> None:
    assert schema.arms == [1, 2]
    assert demo_schema().arms == [1]


def test_a_visit_is_the_event_name_without_its_arm() -> None:
    assert ProjectSchema.visit_of("baseline_arm_2") == "baseline"
    assert ProjectSchema.visit_of("fu_m1_arm_12") == "fu_m1"
    assert ProjectSchema.visit_of("arm_1_visit_arm_1") == "arm_1_visit"


def test_a_visit_stands_for_its_event_in_every_arm_that_has_it(schema) -> None:
    assert schema.events_of_visit("screening") == ["screening_arm_1", "screening_arm_2"]
    assert schema.events_of_visit("week_8") == ["week_8_arm_2"]
    assert schema.events_of_visit("screening_arm_2") == ["screening_arm_2"]
    assert schema.events_of_visit("week_12") == []
    assert schema.is_visit("screening")
    assert not schema.is_visit("screening_arm_1")


def test_an_events_arm_and_a_visits_event_in_an_arm(schema) -> None:
    assert schema.arm_of("week_4_arm_2") == 2
    assert schema.arm_of("nowhere_arm_1") is None
    assert schema.event_in_arm("safety", 2) == "safety_arm_2"
    assert schema.event_in_arm("week_8", 1) is None


def test_a_records_arm_is_where_its_rows_are(schema) -> None:
    in_arm_2 = record(repeat("safety_arm_2", "adverse_event", 1, ae_onset="2026-05-01"))
    assert arms_of_record(schema, in_arm_2) == [2]
    assert own_event(schema, "queries", in_arm_2) == "queries_arm_2"
    assert own_event(schema, "week_8", record(base("week_4_arm_1"))) is None


# --- the mapping ---------------------------------------------------------------------------


def test_a_mapping_naming_visits_matches_a_two_arm_project(spec, schema) -> None:
    assert mapping_drift(spec, schema) == []


def test_a_name_that_is_neither_event_nor_visit_is_drift(schema) -> None:
    spec = MappingSpec.model_validate(
        {
            "study": "x",
            "parts": {
                "a": {"event": "week_12", "forms": ["visit"]},
                "b": {"events": ["week_4", "screening"], "forms": ["visit"]},
            },
        }
    )
    problems = mapping_drift(spec, schema)
    assert "part 'a': event 'week_12' is not in the project" in problems
    assert "part 'b': form 'visit' is not designated for any event of visit 'screening'" in problems


def test_each_participant_gets_its_own_arms_data(spec, schema) -> None:
    builder = ParticipantBuilder(spec, schema)
    rows = [
        {"record_id": "1", **base("screening_arm_1", enr_age="34")},
        {"record_id": "1", **base("week_4_arm_1", vis_weight="61.5")},
        {"record_id": "2", **base("screening_arm_2", enr_age="41")},
        {"record_id": "2", **base("week_8_arm_2", vis_weight="57.5")},
        {"record_id": "2", **repeat("safety_arm_2", "adverse_event", 3, ae_serious="1")},
    ]
    one, two = (builder.build(r) for r in group_rows(schema, rows).values())
    assert (one.screening.event, one.screening.enr_age) == ("screening_arm_1", 34)
    assert (two.screening.event, two.screening.enr_age) == ("screening_arm_2", 41)
    # A list part keeps each entry's position in `events`, whichever arm holds it.
    assert [(v.event, v.ordinal) for v in one.visits] == [("week_4_arm_1", 1)]
    assert [(v.event, v.ordinal, v.vis_weight) for v in two.visits] == [("week_8_arm_2", 2, 57.5)]
    assert one.adverse_events == []
    assert [(a.event, a.instance, a.ae_serious) for a in two.adverse_events] == [
        ("safety_arm_2", 3, True)
    ]


def test_full_event_names_still_map_one_arm(schema) -> None:
    spec = MappingSpec.model_validate(
        {"study": "x", "parts": {"s": {"event": "screening_arm_2", "forms": ["enrollment"]}}}
    )
    builder = ParticipantBuilder(spec, schema)
    rows = [{"record_id": "1", **base("screening_arm_1", enr_age="34")}]
    assert builder.build(group_rows(schema, rows)["1"]).s is None


# --- queries -----------------------------------------------------------------------------


def query_spec_with_event(spec: MappingSpec, event: str) -> MappingSpec:
    assert spec.queries is not None
    queries = spec.queries.model_copy(update={"event": event})
    return spec.model_copy(update={"queries": queries})


def test_a_query_event_must_exist_in_every_arm(spec, schema) -> None:
    problems = mapping_drift(query_spec_with_event(spec, "queries_arm_1"), schema)
    assert problems == [
        "queries: event 'queries_arm_1' is not in arm 2, whose records' queries would have "
        "nowhere to go: name the visit 'queries'"
    ]


def finding(event: str) -> Finding:
    return Finding(
        rule="DQ-RANGE",
        kind=Kind.QUERY,
        severity=Severity.MINOR,
        record="9",
        event=event,
        instrument="enrollment",
        instance=None,
        field="enr_age",
        message="Age is out of range.",
    )


def test_queries_are_written_in_the_records_own_arm(spec, schema) -> None:
    assert spec.queries is not None
    book = QueryBook(spec.queries, schema)
    in_arm_2 = record(base("screening_arm_2", enr_age="12"))
    assert book.event_of(in_arm_2) == "queries_arm_2"
    plan = book.reconcile(
        in_arm_2,
        [finding("screening_arm_2")],
        ran=lambda rule: True,
        now=datetime(2026, 6, 1, tzinfo=UTC),
    )
    [change] = plan.changes
    assert change.action is Action.CREATE
    assert change.row["redcap_event_name"] == "queries_arm_2"


def test_queries_already_written_are_read_where_they_are(spec, schema) -> None:
    assert spec.queries is not None
    book = QueryBook(spec.queries, schema)
    written = record(
        base("screening_arm_2", enr_age="12"),
        repeat("queries_arm_2", "data_query", 4, dq_id="abc", dq_rule="DQ-RANGE", dq_status="1"),
    )
    assert [(q.instance, q.query_id) for q in book.read(written)] == [(4, "abc")]
    assert book.next_instance(written) == 5


def test_a_record_in_no_arm_with_a_query_event_is_refused(spec, schema) -> None:
    assert spec.queries is not None
    book = QueryBook(spec.queries, schema)
    with pytest.raises(MappingError, match="record 9: none of its arms has the query event"):
        book.event_of(RecordData("9"))


def test_the_fixture_rows_sit_in_both_arms() -> None:
    events = {row["redcap_event_name"] for row in project_export(TWO_ARM_PROJECT, "rows")}
    assert {two_arm_schema().arm_of(e) for e in events} == {1, 2}


# --- logic rules ----------------------------------------------------------------------------

RULES = TWO_ARM_PROJECT / "rules" / "logic_rules.toml"


def test_logic_rules_naming_visits_run_in_every_arm(schema) -> None:
    rules, problems = load_logic_rules(RULES, schema)
    assert problems == []
    visit_rule = next(r for r in rules if r.info.id == "TA-VIS-01")
    assert [p.event for p in visit_rule.places] == ["week_4_arm_1", "week_4_arm_2", "week_8_arm_2"]


def is_true(logic: str, record: RecordData, event: str) -> bool:
    context = RecordContext(schema=two_arm_schema(), record=record, event=event)
    return parse(logic).is_true(context)


def test_a_visit_reference_reads_the_rows_own_arm() -> None:
    in_arm_2 = record(base("screening_arm_2", enr_date="2026-04-01"), base("week_4_arm_2"))
    assert not is_true("[screening][enr_date] = ''", in_arm_2, "week_4_arm_2")
    assert is_true("[screening][enr_date] = '2026-04-01'", in_arm_2, "week_4_arm_2")


def test_a_reference_to_one_arms_event_is_read_as_written() -> None:
    in_arm_2 = record(base("screening_arm_2", enr_date="2026-04-01"), base("week_4_arm_2"))
    assert is_true("[screening_arm_1][enr_date] = ''", in_arm_2, "week_4_arm_2")


def test_a_visit_the_rows_arm_lacks_reads_blank() -> None:
    in_arm_1 = record(base("week_4_arm_1", vis_weight="60"))
    assert is_true("[week_8][vis_weight] = ''", in_arm_1, "week_4_arm_1")


def test_one_arms_events_in_rules_are_named(tmp_path: Path, schema) -> None:
    path = tmp_path / "logic_rules.toml"
    path.write_text(
        RULES.read_text(encoding="utf-8")
        .replace("[screening][enr_date]", "[screening_arm_1][enr_date]")
        .replace('events = ["week_4", "week_8"]', 'events = ["week_4_arm_1", "week_8_arm_2"]'),
        encoding="utf-8",
    )
    assert one_arm_names(path, schema) == [
        "logic_rules.toml: rule TA-VIS-01 names arm 1's event 'week_4_arm_1' (events = [..., "
        "'week_4_arm_1']) in a project with 2 arms; use the visit name 'week_4' to mean each "
        "participant's own arm",
        "logic_rules.toml: rule TA-VIS-01 names arm 1's event 'screening_arm_1' "
        "([screening_arm_1][enr_date]) in a project with 2 arms; use the visit name "
        "'screening' to mean each participant's own arm",
    ]
    assert one_arm_names(RULES, schema) == []


# --- study checks whose hits name a part --------------------------------------------------

MISSING_WEEK_4 = """
from worker.core.rules.declare import at_part, check


@check("TA-WK4-01", kind="deviation", severity="major", title="Week 4 visit missing")
def week_4_missing(participant, as_of, params):
    if participant.screening is not None and not participant.visits:
        yield at_part("visits", "vis_date", "No week 4 visit.", ordinal=1)
"""


def test_a_hit_on_a_part_naming_a_visit_lands_in_the_participants_arm(
    tmp_path: Path, spec, schema
) -> None:
    (tmp_path / "checks.py").write_text(MISSING_WEEK_4, encoding="utf-8")
    ruleset = load_ruleset(tmp_path, schema=schema, mapping=spec)
    builder = ParticipantBuilder(spec, schema)
    rows = [
        {"record_id": "1", **base("screening_arm_1", enr_age="34")},
        {"record_id": "2", **base("screening_arm_2", enr_age="41")},
    ]
    run = ruleset.start(date(2026, 7, 1))
    found = [
        (f.record, f.event)
        for r in group_rows(schema, rows).values()
        for f in run.check(builder.build(r), r)
    ]
    assert found == [("1", "week_4_arm_1"), ("2", "week_4_arm_2")]
