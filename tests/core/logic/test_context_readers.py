"""RecordContext's readers (context.py): each reference is resolved once per project and
kept, so what a row reads must not depend on what was read before, nor on which rows came
first; and what ``reference_problems`` lists up front is exactly what reading would raise."""

from __future__ import annotations

import gc
import math
import random
from collections.abc import Callable
from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support import logic_project as RICH
from tests.support.examples import examples
from tests.support.logic_trees import compound
from tests.support.nk_trial import demo_data, schema
from worker.core.logic import (
    Expression,
    LogicError,
    LogicReferenceError,
    RecordContext,
    parse,
    reference_problems,
)
from worker.core.logic import context as context_module
from worker.core.logic.nodes import (
    EVENT_SMART_VARIABLES,
    INSTANCE_SMART_VARIABLES,
    STANDALONE_SMART_VARIABLES,
    Binary,
    Boolean,
    FieldRef,
    Node,
    Number,
    SmartVariable,
    String,
)
from worker.core.records import RecordData, group_rows
from worker.core.schema import ProjectSchema

SCHEMA = schema()
TODAY = date(2026, 11, 26)
RECORDS = list(group_rows(SCHEMA, demo_data().generate(TODAY)).values())


def outcome(run: Callable[[], object]) -> tuple[str, object]:
    """("value", v) or ("error", type and message); NaN made comparable."""
    try:
        value = run()
    except LogicError as error:
        return "error", (type(error).__name__, str(error))
    if isinstance(value, float) and math.isnan(value):
        return "value", "NaN"
    return "value", (type(value).__name__, value)


def fresh(schema: ProjectSchema) -> ProjectSchema:
    """An equal project that no context has read yet (readers are kept per project)."""
    return ProjectSchema.from_json(schema.to_json())


def outcomes(expr: Expression, contexts: list[RecordContext]) -> list[tuple[str, object]]:
    return [outcome(lambda ctx=ctx: expr.evaluate(ctx)) for ctx in contexts]  # type: ignore[misc]


def assert_order_free(expr: Expression, schema: ProjectSchema, record: RecordData) -> None:
    """Rows read first by a project no context has read, then again in another order and
    with the readers warm, give the same outcomes."""
    first = outcomes(expr, row_contexts(fresh(schema), record))
    contexts = row_contexts(schema, record)
    order = list(range(len(contexts)))
    random.Random(len(order)).shuffle(order)
    shuffled = outcomes(expr, [contexts[i] for i in order])
    again = outcomes(expr, contexts)
    assert [shuffled[order.index(i)] for i in range(len(order))] == first, str(expr)
    assert again == first, str(expr)


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: f"record {r.record_id}")
def test_the_projects_branching_logic_reads_the_same_in_any_order(record: RecordData) -> None:
    for field in SCHEMA.fields.values():
        if field.branching_logic:
            expr = parse(field.branching_logic, source=f"branching logic of {field.name}")
            assert_order_free(expr, SCHEMA, record)


def test_a_tree_is_compiled_when_the_expression_is_made() -> None:
    # Compiling is done once, up front: a tree the evaluator cannot run fails there, not
    # on the first row.
    with pytest.raises(TypeError, match="not a logic node"):
        Expression(Binary("=", FieldRef("a"), "1"))  # type: ignore[arg-type]


def test_readers_go_with_their_project() -> None:
    before = len(context_module._READINGS)
    for _ in range(5):
        schema = fresh(SCHEMA)
        parse("[enr_age] > 18").is_true(row_contexts(schema, RECORDS[0])[0])
        del schema
    gc.collect()
    assert len(context_module._READINGS) == before


# --- generated trees over a project's own fields and events ---------------------------------


