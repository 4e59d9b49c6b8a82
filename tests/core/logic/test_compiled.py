"""Compiled logic (compiled.py) against the tree walker (evaluate.py): for a ``RecordContext``
``Expression.evaluate`` runs the compiled closures, which must give the same value, or raise
the same error, as walking the tree, for every expression on every row."""

from __future__ import annotations

import math
from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support import logic_project as RICH
from tests.support.examples import examples
from tests.support.logic_trees import compound
from tests.support.nk_trial import demo_data, schema
from worker.core.logic import Expression, LogicError, RecordContext, parse
from worker.core.logic.compiled import compiled_for
from worker.core.logic.evaluate import evaluate
from worker.core.logic.nodes import (
    EVENT_SMART_VARIABLES,
    INSTANCE_SMART_VARIABLES,
    STANDALONE_SMART_VARIABLES,
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


def contexts(record: RecordData) -> list[RecordContext]:
    """A context for every row of a demo record, as the checks build them."""
    return row_contexts(SCHEMA, record)


def outcome(run: object) -> tuple[str, object]:
    """("value", v) or ("error", type and message); NaN made comparable."""
    try:
        value = run()  # type: ignore[operator]
    except LogicError as error:
        return "error", (type(error).__name__, str(error))
    if isinstance(value, float) and math.isnan(value):
        return "value", "NaN"
    return "value", (type(value).__name__, value)


def assert_same(expr: Expression, ctx: RecordContext) -> None:
    compiled = outcome(lambda: expr.evaluate(ctx))
    walked = outcome(lambda: Expression(expr.node, source=expr.source).evaluate_walking(ctx))
    assert compiled == walked, (str(expr), ctx.event, ctx.instance)


def _walk(self: Expression, ctx: RecordContext) -> object:
    """What Expression.evaluate did before compiling: walk the tree, name the source."""
    try:
        return evaluate(self.node, ctx)
    except LogicError as error:
        if error.source is None and self.source is not None:
            raise error.with_source(self.source) from None
        raise


Expression.evaluate_walking = _walk  # type: ignore[attr-defined]


def test_a_record_context_gets_the_compiled_path_and_others_do_not() -> None:
    expr = parse("[enr_age] > 18")
    ctx = contexts(RECORDS[0])[0]
    assert compiled_for(expr, ctx) is not None
    assert compiled_for(expr, ctx) is compiled_for(expr, ctx)  # compiled once per schema
    assert compiled_for(expr, object()) is None  # type: ignore[arg-type]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: f"record {r.record_id}")
def test_the_projects_branching_logic_on_every_row_of_the_demo(record: RecordData) -> None:
    for field in SCHEMA.fields.values():
        if field.branching_logic:
            expr = parse(field.branching_logic, source=f"branching logic of {field.name}")
            for ctx in contexts(record):
                assert_same(expr, ctx)


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
@given(project_trees(SCHEMA), st.sampled_from(RECORDS), st.data())
def test_generated_logic_on_the_demo_project(
    node: Node, record: RecordData, data: st.DataObject
) -> None:
    expr = Expression(node, source="generated logic")
    for ctx in data.draw(st.lists(st.sampled_from(row_contexts(SCHEMA, record)), max_size=4)):
        assert_same(expr, ctx)


@examples(300)
@given(project_trees(RICH.SCHEMA), st.data())
def test_generated_logic_on_checkboxes_repeats_and_comma_decimals(
    node: Node, data: st.DataObject
) -> None:
    expr = Expression(node, source="generated logic")
    contexts = row_contexts(RICH.SCHEMA, RICH.RECORD)
    for ctx in data.draw(st.lists(st.sampled_from(contexts), min_size=1, max_size=4)):
        assert_same(expr, ctx)


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
def test_every_single_reference_reads_what_the_tree_walker_reads(
    schema: ProjectSchema, records: list[RecordData]
) -> None:
    for ref in every_reference(schema):
        expr = Expression(ref, source="one reference")
        for record in records:
            for ctx in row_contexts(schema, record):
                assert_same(expr, ctx)
