"""context.py: which stored value a reference reads (RecordContext), and the dict-backed
MappingContext."""

from __future__ import annotations

import math
from datetime import date, datetime

import pytest

from tests.support.logic_project import (
    BASELINE,
    EVENTS,
    MAPPING,
    METADATA,
    PADDED,
    RECORD,
    REPEATING,
    SCHEMA,
    TODAY,
    ae,
    field,
    validation,
    visit,
)
from worker.core.logic import (
    LogicReferenceError,
    MappingContext,
    RecordContext,
    Value,
    own_row_columns,
    parse,
    reference_problems,
)
from worker.core.logic.nodes import FieldRef
from worker.core.records import RecordData, RowKey
from worker.core.schema import ProjectSchema


def ctx_at(key: RowKey, record: RecordData = RECORD) -> RecordContext:
    return RecordContext(
        schema=SCHEMA,
        record=record,
        event=key.event,
        instance=key.instance,
        repeat_instrument=key.repeat_instrument,
        today=TODAY,
        now=None,
    )


def ev(logic: str, key: RowKey) -> Value:
    return parse(logic).evaluate(ctx_at(key))


@pytest.mark.parametrize(
    ("logic", "key", "expected"),
    [
        # [field]: the row's own event (and own instance where it repeats).
        ("[age]", BASELINE, 34.0),
        ("[name]", BASELINE, "Ann"),
        ("[v_weight]", visit(2), 71.0),
        ("[ae_term]", ae(2), "Nausea"),
        # A non-repeating form in an event with a repeating instrument: the base row.
        ("[v_weight]", ae(2), 80.0),
        # [event][field]: that event's base row ...
        ("[baseline_arm_1][age]", ae(2), 34.0),
        ("[baseline_arm_1][age]", visit(3), 34.0),
        ("[followup_arm_1][v_weight]", visit(2), 80.0),
        # ... or, where it repeats, the same instance number (instance 1 from a base row).
        ("[visit_arm_1][v_weight]", ae(2), 71.0),
        ("[visit_arm_1][v_weight]", BASELINE, 70.0),
        ("[followup_arm_1][ae_term]", visit(1), "Headache"),
        # Explicit instances.
        ("[visit_arm_1][v_weight][3]", BASELINE, 72.0),
        ("[ae_term][1]", ae(2), "Headache"),
        ("[v_weight][current-instance]", visit(3), 72.0),
        ("[v_weight][previous-instance]", visit(3), 71.0),
        ("[v_weight][next-instance]", visit(2), 72.0),
        ("[v_weight][first-instance]", visit(3), 70.0),
        ("[v_weight][last-instance]", visit(1), 72.0),
        ("[followup_arm_1][ae_term][last-instance]", BASELINE, "Nausea"),
        # An instance suffix on a field that does not repeat there is ignored.
        ("[baseline_arm_1][age][2]", visit(2), 34.0),
        # Checkbox options read field___code columns; unticked or unsaved reads as 0.
        ("[race(1)]", BASELINE, 1.0),
        ("[race(2)]", BASELINE, 0.0),
        ("[race(-1)]", BASELINE, 0.0),
        ("[baseline_arm_1][race(1)]", visit(1), 1.0),
        ("[other_arm_2][race(1)]", BASELINE, 0.0),
        # Form status fields.
        ("[demo_complete]", BASELINE, 2.0),
        # Comma-decimal numbers are read with a point.
        ("[weight_eu]", BASELINE, 72.5),
        # The field's own event, named through a smart variable.
        ("[event-name][age]", BASELINE, 34.0),
        ("[previous-event-name][age]", visit(2), 34.0),
        ("[next-event-name][v_weight]", visit(2), 80.0),
        ("[first-event-name][name]", ae(1), "Ann"),
        ("[last-event-name][v_weight]", BASELINE, 80.0),  # last event of arm 1
        # Standalone smart variables.
        ("[record-name]", visit(2), "101"),
        ("[record-dag-name]", visit(2), "site_a"),
        ("[event-name]", visit(2), "visit_arm_1"),
        ("[previous-event-name]", visit(2), "baseline_arm_1"),
        ("[previous-event-name]", BASELINE, ""),
        ("[current-instance]", visit(2), "2"),
        ("[current-instance]", BASELINE, ""),
        ("[arm-number]", visit(2), "1"),
    ],
)
def test_reads(logic: str, key: RowKey, expected: Value) -> None:
    result = ev(logic, key)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("logic", "key"),
    [
        ("[age]", visit(1)),  # demo is not designated for the visit event: no column
        ("[v_weight][previous-instance]", visit(1)),  # there is no instance 0
        ("[v_weight][next-instance]", visit(3)),  # no instance 4 yet
        ("[ae_term][5]", ae(1)),
        ("[previous-event-name][age]", BASELINE),  # baseline is the first event
        ("[other_arm_2][age]", BASELINE),  # no row for that event
        ("[intro]", BASELINE),  # descriptive fields hold nothing
        ("[v_date]", visit(3)),
    ],
)
def test_blank_reads(logic: str, key: RowKey) -> None:
    assert parse(f"{logic} = ''").evaluate(ctx_at(key)) is True


