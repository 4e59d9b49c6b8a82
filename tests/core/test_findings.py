"""The order of record IDs (protocol, "order of record IDs"), wherever findings are sorted."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from worker.core.findings import Finding, Kind, Severity, record_sort_key, sort_findings


def ordered(ids: list[str]) -> list[str]:
    return sorted(ids, key=record_sort_key)


def test_digit_ids_first_by_value_then_the_rest_by_text() -> None:
    assert ordered(["2x", "1a", "10", "9"]) == ["9", "10", "1a", "2x"]
    assert ordered(["B", "a", "100", "A-1", "011"]) == ["011", "100", "A-1", "B", "a"]


def test_ids_of_any_length_order_by_value_without_conversion() -> None:
    huge = "9" * 5000  # int() refuses more than 4300 digits
    assert ordered([huge, "1" + "0" * 5000, "12", "x"]) == ["12", huge, "1" + "0" * 5000, "x"]


def test_equal_values_written_differently_are_ordered_by_text() -> None:
    assert ordered(["007", "7", "07"]) == ["007", "07", "7"]
    assert record_sort_key("7") != record_sort_key("07")  # a total order: no ties


@pytest.mark.parametrize("other_digits", ["٣", "²", "１２"])
def test_digits_of_other_scripts_are_text(other_digits: str) -> None:
    assert ordered([other_digits, "5"]) == ["5", other_digits]


@given(st.lists(st.integers(min_value=0, max_value=10**30), min_size=1))
def test_digit_ids_order_as_their_numbers(numbers: list[int]) -> None:
    ids = [str(n) for n in numbers]
    assert [int(i) for i in ordered(ids)] == sorted(numbers)


@given(st.lists(st.text(min_size=1), min_size=2, max_size=6))
def test_the_order_is_total_and_consistent(ids: list[str]) -> None:
    keys = [record_sort_key(i) for i in ids]
    for a, ka in zip(ids, keys, strict=True):
        for b, kb in zip(ids, keys, strict=True):
            assert (ka == kb) == (a == b)
    assert ordered(ordered(ids)) == ordered(ids)
    assert ordered(list(reversed(ids))) == ordered(ids)


def test_findings_sort_by_that_record_order() -> None:
    def finding(record: str) -> Finding:
        return Finding(
            rule="DQ-TYPE",
            kind=Kind.QUERY,
            severity=Severity.MAJOR,
            record=record,
            event=None,
            instrument="f",
            instance=None,
            field="x",
            message="m",
        )

    found = sort_findings([finding(r) for r in ("1a", "10", "9" * 4400, "9")])
    assert [f.record for f in found] == ["9", "10", "9" * 4400, "1a"]
