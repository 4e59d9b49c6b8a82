"""Fault injection: planned one-shot faults in order, and seeded random faults."""

from __future__ import annotations

import contextlib

import pytest
import redcap
import requests

from tests.support.sandbox import SandboxFactory, post, pycap
from worker.sandbox import Sandbox
from worker.sandbox.faults import Faults, parse_fault


def test_no_faults_by_default(nk: Sandbox) -> None:
    for _ in range(5):
        pycap(nk).export_version()
    assert nk.faults.pending == []
    assert not nk.request_log.faulted()


def test_planned_faults_hit_the_next_requests_in_order(nk: Sandbox) -> None:
    project = pycap(nk)
    nk.faults.plan("500", "500", "drop", "html")
    assert nk.faults.pending == ["500", "500", "drop", "html"]
    for _ in range(2):
        # An HTML error page is not JSON: PyCap fails decoding it (a RequestException too).
        with pytest.raises(requests.exceptions.JSONDecodeError):
            project.export_project_info()
    with pytest.raises(requests.ConnectionError):
        project.export_project_info()
    with pytest.raises(requests.exceptions.JSONDecodeError):
        project.export_project_info()
    assert project.export_project_info()["project_id"] == 4107
    assert [(e.status, e.fault) for e in nk.request_log] == [
        (500, "500"),
        (500, "500"),
        (None, "drop"),
        (200, "html"),
        (200, None),
    ]
    assert all(e.content == "project" for e in nk.request_log)


def test_fault_bodies_look_like_the_real_thing(nk: Sandbox) -> None:
    nk.faults.plan("503", "429", "html")
    data = {"token": nk.token, "content": "version"}
    unavailable = requests.post(nk.url, data=data, timeout=10)
    assert unavailable.status_code == 503
    assert "<title>503 Service Unavailable</title>" in unavailable.text
    banned = requests.post(nk.url, data=data, timeout=10)
    assert banned.status_code == 429
    assert banned.text == "Your IP address (127.0.0.1) has been banned due to suspected abuse."
    assert "Retry-After" not in banned.headers
    php = requests.post(nk.url, data=data, timeout=10)
    assert php.status_code == 200
    assert php.headers["Content-Type"].startswith("text/html")
    assert php.text.startswith("<br />\n<b>Fatal error</b>:  Allowed memory size")
    assert php.text.endswith('smaller amount of data."}')


def test_a_faulted_request_is_not_processed(nk: Sandbox) -> None:
    before = nk.rows()
    nk.faults.plan("500", "drop", "html")
    row = {"record_id": "1", "redcap_event_name": "screening_arm_1", "enr_age": "44"}
    for _ in range(3):
        with pytest.raises(requests.RequestException):
            pycap(nk).import_records([row])
    assert nk.rows() == before
    entries = nk.request_log.imports()
    assert [e.fault for e in entries] == ["500", "drop", "html"]
    assert all(e.is_import and e.records_written == () for e in entries)


def test_drop_after_processes_then_loses_the_answer(nk: Sandbox) -> None:
    """The case that makes blind retries of imports dangerous."""
    nk.faults.plan("drop-after")
    query = {
        "record_id": "2",
        "redcap_event_name": "queries_arm_1",
        "redcap_repeat_instrument": "data_query",
        "redcap_repeat_instance": "new",
        "dq_id": "q1",
    }
    with pytest.raises(requests.ConnectionError):
        pycap(nk).import_records([query])
    pycap(nk).import_records([query])  # the naive retry
    rows = nk.rows(records=["2"], fields=["record_id"], forms=["data_query"])
    assert [r["redcap_repeat_instance"] for r in rows] == [1, 2]
    first, second = nk.request_log.imports()
    assert (first.status, first.fault, first.records_changed) == (None, "drop-after", ("2",))
    assert (second.status, second.fault) == (200, None)


def test_latency_delays_but_answers(nk: Sandbox) -> None:
    nk.faults.plan("latency:30")
    assert pycap(nk).export_project_info()["project_id"] == 4107
    (entry,) = nk.request_log
    assert entry.fault == "latency:30"
    assert entry.ok