def test_row_logic_of_the_protocol_shape() -> None:
    # Evaluated for each instance of a repeating instrument, reading the same instance.
    expr = parse("[ae_grade] = '2' and [baseline_arm_1][sex] = '2'")
    assert [expr.is_true(ctx_at(ae(i))) for i in (1, 2)] == [False, True]


@pytest.mark.parametrize(
    ("name", "numeric"),
    [
        ("age", True),  # integer
        ("height", True),  # number_1dp
        ("weight_eu", True),  # number_comma_decimal
        ("v_weight", True),  # number
        ("bmi", True),  # calc
        ("pain", True),  # slider
        ("smoker", True),  # yesno
        ("agree", True),  # truefalse
        ("sex", True),  # radio, all codes numeric
        ("race", True),  # checkbox, all codes numeric (incl. -1)
        ("ae_grade", True),
        ("grade", False),  # dropdown with letter codes
        ("name", False),
        ("dob", False),  # dates compare as text
        ("comments", False),
        ("scan", False),
        ("demo_complete", True),  # form status
        ("nonexistent", False),
    ],
)
def test_is_numeric(name: str, numeric: bool) -> None:
    assert ctx_at(BASELINE).is_numeric(name) is numeric


def test_numeric_fields_are_blank_as_nan_text_fields_as_empty() -> None:
    record = RecordData("1", {BASELINE: {"age": "", "name": ""}})
    ctx = ctx_at(BASELINE, record)
    age = parse("[age]").evaluate(ctx)
    assert isinstance(age, float)
    assert math.isnan(age)
    assert parse("[name]").evaluate(ctx) == ""
    assert parse("[age] = '' and [name] = ''").evaluate(ctx) is True


SOURCE = "branching logic of field pg_end_date"


@pytest.mark.parametrize(
    ("logic", "problem"),
    [
        ("[nope] = 1", "[nope]: no such field in the project"),
        ("[race] = '1'", "[race] is a checkbox; name one option, like [race(1)]"),
        ("[race(9)] = '1'", "[race(9)]: checkbox race has no option 9"),
        ("[sex(1)] = '1'", "[sex(1)]: sex is not a checkbox"),
        ("[demo_complete(1)] = '1'", "[demo_complete(1)]: demo_complete is not a checkbox"),
        ("[visit_arm_9][age] = 1", "[visit_arm_9]: the project has no event visit_arm_9"),
    ],
)
def test_references_the_project_lacks_raise_with_the_source(logic: str, problem: str) -> None:
    expr = parse(logic, source=SOURCE)
    with pytest.raises(LogicReferenceError) as caught:
        expr.evaluate(ctx_at(BASELINE))
    assert caught.value.problem == problem
    assert str(caught.value) == f"Logic error in {SOURCE}: {problem}"
    assert reference_problems(expr.field_refs, SCHEMA) == [problem]


