"""content=log: record changes, stamped by the sandbox's clock."""

from __future__ import annotations

from datetime import datetime

from tests.support.projects import DEMO_PROJECT
from tests.support.sandbox import SandboxFactory, pycap
from worker.sandbox import FakeClock


def test_logging_lists_record_changes_newest_first(
    make_sandbox: SandboxFactory, classic_dir, clock: FakeClock
) -> None:
    sb = make_sandbox(project_dir=classic_dir, data=[{"record_id": "1", "name": "Ann"}])
    project = pycap(sb)
    clock.set(datetime(2026, 11, 21, 10, 15, 42))
    project.import_records([{"record_id": "1", "name": "Anne", "colors___1": "1"}])
    project.import_records(
        [{"record_id": "2", "redcap_repeat_instrument": "visit", "redcap_repeat_instance": 3}]
    )
    clock.set(datetime(2026, 11, 22, 8, 0, 0))
    project.delete_records(["2"])
    log = project.export_logging()
    assert [(e["timestamp"], e["action"], e["record"]) for e in log] == [
        ("2026-11-22 08:00", "Deleted Record (API) 2", "2"),
        ("2026-11-21 10:15", "Created Record (API) 2", "2"),
        ("2026-11-21 10:15", "Updated Record (API) 1", "1"),
        ("2026-11-20 09:00", "Created Record (API) 1", "1"),
    ]
    assert log[2]["details"] == "name = 'Anne', colors(1) = checked"
    assert log[1]["details"] == "[instance = 3], record_id = '2'"
    assert log[3]["details"] == "record_id = '1', name = 'Ann', demographics_complete = '0'"
    assert log[0]["username"] == "sandbox_api"

    assert [e["record"] for e in project.export_logging(record="1")] == ["1", "1"]
    assert [e["action"] for e in project.export_logging(log_type="record_delete")] == [
        "Deleted Record (API) 2"
    ]
    assert project.export_logging(log_type="export") == []
    window = project.export_logging(
        begin_time=datetime(2026, 11, 21, 0, 0), end_time=datetime(2026, 11, 21, 23, 59)
    )
    assert len(window) == 2
    assert project.export_logging(user="someone_else") == []


def test_unchanged_imports_are_not_logged(make_sandbox: SandboxFactory, classic_dir) -> None:
    sb = make_sandbox(project_dir=classic_dir, data=[{"record_id": "1", "name": "Ann"}])
    pycap(sb).import_records([{"record_id": "1", "name": "Ann"}])
    assert len(pycap(sb).export_logging()) == 1


def test_a_new_empty_row_is_a_logged_change(make_sandbox: SandboxFactory, clock: FakeClock) -> None:
    from tests.support.synthetic import nk_rows

    sb = make_sandbox(project_dir=DEMO_PROJECT, data=nk_rows(1))
    clock.advance(hours=1)
    pycap(sb).import_records([{"record_id": "1", "redcap_event_name": "end_of_study_arm_1"}])
    (latest, *_) = pycap(sb).export_logging()
    assert (latest["action"], latest["details"]) == ("Updated Record (API) 1", "record_id = '1'")
    assert ("end_of_study_arm_1", "", "") in {
        (r["redcap_event_name"], r["redcap_repeat_instrument"], r["redcap_repeat_instance"])
        for r in sb.rows()
    }
