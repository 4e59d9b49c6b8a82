"""The dNK trial's own branching logic (demo/nk_trial/metadata.json), evaluated on rows the
way the protocol's DQ-REQUIRED and DQ-HIDDEN checks do."""

from __future__ import annotations

from datetime import date

import pytest

from tests.support.projects import demo_schema
from worker.core.logic import RecordContext, parse, reference_problems
from worker.core.records import RecordData, RowKey

TODAY = date(2026, 11, 26)


SCHEMA = demo_schema()


def _branching() -> dict[str, str]:
    logic: dict[str, str] = {}
    for field in SCHEMA.fields.values():
        if field.branching_logic:
            logic[field.name] = field.branching_logic
    return logic


BRANCHING = _branching()


def test_the_project_has_branching_logic() -> None:
    assert len(BRANCHING) == 25


@pytest.mark.parametrize("name", sorted(BRANCHING))
def test_every_branching_logic_parses_resolves_and_round_trips(name: str) -> None:
    expr = parse(BRANCHING[name], source=f"branching logic of field {name}")
    assert reference_problems(expr.field_refs, SCHEMA) == []
    assert parse(str(expr)) == expr


def pregnancy_row(instance: int, **values: str) -> tuple[RecordData, RecordContext]:
    key = RowKey("pregnancy_arm_1", "pregnancy", instance)
    record = RecordData("NK-001", {key: dict(values)})
    ctx = RecordContext(
        schema=SCHEMA,
        record=record,
        event="pregnancy_arm_1",
        instance=instance,
        repeat_instrument="pregnancy",
        today=TODAY,
        now=None,
    )
    return record, ctx


@pytest.mark.parametrize(
    ("field", "values", "shown"),
    [
        # pg_end_date: [pg_outcome] <> '1' and [pg_outcome] <> ''
        ("pg_end_date", {"pg_outcome": ""}, False),
        ("pg_end_date", {"pg_outcome": "1"}, False),
        ("pg_end_date", {"pg_outcome": "2"}, True),
        ("pg_end_date", {"pg_outcome": "3"}, True),
        ("pg_end_date", {"pg_outcome": "1.0"}, False),  # compared as numbers
        ("pg_end_date", {"pg_outcome": "9"}, True),  # an invalid code is still "not 1"
        # pg_delivery_ga_wk: [pg_outcome] = '2' or [pg_outcome] = '5'
        ("pg_delivery_ga_wk", {"pg_outcome": "2"}, True),
        ("pg_delivery_ga_wk", {"pg_outcome": "5"}, True),
        ("pg_delivery_ga_wk", {"pg_outcome": "3"}, False),
        ("pg_delivery_ga_wk", {"pg_outcome": ""}, False),
        # pg_lmp_date: [pg_hcg_pos] = '1' (yes/no)
        ("pg_lmp_date", {"pg_hcg_pos": "1"}, True),
        ("pg_lmp_date", {"pg_hcg_pos": "0"}, False),
        ("pg_lmp_date", {}, False),
        # pg_preeclampsia: [pg_ongoing] = '1'
        ("pg_preeclampsia", {"pg_ongoing": "1"}, True),
        ("pg_preeclampsia", {"pg_ongoing": ""}, False),
    ],
)
def test_pregnancy_branching(field: str, values: dict[str, str], shown: bool) -> None:
    _, ctx = pregnancy_row(2, **values)
    assert parse(BRANCHING[field]).is_true(ctx) is shown


def test_each_pregnancy_instance_reads_its_own_outcome() -> None:
    rows = {
        RowKey("pregnancy_arm_1", "pregnancy", 1): {"pg_outcome": "1"},
        RowKey("pregnancy_arm_1", "pregnancy", 2): {"pg_outcome": "3"},
        RowKey("pregnancy_arm_1", "pregnancy", 3): {"pg_outcome": ""},
    }
    record = RecordData("NK-001", rows)
    base = RecordContext(schema=SCHEMA, record=record, today=TODAY)
    expr = parse(BRANCHING["pg_end_date"])
    assert [expr.is_true(base.at(key)) for key in rows] == [False, True, False]


@pytest.mark.parametrize(("signed", "shown"), [("1", True), ("0", False), ("", False)])
def test_consent_branching(signed: str, shown: bool) -> None:
    key = RowKey("screening_arm_1", "", None)
    record = RecordData("NK-001", {key: {"icf_signed": signed}})
    ctx = RecordContext(schema=SCHEMA, record=record, event="screening_arm_1", today=TODAY)
    for name in ("icf_date", "icf_version"):
        assert BRANCHING[name] == "[icf_signed] = '1'"
        assert parse(BRANCHING[name]).is_true(ctx) is shown


def test_references_of_a_branching_logic() -> None:
    assert parse(BRANCHING["pg_end_date"]).references == frozenset({(None, "pg_outcome")})