def test_reference_problems_lists_all_and_accepts_good_logic() -> None:
    assert reference_problems(
        parse("[age] > 1 and [nope] = 1 and [race] = 1").field_refs, SCHEMA
    ) == [
        "[nope]: no such field in the project",
        "[race] is a checkbox; name one option, like [race(1)]",
    ]
    good = "[baseline_arm_1][race(-1)] = '1' or [previous-event-name][v_weight][2] > 0"
    assert reference_problems(parse(good).field_refs, SCHEMA) == []


CLASSIC = ProjectSchema.from_exports(
    project_info={"is_longitudinal": 0},
    metadata=[
        field("record_id", "main"),
        field("score", "main", **validation("integer")),
        field("med", "meds"),
    ],
    repeating=[{"event_name": "", "form_name": "meds"}],
)


def test_classic_project() -> None:
    record = RecordData(
        "7",
        {
            RowKey(None, "", None): {"score": "3"},
            RowKey(None, "meds", 1): {"med": "aspirin"},
            RowKey(None, "meds", 2): {"med": "ibuprofen"},
        },
    )
    base = RecordContext(schema=CLASSIC, record=record, today=TODAY)
    meds2 = base.at(RowKey(None, "meds", 2))
    assert parse("[score] = 3").evaluate(base) is True
    assert parse("[med]").evaluate(meds2) == "ibuprofen"
    assert parse("[med][first-instance]").evaluate(base) == "aspirin"
    assert parse("[score] + 1").evaluate(meds2) == 4.0
    assert parse("[event-name][score]").evaluate(base) == 3.0
    with pytest.raises(LogicReferenceError, match="a classic project has no events"):
        parse("[base_arm_1][score]").evaluate(base)


def test_at_keeps_record_schema_and_clock() -> None:
    now = datetime(2026, 11, 26, 9, 0)
    ctx = RecordContext(schema=SCHEMA, record=RECORD, today=TODAY, now=now, missing_codes={"UNK"})
    moved = ctx.at(visit(3))
    assert (moved.event, moved.instance, moved.repeat_instrument) == ("visit_arm_1", 3, "")
    assert (moved.today, moved.now, moved.missing_codes) == (TODAY, now, frozenset({"UNK"}))
    assert parse("[v_weight]").evaluate(moved) == 72.0


def test_clock_defaults() -> None:
    ctx = RecordContext(schema=SCHEMA, record=RECORD, today=TODAY)
    assert ctx.now == datetime(2026, 11, 26, 0, 0)
    assert RecordContext(schema=SCHEMA, record=RECORD).today == date.today()


def test_missing_codes_reach_the_functions() -> None:
    record = RecordData("1", {BASELINE: {"age": "UNK"}})
    ctx = RecordContext(
        schema=SCHEMA, record=record, event="baseline_arm_1", today=TODAY, missing_codes={"UNK"}
    )
    assert parse("isblankormissingcode([age])").evaluate(ctx) is True
    assert parse("[age] = 'UNK'").evaluate(ctx) is True


def test_the_schemas_missing_codes_are_the_default() -> None:
    schema = SCHEMA.model_copy(update={"missing_codes": {"NA": "Not applicable"}})
    record = RecordData("1", {BASELINE: {"age": "NA"}})
    ctx = RecordContext(schema=schema, record=record, event="baseline_arm_1", today=TODAY)
    assert ctx.missing_codes == frozenset({"NA"})
    assert parse("hasmissingcode([age], 'NA')").evaluate(ctx) is True
    assert RecordContext(schema=schema, record=record, missing_codes=()).missing_codes == set()


def test_a_checkbox_missing_code_column_can_be_named_like_an_option() -> None:
    schema = ProjectSchema.from_exports(
        project_info={"is_longitudinal": 1, "missing_data_codes": "UNK, Unknown"},
        metadata=METADATA,
        events=EVENTS,
        form_event_mapping=MAPPING,
        repeating=REPEATING,
    )
    record = RecordData("1", {BASELINE: {"race___1": "0", "race___unk": "1"}})
    ctx = RecordContext(schema=schema, record=record, event="baseline_arm_1", today=TODAY)
    assert parse("[race(UNK)] = '1' and [race(1)] = '0'").evaluate(ctx) is True
    assert reference_problems(parse("[race(UNK)]").field_refs, schema) == []
    assert reference_problems(parse("[race(UNK)]").field_refs, SCHEMA) != []  # no codes: no column


