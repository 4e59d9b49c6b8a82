"""The builder constructs participant models without re-validating values that already have
their fields' exact types: the models must be exactly those pydantic validation gives."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import BaseModel

from tests.support.nk_trial import demo_data
from tests.support.projects import REPO, demo_schema
from worker.core import mapping
from worker.core.mapping import ParticipantBuilder, load_mapping
from worker.core.records import RecordData, RowKey, group_rows
from worker.core.schema import ProjectSchema


@pytest.fixture(scope="module")
def schema() -> ProjectSchema:
    return demo_schema()


def validated(model: type[BaseModel], values: dict[str, Any]) -> BaseModel:
    return model(**values)


def snapshot(model: BaseModel) -> tuple[Any, ...]:
    """Everything that tells two models apart: values with their types, fields set, repr."""
    parts = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            value = snapshot(value)
        elif isinstance(value, list):
            value = [snapshot(v) if isinstance(v, BaseModel) else v for v in value]
        parts.append((name, type(value).__name__, value))
    return type(model).__name__, tuple(parts), frozenset(model.model_fields_set), repr(model)


@pytest.mark.slow
@pytest.mark.parametrize("as_of", [date(2026, 11, 26), date(2025, 3, 1)])
def test_constructed_participants_are_the_validated_ones(
    schema: ProjectSchema, as_of: date, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = load_mapping(REPO / "mappings" / "nk_trial.toml")
    records = list(group_rows(schema, demo_data().generate(as_of, participants=40)).values())
    fast = [snapshot(ParticipantBuilder(spec, schema).build(r)) for r in records]
    monkeypatch.setattr(mapping, "_construct", validated)
    slow = [snapshot(ParticipantBuilder(spec, schema).build(r)) for r in records]
    assert fast == slow


def test_values_of_other_types_are_validated_as_before(schema: ProjectSchema) -> None:
    """Hand-made records (not from an export) may hold what an export never does: those
    entries are validated, and coerced, exactly as before."""
    spec = load_mapping(REPO / "mappings" / "nk_trial.toml")
    builder = ParticipantBuilder(spec, schema)
    text_instance = RecordData(
        "7",
        {RowKey("treatment_arm_1", "", "1"): {"inf_date": "2026-01-05"}},  # type: ignore[arg-type]
    )
    (treatment,) = builder.build(text_instance).treatments
    assert treatment.instance == 1
    assert type(treatment.instance) is int
