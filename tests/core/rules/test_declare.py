"""How a rules folder declares its Python checks (worker/core/rules/declare.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.toy_study import CHECKS, load, rules_folder
from worker.core.findings import Kind, Severity
from worker.core.rules.declare import CheckInfo, at, at_part, check, check_all, declared_check
from worker.errors import MappingError


def test_a_bad_kind_in_a_declaration_is_refused_at_load(tmp_path: Path) -> None:
    checks = CHECKS.replace(
        'kind="query", severity="minor", title="Weight',
        'kind="note", severity="minor", title="Weight',
    )
    with pytest.raises(MappingError, match="'note' is not a valid Kind"):
        load(rules_folder(tmp_path, checks=checks))


def test_a_declared_check_carries_its_info_and_what_it_reads() -> None:
    @check("T-1", kind="query", severity="major", title="  Weight missing ", reads=["weight"])
    def weight_missing(p, as_of, params):
        return []

    declared = declared_check(weight_missing)
    assert declared is not None
    assert declared.info == CheckInfo(
        "T-1", Kind.QUERY, Severity.MAJOR, "Weight missing", "python", cross_participant=False
    )
    assert declared.reads == ("weight",)
    assert declared.run is weight_missing
    assert declared.key is None


def test_a_cross_participant_check_keeps_its_key_function() -> None:
    def first_dose(p, as_of, params):
        return None

    @check_all("T-CAP", kind="deviation", severity="critical", title="Cap", key=first_dose)
    def over_cap(keys, as_of, params):
        return []

    declared = declared_check(over_cap)
    assert declared is not None
    assert declared.info.cross_participant
    assert declared.key is first_dose


def test_an_undeclared_function_is_no_check() -> None:
    assert declared_check(lambda p, as_of, params: []) is None


@pytest.mark.parametrize("title", ["", "   ", "two\nlines"])
def test_a_check_needs_a_one_line_title(title: str) -> None:
    with pytest.raises(ValueError, match="a one-line title are required"):
        check("T-1", kind="query", severity="minor", title=title)


def test_a_hit_at_an_entry_takes_its_place_and_stored_value() -> None:
    class Entry:
        event, instance = "dose_arm_1", 2

        def evidence(self, field: str) -> dict[str, str]:
            return {field: "70"}

    hit = at(Entry(), "weight_kg", "Too heavy.")  # type: ignore[arg-type]
    assert (hit.event, hit.instance, hit.evidence, hit.part) == (
        "dose_arm_1",
        2,
        {"weight_kg": "70"},
        None,
    )
    assert at(Entry(), "weight_kg", "x", {"a": "1"}).evidence == {"a": "1"}  # type: ignore[arg-type]


def test_a_hit_on_a_part_without_data_names_the_part_and_its_ordinal() -> None:
    hit = at_part("months", "visit_date", "Month 2 has no data.", ordinal=2)
    assert (hit.part, hit.ordinal, hit.event, hit.instance, hit.evidence) == (
        "months",
        2,
        None,
        None,
        {},
    )
