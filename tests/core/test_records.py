"""Flat REDCap export rows keyed the way the checks address them (worker/core/records.py):
by record, event, repeat instrument and instance, never by position."""

from __future__ import annotations

from typing import Any

from worker.core.records import RecordData, RowKey, group_rows
from worker.core.schema import ProjectSchema


def text(name: str, form: str) -> dict[str, str]:
    return {"field_name": name, "form_name": form, "field_type": "text"}


LONGITUDINAL = ProjectSchema.from_exports(
    project_info={"project_id": 1, "is_longitudinal": 1},
    metadata=[text("study_id", "visit"), text("weight", "visit"), text("ae_term", "ae")],
    events=[{"unique_event_name": e} for e in ("baseline_arm_1", "log_arm_1")],
    form_event_mapping=[
        {"unique_event_name": "baseline_arm_1", "form": "visit"},
        {"unique_event_name": "log_arm_1", "form": "ae"},
    ],
    repeating=[{"event_name": "log_arm_1", "form_name": "ae"}],
)
CLASSIC = ProjectSchema.from_exports(
    project_info={"project_id": 2, "is_longitudinal": 0},
    metadata=[text("record_id", "visit"), text("weight", "visit")],
)


def row(record: str, event: str = "", instrument: str = "", instance: Any = "", **values):
    return {
        "study_id": record,
        "redcap_event_name": event,
        "redcap_repeat_instrument": instrument,
        "redcap_repeat_instance": instance,
        **values,
    }


def test_rows_are_grouped_by_record_in_first_seen_order() -> None:
    records = group_rows(
        LONGITUDINAL,
        [
            row("10", "baseline_arm_1", weight="70"),
            row("2", "baseline_arm_1", weight="80"),
            row("10", "log_arm_1", "ae", 1, ae_term="rash"),
        ],
    )
    assert list(records) == ["10", "2"]
    assert set(records["10"].rows) == {
        RowKey("baseline_arm_1", "", None),
        RowKey("log_arm_1", "ae", 1),
    }


def test_pseudo_fields_make_the_key_and_are_left_out_of_the_values() -> None:
    records = group_rows(LONGITUDINAL, [row("1", "log_arm_1", "ae", "2", ae_term="rash")])
    assert records["1"].row("log_arm_1", 2, "ae") == {"study_id": "1", "ae_term": "rash"}


def test_values_are_kept_as_strings_and_none_is_blank() -> None:
    records = group_rows(LONGITUDINAL, [row("1", "baseline_arm_1", weight=70.5, ae_term=None)])
    assert records["1"].row("baseline_arm_1") == {
        "study_id": "1",
        "weight": "70.5",
        "ae_term": "",
    }


def test_a_classic_project_has_no_events_in_its_keys() -> None:
    records = group_rows(CLASSIC, [{"record_id": "1", "redcap_event_name": "x", "weight": "60"}])
    assert records["1"].value("weight", None) == "60"


def test_an_absent_row_or_column_reads_blank() -> None:
    record = group_rows(LONGITUDINAL, [row("1", "baseline_arm_1", weight="70")])["1"]
    assert record.value("weight", "baseline_arm_1") == "70"
    assert record.value("ae_term", "baseline_arm_1") == ""
    assert record.value("weight", "log_arm_1") == ""
    assert record.row("log_arm_1", 1, "ae") is None


def test_instances_are_listed_ascending_for_their_event_and_instrument_only() -> None:
    record = group_rows(
        LONGITUDINAL,
        [
            row("1", "log_arm_1", "ae", 3),
            row("1", "log_arm_1", "ae", 1),
            row("1", "baseline_arm_1"),
        ],
    )["1"]
    assert record.instances("log_arm_1", "ae") == [1, 3]
    assert record.instances("log_arm_1") == []
    assert record.instances("baseline_arm_1") == []


def test_the_data_access_group_is_kept_from_any_row_that_has_it() -> None:
    rows = [
        row("1", "baseline_arm_1", redcap_data_access_group=""),
        row("1", "log_arm_1", "ae", 1, redcap_data_access_group="site_a"),
    ]
    record = group_rows(LONGITUDINAL, rows)["1"]
    assert record.data_access_group == "site_a"
    assert "redcap_data_access_group" not in record.row("log_arm_1", 1, "ae")
    assert RecordData("2").data_access_group == ""
