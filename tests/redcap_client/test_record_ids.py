"""Record-ID bookkeeping for two-stage exports (worker/redcap_client/record_ids.py): IDs
deduplicated, ordered as REDCap orders them, and cut into batches; CSV answers read as rows."""

from __future__ import annotations

import csv
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from worker.redcap_client.record_ids import (
    batched,
    ids_of_csv,
    rows_of_csv,
    sort_record_ids,
    unique,
)


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


def _read_row_by_row(text: str) -> list[str]:
    """The listing's IDs as the CSV reader reads them (the first column of every row that
    has one), whatever the text: the reference ``ids_of_csv`` must agree with."""
    rows = csv.reader(io.StringIO(text, newline=""))
    next(rows)
    return unique(row[0] for row in rows if row)


def _php_csv_field(value: str) -> str:
    """A field as REDCap's CSV writer (PHP's fputcsv) writes it: quoted when it holds a
    comma, quote, line break, tab or space."""
    if any(c in value for c in ',"\r\n\t '):
        return '"' + value.replace('"', '""') + '"'
    return value


@settings(max_examples=300)
@given(
    ids=st.lists(st.text(alphabet=st.sampled_from('7a ,"\r\n\x85-'), max_size=4), max_size=6),
    statuses=st.lists(st.sampled_from(["", "0", "2"]), max_size=6),
    line_end=st.sampled_from(["\n", "\r\n"]),
    blank_lines=st.booleans(),
)
def test_the_listing_reads_the_same_ids_as_the_csv_reader_would(
    ids: list[str], statuses: list[str], line_end: str, blank_lines: bool
) -> None:
    """A listing with no quoted field is read by one pattern, not row by row: the IDs are
    the same, whichever fields REDCap had to quote and however its lines end."""
    lines = ["study_id,visit_complete"]
    for record_id, status in zip(ids, statuses * 6, strict=False):
        lines.append(f"{_php_csv_field(record_id)},{status}")
        if blank_lines:
            lines.append("")
    text = line_end.join(lines) + line_end
    assert ids_of_csv(text, "study_id") == _read_row_by_row(text)


def test_a_plain_listing_keeps_each_id_once_and_no_blank_line_as_an_id() -> None:
    text = "study_id,redcap_event_name,visit_complete\r\n3,a,2\r\n\r\n1,a,0\r\n3,b,\r\n"
    assert ids_of_csv(text, "study_id") == ["3", "1"]
    assert ids_of_csv("study_id\n7\n\n8", "study_id") == ["7", "8"]
    assert ids_of_csv("study_id,visit_complete\n,2\n7,0\n", "study_id") == ["", "7"]
