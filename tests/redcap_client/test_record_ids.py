"""Record-ID bookkeeping for two-stage exports (worker/redcap_client/record_ids.py): IDs
deduplicated, ordered as REDCap orders them, and cut into batches; CSV answers read as rows."""

from __future__ import annotations

from worker.redcap_client.record_ids import batched, rows_of_csv, sort_record_ids, unique


def test_unique_keeps_the_first_of_each_id_in_order() -> None:
    assert unique(["3", "1", "3", "2", "1"]) == ["3", "1", "2"]


def test_ids_are_deduplicated_and_sorted_as_integers_when_all_are() -> None:
    assert sort_record_ids(unique(["10", "9", "10", "100", "9"])) == ["9", "10", "100"]


def test_other_ids_are_sorted_naturally() -> None:
    ids = ["site2-10", "Site2-9", "site1-100", "site10-1", "site2-9"]
    # Case-insensitive; exact ties broken by the text itself, so the order is deterministic.
    assert sort_record_ids(ids) == ["site1-100", "Site2-9", "site2-9", "site2-10", "site10-1"]


def test_record_ids_of_any_length_sort_without_conversion() -> None:
    huge = "9" * 5000  # more digits than int() reads
    assert sort_record_ids([huge, "10", "9"]) == ["9", "10", huge]
    assert sort_record_ids(["site" + huge, "site10", "x"]) == ["site10", "site" + huge, "x"]


def test_batches_are_of_the_given_size_but_the_last() -> None:
    assert list(batched(["1", "2", "3", "4", "5"], 2)) == [["1", "2"], ["3", "4"], ["5"]]
    assert list(batched([], 2)) == []


def test_a_csv_export_reads_as_the_rows_its_json_would_give() -> None:
    text = (
        "\ufeffstudy_id,redcap_event_name,note,visit_complete\r\n"
        '1,baseline_arm_1,"a, b",2\r\n'
        '1,week_4_arm_1,"two\nlines ""quoted""",\r\n'
    )
    assert rows_of_csv(text) == [
        {
            "study_id": "1",
            "redcap_event_name": "baseline_arm_1",
            "note": "a, b",
            "visit_complete": "2",
        },
        {
            "study_id": "1",
            "redcap_event_name": "week_4_arm_1",
            "note": 'two\nlines "quoted"',
            "visit_complete": "",
        },
    ]


def test_a_blank_csv_export_has_no_rows_and_blank_lines_are_no_rows() -> None:
    assert rows_of_csv("") == []
    assert rows_of_csv("\n") == []
    assert rows_of_csv("study_id,sbp\n") == []
    assert rows_of_csv("study_id,sbp\n1,120\n\n") == [{"study_id": "1", "sbp": "120"}]


def test_a_csv_whose_rows_do_not_match_its_header_is_not_an_export() -> None:
    assert rows_of_csv("study_id,sbp\n1,120,extra\n") is None
    assert rows_of_csv("study_id,sbp\n1\n") is None