def project_trees(schema: ProjectSchema) -> st.SearchStrategy[Node]:
    fields = sorted(schema.fields)
    checkboxes = sorted(
        (name, code) for name, f in schema.fields.items() if f.is_checkbox for code in f.choices
    )
    events = [e.unique_name for e in schema.events]
    forms = [f"{form}_complete" for form in schema.forms]
    refs = st.builds(
        FieldRef,
        field=st.sampled_from([*fields, *forms, "no_such_field"]),
        event=st.none() | st.sampled_from([*events, *sorted(EVENT_SMART_VARIABLES), "nope"]),
        instance=st.none() | st.integers(1, 3) | st.sampled_from(sorted(INSTANCE_SMART_VARIABLES)),
    )
    if checkboxes:
        refs |= st.sampled_from(checkboxes).flatmap(
            lambda pair: st.builds(
                FieldRef,
                field=st.just(pair[0]),
                code=st.sampled_from([pair[1], "99", None]),
                event=st.none() | st.sampled_from(events),
            )
        )
    leaves: st.SearchStrategy[Node] = st.one_of(
        refs,
        refs,
        st.sampled_from([0.0, 1.0, 2.0, 18.0, 0.5, 72.5]).map(Number),
        st.sampled_from(["", "0", "1", "2", "1.0", "A", "abc", "2026-01-01"]).map(String),
        st.builds(Boolean, st.booleans()),
        st.sampled_from(sorted(STANDALONE_SMART_VARIABLES)).map(SmartVariable),
    )

    return st.recursive(leaves, compound, max_leaves=12)


def row_contexts(schema: ProjectSchema, record: RecordData) -> list[RecordContext]:
    return [
        RecordContext(
            schema=schema,
            record=record,
            event=key.event,
            instance=key.instance,
            repeat_instrument=key.repeat_instrument,
            today=TODAY,
            now=datetime(2026, 11, 26, 9, 30),
            missing_codes={"UNK"},
        )
        for key in record.rows
    ]


@examples(300)
@given(project_trees(SCHEMA), st.sampled_from(RECORDS))
def test_generated_logic_on_the_demo_project(node: Node, record: RecordData) -> None:
    expr = Expression(node, source="generated logic")
    assert_order_free(expr, SCHEMA, record)


@examples(300)
@given(project_trees(RICH.SCHEMA))
def test_generated_logic_on_checkboxes_repeats_and_comma_decimals(node: Node) -> None:
    expr = Expression(node, source="generated logic")
    assert_order_free(expr, RICH.SCHEMA, RICH.RECORD)


def every_reference(schema: ProjectSchema) -> list[FieldRef]:
    events = [None, "event-name", *(e.unique_name for e in schema.events)]
    events += sorted(EVENT_SMART_VARIABLES - {"event-name"})
    refs = []
    for name, definition in schema.fields.items():
        codes = [None, *definition.choices] if definition.is_checkbox else [None]
        for event in events:
            for code in codes:
                for instance in (None, 2, "previous-instance"):
                    refs.append(FieldRef(name, event=event, code=code, instance=instance))
    return refs


@pytest.mark.parametrize(
    ("schema", "records"),
    [
        pytest.param(SCHEMA, RECORDS[:3], id="demo project", marks=pytest.mark.slow),
        pytest.param(RICH.SCHEMA, [RICH.RECORD], id="checkboxes, repeats, comma decimals"),
        pytest.param(RICH.SCHEMA, [RICH.PADDED], id="padded values"),
    ],
)
def test_every_single_reference_reads_the_same_in_any_order_and_fails_as_listed(
    schema: ProjectSchema, records: list[RecordData]
) -> None:
    for ref in every_reference(schema):
        expr = Expression(ref, source="one reference")
        listed = reference_problems([ref], schema)
        for record in records:
            assert_order_free(expr, schema, record)
            for ctx in row_contexts(schema, record):
                assert problem_reading(expr, ctx) == (listed[0] if listed else None), ref


def problem_reading(expr: Expression, ctx: RecordContext) -> str | None:
    try:
        expr.evaluate(ctx)
    except LogicReferenceError as error:
        return error.problem
    return None