@pytest.mark.parametrize(
    ("logic", "expected"),
    [
        ("[age] = 34", True),
        ("[age] > 33", True),
        ("[height] = 1.8", True),
        ("[weight_eu] = 72.5", True),
        ("[dob] = '1992-03-04'", True),
        ("[dob] > '1992-03-03'", True),  # compared as text: a leading space would sort first
        ("datediff([dob], '1992-03-05', 'd')", 1.0),
        ("[grade] = 'A'", True),
        ("[race(1)] = '1'", True),
        ("[race(2)] = '0'", True),  # only spaces: unticked
        ("[sex] = ''", True),  # only spaces: blank
        ("[sex] <> ''", False),
        ("isblankormissingcode([sex])", True),
        ("[comments] = ''", True),
        ("[name] = '  Ann '", True),  # free text is read as it is
        ("length([name])", 6.0),
        ("[demo_complete] = 2", True),
        ("[visit_arm_1][v_weight][1] = ''", True),
        ("[visit_arm_1][v_date][1] = '2026-01-01'", True),
    ],
)
def test_only_spaces_is_blank_and_formatted_values_are_read_trimmed(
    logic: str, expected: object
) -> None:
    ctx = RecordContext(schema=SCHEMA, record=PADDED, event="baseline_arm_1", today=TODAY)
    assert parse(logic).evaluate(ctx) == expected


def test_mapping_context_is_keyed_by_reference_text() -> None:
    ctx = MappingContext(
        {"[age]": "4", "[e_arm_1][race(2)][last-instance]": "1"}, numeric={"age"}, today=TODAY
    )
    assert ctx.lookup(FieldRef("age")) == "4"
    assert ctx.lookup(FieldRef("race", "e_arm_1", "2", "last-instance")) == "1"
    assert ctx.lookup(FieldRef("other")) == ""
    assert ctx.is_numeric("age")
    assert not ctx.is_numeric("other")
    assert ctx.now == datetime(2026, 11, 26)


@pytest.mark.parametrize(
    ("logic", "event", "instrument", "columns"),
    [
        # Plain references to the row's own form: the columns read, sorted.
        ("[sex] = '1' and [age] > 18", "baseline_arm_1", "", ("age", "sex")),
        ("[race(2)] = '1'", "baseline_arm_1", "", ("race___2",)),
        ("[ae_grade] = '2'", "followup_arm_1", "ae", ("ae_grade",)),
        # A repeating event's row is its own instance: plain references read it.
        ("[v_weight] > 50", "visit_arm_1", "", ("v_weight",)),
        # Another row, a named event, a function or a smart variable: not the row alone.
        ("[ae_grade] = '2'", "followup_arm_1", "", None),
        ("[v_weight] > 50", "followup_arm_1", "ae", None),
        ("[baseline_arm_1][sex] = '1'", "baseline_arm_1", "", None),
        ("datediff([dob], 'today', 'y') > 18", "baseline_arm_1", "", None),
        ("[event-name] = 'baseline_arm_1'", "baseline_arm_1", "", None),
        # A whole checkbox, an unknown field, a dataless field: never remembered by value.
        ("[race] = '1'", "baseline_arm_1", "", None),
        ("[nowhere] = '1'", "baseline_arm_1", "", None),
        ("[intro] = ''", "baseline_arm_1", "", None),
    ],
)
def test_logic_that_reads_only_its_own_row_names_the_columns_it_reads(
    logic: str, event: str, instrument: str, columns: tuple[str, ...] | None
) -> None:
    assert own_row_columns(parse(logic).node, SCHEMA, event, instrument) == columns
