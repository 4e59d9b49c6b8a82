"""The order of record IDs (protocol, "order of record IDs"), wherever findings are sorted."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from worker.core.findings import (
    Finding,
    Kind,
    Severity,
    merge_sorted,
    record_sort_key,
    sort_findings,
)


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


# --- A compact finding ----------------------------------------------------------------------


def made(record: str = "12", message: str = "Age is out of range.", **kw: object) -> Finding:
    base: dict[str, object] = {
        "rule": "DQ-RANGE",
        "kind": "query",
        "severity": "minor",
        "record": record,
        "event": "screening_arm_1",
        "instrument": "enrollment",
        "instance": None,
        "field": "enr_age",
        "message": message,
        "evidence": {"screening_arm_1[].enr_age": "71"},
    }
    base.update(kw)
    return Finding(**base)  # type: ignore[arg-type]


def fresh(text: str) -> str:
    """An equal text in an object of its own, as each exported row brings one."""
    return "".join(list(text))


def test_findings_share_their_repeated_texts() -> None:
    a, b = made(fresh("12"), fresh("Age is out of range.")), made("12", "Age is out of range.")
    assert a.record is b.record
    assert a.message is b.message
    assert a.event is b.event
    assert a.field is b.field
    assert a.rule is b.rule


def test_a_finding_holds_no_dict_and_cannot_change() -> None:
    finding = made()
    assert not hasattr(finding, "__dict__")
    with pytest.raises(AttributeError):
        finding.record = "13"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del finding.message


def test_kind_and_severity_are_read_from_their_names() -> None:
    finding = made()
    assert finding.kind is Kind.QUERY
    assert finding.severity is Severity.MINOR
    with pytest.raises(ValueError, match="remark"):
        made(kind="remark")


def test_evidence_reads_back_as_given_and_cannot_be_changed_through_the_finding() -> None:
    finding = made(evidence={"b[].x": "1", "a[2].y": ""})
    assert finding.evidence == {"b[].x": "1", "a[2].y": ""}
    finding.evidence["b[].x"] = "2"
    assert finding.evidence["b[].x"] == "1"
    assert made(evidence=None).evidence == {} == made(evidence={}).evidence


def test_equal_findings_are_equal_and_hash_alike() -> None:
    assert made() == made(fresh("12"))
    assert hash(made()) == hash(made(fresh("12")))
    assert made() != made(evidence={"screening_arm_1[].enr_age": "72"})
    assert made() != made(check_error=True)
    assert made() != made(instance=2)


def test_public_has_the_report_columns_in_json_types_and_no_evidence() -> None:
    assert made(instance=2).public() == {
        "rule": "DQ-RANGE",
        "kind": "query",
        "severity": "minor",
        "record": "12",
        "event": "screening_arm_1",
        "instrument": "enrollment",
        "instance": 2,
        "field": "enr_age",
        "message": "Age is out of range.",
    }
    assert "71" not in repr(made())


def test_a_finding_survives_pickling_whole() -> None:
    finding = made(check_error=True)
    again = pickle.loads(pickle.dumps(finding))
    assert again == finding
    assert again.evidence == finding.evidence


@given(st.lists(st.lists(st.sampled_from(["1", "2", "10", "a"]), max_size=5), max_size=5))
def test_merging_sorted_batches_orders_as_sorting_them_all(batches: list[list[str]]) -> None:
    # Equal keys (the same record and place) keep the batches' order, as one sort would.
    runs = [[made(r, message=f"{n}:{i}") for i, r in enumerate(b)] for n, b in enumerate(batches)]
    everything = [f for run in runs for f in run]
    assert merge_sorted([sort_findings(run) for run in runs]) == sort_findings(everything)
