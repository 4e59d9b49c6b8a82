"""Which events and arms a mapping covers (worker/core/coverage.py): in a project with
several arms, an arm or an event holding forms the mapping reads but no part names is a
problem; an event holding only forms no part reads is a note."""

from __future__ import annotations

import tomllib

from tests.support.projects import REPO, TWO_ARM_PROJECT, demo_schema, two_arm_schema
from worker.core.coverage import Coverage, mapping_coverage
from worker.core.mapping import MappingSpec, load_mapping


def one_arm_mapping() -> MappingSpec:
    text = (TWO_ARM_PROJECT / "mapping.toml").read_text(encoding="utf-8")
    for visit in ("screening", "week_4", "week_8", "safety", "queries"):
        text = text.replace(f'"{visit}"', f'"{visit}_arm_1"')
    return MappingSpec.model_validate(tomllib.loads(text.replace('"week_8_arm_1"', "")))


def test_a_mapping_naming_visits_covers_every_arm() -> None:
    spec = load_mapping(TWO_ARM_PROJECT / "mapping.toml")
    assert mapping_coverage(spec, two_arm_schema()) == Coverage()


def test_a_one_arm_mapping_leaves_the_other_arm_uncovered() -> None:
    coverage = mapping_coverage(one_arm_mapping(), two_arm_schema())
    assert coverage.problems[0].startswith("arm 2 is not covered: the mapping names none of its")
    uncovered = [p.split("'")[1] for p in coverage.problems[1:]]
    assert uncovered == ["screening_arm_2", "week_4_arm_2", "week_8_arm_2", "safety_arm_2"]
    assert "name the visit 'week_4' to cover it in every arm" in coverage.problems[2]
    # The other arm's query event holds only the query form, which no part reads.
    assert [n.split("'")[1] for n in coverage.notes] == ["queries_arm_2"]


def test_a_single_arm_project_has_no_coverage_to_judge() -> None:
    dnk = load_mapping(REPO / "mappings" / "nk_trial.toml")
    assert mapping_coverage(dnk, demo_schema()) == Coverage()
