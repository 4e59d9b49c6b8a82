"""Record export in two stages, as REDCapR does: record IDs, then whole records in batches."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime

import pytest
import responses

from tests.support.redcap_client import CLASSIC_METADATA, contents, reply, sent
from worker.errors import RedcapUnreachable
from worker.redcap_client import RedcapClient
from worker.redcap_client.record_ids import ids_of_csv, unique


def numbered(payload: dict[str, str], key: str) -> list[str]:
    """``key[0]``, ``key[1]``, ... of a sent form, in order."""
    values: list[str] = []
    while f"{key}[{len(values)}]" in payload:
        values.append(payload[f"{key}[{len(values)}]"])
    return values


def rows_for(
    ids: list[str], events: tuple[str, ...] = ("baseline_arm_1", "week_4_arm_1")
) -> list[dict[str, str]]:
    return [{"study_id": i, "redcap_event_name": e, "sbp": "120"} for i in ids for e in events]


def test_record_ids_exports_the_record_id_and_every_forms_status(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    reply(api, "metadata", CLASSIC_METADATA)
    reply(api, "record", rows_for(["3", "1", "2"]))
    ids = make_client().record_ids(date_begin=datetime(2026, 3, 1, 8, 30))

    assert ids == ["1", "2", "3"]
    form = sent(api.calls[1])
    # A status is stored with every saved instance: a record with only repeating data,
    # which REDCap may leave out of a record-ID-only export, still has a row.
    assert numbered(form, "fields") == ["study_id", "demographics_complete", "visit_complete"]
    assert numbered(form, "records") == []
    assert numbered(form, "forms") == []
    assert form["dateRangeBegin"] == "2026-03-01 08:30:00"
    # A row per record, event and instance: as CSV, not as a JSON object naming every column
    # in every row (hundreds of MB at 50,000 records).
    assert form["format"] == "csv"


def test_the_csv_listing_keeps_each_id_once_in_first_seen_order() -> None:
    text = 'study_id,redcap_event_name,visit_complete\n3,a,2\n1,a,0\n3,b,\n"x,\ny",a,1\n'
    assert ids_of_csv(text, "study_id") == ["3", "1", "x,\ny"]
    assert ids_of_csv("\ufeffstudy_id\r\n7\r\n", "study_id") == ["7"]
    assert ids_of_csv("study_id,visit_complete\n", "study_id") == []
    assert ids_of_csv("", "study_id") == ids_of_csv("\n", "study_id") == []


def test_a_csv_answer_without_the_record_id_column_is_retried_like_garbage(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    """A proxy's page answered with 200 is not a listing (nor a batch): retried, as an
    unparseable JSON answer is, then given up on."""
    assert ids_of_csv("<html>busy</html>\n", "study_id") is None
    reply(api, "metadata", CLASSIC_METADATA)
    reply(api, "record", raw="<html>busy</html>\n", params={"format": "csv"})
    with pytest.raises(RedcapUnreachable, match="CSV header lacks the record-ID field"):
        make_client().record_ids()
    assert contents(api) == ["metadata"] + ["record"] * 5  # every attempt of the policy


def test_an_id_whose_bytes_are_not_utf8_is_read_from_the_json_listing_and_skipped(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    reply(api, "metadata", CLASSIC_METADATA)
    # REDCap's CSV hands out the stored bytes; decoded, they are U+FFFD. Its JSON escapes.
    reply(api, "record", raw="study_id\n13\ufffd\ufffd\ufffd\n2\n", params={"format": "csv"})
    reply(api, "record", [{"study_id": "13\ud800"}, {"study_id": "2"}], params={"format": "json"})
    client = make_client()

    assert client.record_ids() == ["2"]
    assert client.skipped_record_ids == ["13\\ud800"]
    assert [sent(c).get("format") for c in api.calls[1:]] == ["csv", "json"]


def test_a_batch_is_asked_as_csv_and_read_as_rows(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    """A tenth of the JSON's size (which names every column in every row): the same rows."""
    rows = [*rows_for(["1"]), {"study_id": "1", "redcap_event_name": "x", "sbp": 'a,"b"\nc'}]
    reply(api, "metadata", CLASSIC_METADATA)
    reply(api, "record", rows, params={"records[0]": "1"})
    assert make_client().export_records(["1"]) == rows
    assert sent(api.calls[1])["format"] == "csv"


