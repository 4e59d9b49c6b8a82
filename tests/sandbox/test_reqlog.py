"""The request log: what each request asked for and got, queryable, never with the token."""

from __future__ import annotations

import contextlib
from datetime import datetime

from tests.support.sandbox import post, pycap
from worker.sandbox import DEMO_TOKEN, FakeClock, Sandbox


def test_each_request_is_described(nk: Sandbox, clock: FakeClock) -> None:
    project = pycap(nk)
    project.export_records(records=["2", "9"], fields=["enr_age"], events=["screening_arm_1"])
    clock.set(datetime(2026, 11, 21, 12, 0, 0))
    project.import_records(
        [{"record_id": "3", "redcap_event_name": "fu_m1_arm_1", "mba_comment": "ok"}],
        return_content="ids",
    )
    metadata, export, imported = nk.request_log
    assert (metadata.content, metadata.action, metadata.format) == ("metadata", "export", "json")
    assert export.seq == 2
    assert export.content == "record"
    assert export.action == "export"
    assert not export.is_import
    assert export.records_requested == ("2", "9")
    assert export.records_returned == ("2",)
    assert export.fields == ("enr_age", "record_id")
    assert export.events == ("screening_arm_1",)
    assert export.rows_returned == 1
    assert export.status == 200
    assert export.fault is None
    assert export.at == datetime(2026, 11, 20, 9, 0, 0)
    assert imported.is_import
    assert imported.action == "import"
    assert imported.records_written == ("3",)
    assert imported.records_changed == ("3",)
    assert imported.rows_sent == 1
    assert imported.return_format == "json"
    assert imported.params["returnContent"] == "ids"
    assert imported.params["data"].endswith("characters>")
    assert imported.at == datetime(2026, 11, 21, 12, 0, 0)


def test_queries_read_like_the_tests_that_use_them(nk: Sandbox) -> None:
    project = pycap(nk)
    project.export_records()
    mark = nk.request_log.mark()
    project.export_records(records=["1"])
    project.export_records(fields=["record_id"], date_begin=datetime(2030, 1, 1))
    since = nk.request_log.since(mark)
    assert len(since.imports()) == 0
    assert since.exported_records() == {"1"}
    assert len(since.exports()) == 2
    assert since.where(content="record", rows_returned=0)[0].params["dateRangeBegin"] == (
        "2030-01-01 00:00:00"
    )
    assert nk.request_log.contents() == ["metadata", "record", "record", "record"]
    assert isinstance(nk.request_log[1:], type(nk.request_log))
    assert nk.request_log[-1].record_ids == ()
    project.import_records([{"record_id": "8", "redcap_event_name": "screening_arm_1"}])
    project.delete_records(["8"])
    assert nk.request_log.written_records() == {"8"}
    assert nk.request_log.changed_records() == {"8"}
    assert nk.request_log.deletes()[0].record_ids == ("8",)
    nk.request_log.clear()
    assert len(nk.request_log) == 0


def test_errors_are_recorded_with_their_message(nk: Sandbox) -> None:
    with contextlib.suppress(Exception):
        pycap(nk).export_records(events=["nope"])
    entry = nk.request_log[-1]
    assert entry.status == 400
    assert not entry.ok
    assert entry.error == "The following values in the parameter \"events\" are not valid: 'nope'"


def test_the_token_is_never_recorded(nk: Sandbox) -> None:
    import requests

    project = pycap(nk)
    project.export_records()
    project.import_records([{"record_id": "5", "redcap_event_name": "screening_arm_1"}])
    post(nk, token="X" * 32, content="record")
    nk.faults.plan("drop")
    with contextlib.suppress(requests.ConnectionError):
        project.export_version()
    dumped = repr(list(nk.request_log)) + str([vars(e) for e in nk.request_log])
    assert DEMO_TOKEN not in dumped
    assert "X" * 32 not in dumped
    assert all("token" not in e.params for e in nk.request_log)
    assert DEMO_TOKEN not in repr(nk)


def test_most_at_once_counts_requests_whose_spans_overlap() -> None:
    from worker.sandbox.reqlog import RequestEntry, RequestLog

    def span(received: float, answered: float) -> RequestEntry:
        return RequestEntry(
            at=datetime(2026, 1, 1),
            method="POST",
            path="/api/",
            received=received,
            answered=answered,
        )

    one_after_another = RequestLog([span(0, 1), span(1, 2), span(2, 3)])
    assert one_after_another.most_at_once() == 1
    overlapping = RequestLog([span(0, 3), span(1, 2), span(1.5, 4), span(3.5, 5)])
    assert overlapping.most_at_once() == 3
    assert RequestLog().most_at_once() == 0


def test_each_entry_has_its_span_in_flight(nk: Sandbox) -> None:
    pycap(nk).export_records(records=["1"])
    entry = nk.request_log[-1]
    assert entry.received is not None
    assert entry.answered is not None
    assert entry.received <= entry.answered