def test_waiting_until_the_planned_faults_are_taken(nk: Sandbox) -> None:
    nk.faults.plan_content("version", "latency:1")
    assert not nk.faults.wait_until_taken(timeout_s=0)  # nothing has asked yet
    pycap(nk).export_version()
    assert nk.faults.wait_until_taken(timeout_s=0)


def test_ok_skips_a_request_in_a_plan(nk: Sandbox) -> None:
    nk.faults.plan("ok", "502")
    pycap(nk).export_version()
    with pytest.raises(requests.RequestException):
        pycap(nk).export_project_info()
    assert [e.fault for e in nk.request_log] == [None, "502"]


def test_random_faults_are_repeatable_with_a_seed(make_sandbox: SandboxFactory) -> None:
    def run(seed: int) -> list[int | None]:
        sb = make_sandbox(fail_rate=0.5, fail_kinds=["500", "429", "drop"], seed=seed)
        for _ in range(30):
            with contextlib.suppress(requests.ConnectionError):
                post(sb, content="version")
        return [e.status for e in sb.request_log]

    first, again, other = run(7), run(7), run(8)
    assert first == again
    assert first != other
    assert set(first) <= {200, 500, 429, None}
    assert len(set(first)) >= 3


def test_every_request_fails_at_rate_one(make_sandbox: SandboxFactory) -> None:
    sb = make_sandbox(fail_rate=1.0, fail_kinds=["503"], latency_ms=1)
    with pytest.raises(requests.RequestException):
        pycap(sb).export_project_info()
    # PyCap's export_version does not even notice: it reads text and finds no semver.
    assert pycap(sb).export_version() is None
    assert sb.request_log[0].fault == "503"


def test_planned_faults_come_before_random_ones() -> None:
    faults = Faults(fail_rate=1.0, fail_kinds=["500"], seed=1)
    faults.plan("html")
    assert [faults.next().fault.label for _ in range(2)] == ["html", "500"]  # type: ignore[union-attr]
    faults.configure()
    faults.plan("drop")
    faults.clear()
    assert faults.next().fault is None


def test_bad_fault_specs_are_refused() -> None:
    for bad in ("200", "explode", "latency:", "600"):
        with pytest.raises(ValueError, match="unknown fault"):
            parse_fault(bad)
    with pytest.raises(ValueError, match="between 0 and 1"):
        Faults(fail_rate=1.5)


def test_pycap_cannot_mistake_a_fault_for_data(nk: Sandbox) -> None:
    nk.faults.plan("html")
    with pytest.raises(redcap.RedcapError):  # JSONDecodeError is a RequestException
        pycap(nk).export_records()


def test_import_faults_wait_for_an_import_and_refuse_like_redcap(nk: Sandbox) -> None:
    project = pycap(nk)
    nk.faults.plan_imports("refuse")
    project.export_version()  # a read does not consume an import fault
    row = {"record_id": "900", "redcap_event_name": "screening_arm_1", "enr_age": "30"}
    with pytest.raises(redcap.RedcapError) as caught:
        project.import_records([row])
    assert "form that is locked" in str(caught.value)
    assert nk.rows(records=["900"]) == []
    assert project.import_records([row]) == {"count": 1}
    assert [e.fault for e in nk.request_log.faulted()] == ["refuse"]


def test_batch_export_faults_wait_for_an_export_that_names_its_records(nk: Sandbox) -> None:
    project = pycap(nk)
    nk.faults.plan_batch_exports("500")
    project.export_version()  # neither does a read of something else ...
    project.export_records(fields=["record_id"])  # ... nor the export of every record ID
    with pytest.raises(redcap.RedcapError):
        project.export_records(records=["1", "2"])
    assert project.export_records(records=["1", "2"], fields=["record_id"])
    [faulted] = nk.request_log.faulted()
    assert (faulted.fault, faulted.records_requested) == ("500", ("1", "2"))


def test_content_faults_wait_for_a_request_of_that_content(nk: Sandbox) -> None:
    project = pycap(nk)
    nk.faults.plan_content("event", "500")
    project.export_version()  # a request for something else passes
    project.export_instruments()
    with pytest.raises(redcap.RedcapError):
        project.export_events()
    assert project.export_events()  # one-shot: the next event export is answered
    [faulted] = nk.request_log.faulted()
    assert (faulted.fault, faulted.content) == ("500", "event")