def test_a_batch_with_bytes_that_are_not_utf8_is_asked_again_as_json(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    """REDCap's CSV hands out the stored bytes (decoded: U+FFFD); its JSON escapes them."""
    reply(api, "metadata", CLASSIC_METADATA)
    header = "study_id,redcap_event_name,sbp\n"
    reply(api, "record", raw=header + "1,baseline_arm_1,12\ufffd\n", params={"format": "csv"})
    escaped = [{"study_id": "1", "redcap_event_name": "baseline_arm_1", "sbp": "12\ud800"}]
    reply(api, "record", escaped, params={"format": "json"})

    assert make_client().export_records(["1"]) == escaped
    assert [sent(c).get("format") for c in api.calls[1:]] == ["csv", "json"]


def test_a_csv_batch_whose_rows_do_not_match_its_header_fails_the_export(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    reply(api, "metadata", CLASSIC_METADATA)
    reply(api, "record", raw="study_id,sbp\n1,120,130\n", params={"format": "csv"})
    with pytest.raises(RedcapUnreachable, match="rows do not match its header"):
        make_client().export_records(["1"])


@pytest.mark.parametrize(("n", "batch_size"), [(5, 2), (4, 2), (1, 200), (450, 200)])
def test_batches_of_whole_records_after_one_id_call(
    api: responses.RequestsMock,
    make_client: Callable[..., RedcapClient],
    n: int,
    batch_size: int,
) -> None:
    ids = [str(i) for i in range(1, n + 1)]
    reply(api, "metadata", CLASSIC_METADATA)
    reply(api, "record", rows_for(list(reversed(ids))), params={"fields[0]": "study_id"})
    expected = [ids[i : i + batch_size] for i in range(0, n, batch_size)]
    for batch in expected:
        reply(api, "record", rows_for(batch), params={"records[0]": batch[0]})
    progress: list[tuple[int, int]] = []

    client = make_client(batch_size=batch_size)
    batches = list(
        client.iter_record_batches(
            forms=["visit"], on_progress=lambda d, t: progress.append((d, t))
        )
    )

    assert contents(api) == ["metadata"] + ["record"] * (1 + math.ceil(n / batch_size))
    id_call, *batch_calls = [sent(c) for c in api.calls[1:]]
    assert numbered(id_call, "records") == []
    assert numbered(id_call, "fields") == ["study_id", "demographics_complete", "visit_complete"]
    for form, batch in zip(batch_calls, expected, strict=True):
        assert numbered(form, "records") == batch
        assert numbered(form, "forms") == ["visit"]
        assert numbered(form, "fields") == ["study_id"]  # the record ID always comes along
    # Each batch holds every row of its records (two events each), never a split record.
    assert [sorted({r["study_id"] for r in b}, key=int) for b in batches] == expected
    assert all(len(b) == 2 * len(ids) for b, ids in zip(batches, expected, strict=True))
    done = [0] + [min(n, (i + 1) * batch_size) for i in range(len(expected))]
    assert progress == [(d, n) for d in done]


def test_all_forms_in_dictionary_order_when_none_are_named(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    """Naming forms keeps the POST small; PyCap would otherwise list every field."""
    reply(api, "metadata", CLASSIC_METADATA)
    reply(api, "record", rows_for(["1"]), params={"fields[0]": "study_id"})
    reply(api, "record", rows_for(["1"]), params={"records[0]": "1"})
    list(make_client().iter_record_batches())
    assert numbered(sent(api.calls[-1]), "forms") == ["demographics", "visit"]


def test_a_named_subset_skips_the_id_call_and_filters_batches_by_date(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    reply(api, "metadata", CLASSIC_METADATA)
    reply(api, "record", rows_for(["7", "3"]), params={"records[0]": "7"})
    reply(api, "record", [], params={"records[0]": "5"})
    client = make_client(batch_size=2)
    since = datetime(2026, 1, 2, 3, 4, 5)
    batches = list(client.iter_record_batches(records=["7", "3", "7", "5"], date_begin=since))

    assert contents(api) == ["metadata", "record", "record"]
    first, second = (sent(c) for c in api.calls[1:])
    assert numbered(first, "records") == ["7", "3"]  # caller's order, deduplicated
    assert numbered(second, "records") == ["5"]
    assert first["dateRangeBegin"] == second["dateRangeBegin"] == "2026-01-02 03:04:05"
    assert [len(b) for b in batches] == [4, 0]


def test_nothing_is_requested_until_the_first_batch_is_wanted(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    reply(api, "metadata", CLASSIC_METADATA)
    reply(api, "record", [], params={"fields[0]": "study_id"})
    client = make_client()
    progress: list[tuple[int, int]] = []
    batches = client.iter_record_batches(on_progress=lambda d, t: progress.append((d, t)))
    assert client.requests_made == 0
    assert list(batches) == []  # an empty project: no batch calls at all
    assert contents(api) == ["metadata", "record"]
    assert progress == [(0, 0)]


def test_export_records_concatenates_batches(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    reply(api, "metadata", CLASSIC_METADATA)
    reply(api, "record", rows_for(["1", "2"]), params={"records[0]": "1"})
    reply(api, "record", rows_for(["3"]), params={"records[0]": "3"})
    rows = make_client(batch_size=2).export_records(["1", "2", "3"], forms=["demographics"])
    assert [r["study_id"] for r in rows] == ["1", "1", "2", "2", "3", "3"]
    assert numbered(sent(api.calls[1]), "forms") == ["demographics"]


def test_a_form_name_given_as_a_string_is_one_form(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    reply(api, "metadata", CLASSIC_METADATA)
    reply(api, "record", [], params={"records[0]": "1"})
    make_client().export_records(["1"], forms="visit")  # type: ignore[arg-type]
    assert numbered(sent(api.calls[1]), "forms") == ["visit"]


def test_batches_ask_for_each_records_data_access_group(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    """Per-site summaries need every record's site; REDCap omits the column without DAGs."""
    reply(api, "metadata", CLASSIC_METADATA)
    reply(api, "record", rows_for(["1"]), params={"fields[0]": "study_id"})
    reply(api, "record", rows_for(["1"]), params={"records[0]": "1"})
    list(make_client().iter_record_batches())
    assert sent(api.calls[-1])["exportDataAccessGroups"] == "True"


@pytest.mark.parametrize(("n", "named"), [(3, True), (4, True), (5, False)])
def test_which_records_exist_is_one_request_naming_them_up_to_a_batch_else_all(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient], n: int, named: bool
) -> None:
    """PHP drops form variables past ``max_input_vars`` silently: a check of thousands of
    records names none and compares with every record ID instead, still one request."""
    wanted = [str(i) for i in range(1, n + 1)]
    reply(api, "metadata", CLASSIC_METADATA)
    present = [i for i in wanted if i != "2"] + ([] if named else ["77"])
    reply(api, "record", rows_for(present))

    existing = make_client(batch_size=4).existing_records(wanted)

    assert existing == {i for i in wanted if i != "2"}
    assert contents(api) == ["metadata", "record"]
    form = sent(api.calls[1])
    assert numbered(form, "records") == (wanted if named else [])
    assert "study_id" in numbered(form, "fields")


def test_the_listing_of_every_record_can_be_started_before_the_existence_check(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    """A writer that will ask about more records than a request names starts that listing
    while it works out what to write; the check then reads it and asks nothing more. Fewer
    records are still named in a request of their own."""
    reply(api, "metadata", CLASSIC_METADATA)
    reply(api, "record", rows_for(["1", "3", "4", "5", "77"]))
    client = make_client(batch_size=4)
    listed = client.existence_listing_started()
    assert listed() == {"1", "3", "4", "5", "77"}
    asked = len(api.calls)

    wanted = ["1", "2", "3", "4", "5"]
    assert client.existing_records(wanted, listed=listed) == {"1", "3", "4", "5"}
    assert len(api.calls) == asked  # the listing started before, read again

    reply(api, "record", rows_for(["1"]))
    assert client.existing_records(["1", "2"], listed=listed) == {"1"}
    assert numbered(sent(api.calls[-1]), "records") == ["1", "2"]


def test_concurrent_batches_come_in_order_with_progress_in_order(
    api: responses.RequestsMock, make_client: Callable[..., RedcapClient]
) -> None:
    ids = [str(i) for i in range(1, 12)]
    reply(api, "metadata", CLASSIC_METADATA)
    reply(api, "record", rows_for(ids), params={"fields[0]": "study_id"})
    expected = [ids[i : i + 2] for i in range(0, len(ids), 2)]
    for batch in expected:
        reply(api, "record", rows_for(batch), params={"records[0]": batch[0]})
    progress: list[tuple[int, int]] = []

    client = make_client(batch_size=2, max_concurrent_requests=3, sleep=lambda s: None)
    batches = list(
        client.iter_record_batches(
            forms=["visit"], on_progress=lambda d, t: progress.append((d, t))
        )
    )

    assert [unique(r["study_id"] for r in batch) for batch in batches] == expected
    assert progress == [(0, 11), *[(min(11, 2 * k), 11) for k in range(1, 7)]]
