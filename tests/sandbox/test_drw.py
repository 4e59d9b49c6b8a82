"""The sandbox's Data Quality API module pages behave as the module does (docs §8)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from tests.support.sandbox import pycap
from worker.sandbox import Sandbox
from worker.sandbox.drw import DRW_OFF

PREFIX = "vanderbilt_dataQuality"
TS1, TS2 = "2026-11-26 09:00:00", "2026-11-26 10:00:00"


def page(sandbox: Sandbox, name: str, *, pid: Any = None, token: str | None = None, **body):
    pid = sandbox.project.info["project_id"] if pid is None else pid
    url = f"{sandbox.url}?prefix={PREFIX}&page={name}&type=module&NOAUTH&pid={pid}"
    data = {"token": token or sandbox.token, "format": "json", "returnFormat": "json", **body}
    return requests.post(url, data=data, timeout=20)


def status_row(
    sandbox: Sandbox,
    *,
    status_id: str = "0",
    ts: str = TS1,
    user: str = "bot",
    state: str | None = "OPEN",
    field: str = "mba_date",
    **extra,
) -> dict:
    return {
        "status_id": status_id,
        "project_id": str(sandbox.project.info["project_id"]),
        "record": "1",
        "event_id": str(sandbox.project.event_by_name["fu_m1_arm_1"].event_id),
        "field_name": field,
        "instance": 1,
        "resolutions": [
            {
                "ts": ts,
                "username": user,
                "comment": "c",
                "response_requested": 1,
                "current_query_status": state,
            }
        ],
        **extra,
    }


def send(sandbox: Sandbox, *rows: dict) -> list:
    answer = page(sandbox, "import", data=json.dumps(list(rows)))
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.fixture
def drw(nk: Sandbox) -> Sandbox:
    return nk.drw_module(True)


def test_project_info_lists_the_module_only_when_it_is_enabled(nk: Sandbox) -> None:
    assert PREFIX not in pycap(nk).export_project_info()["external_modules"]
    nk.drw_module(True)
    assert PREFIX in pycap(nk).export_project_info()["external_modules"].split(",")


def test_the_pages_refuse_a_disabled_module_a_wrong_token_and_answer_a_wrong_pid_with_nothing(
    nk: Sandbox,
) -> None:
    off = page(nk, "export")
    assert off.status_code == 403
    assert "not enabled" in off.json()["error"]
    nk.drw_module(True)
    assert page(nk, "export", token="X" * 32).status_code == 403
    wrong = page(nk, "export", pid=999)
    assert (wrong.status_code, wrong.text) == (200, "")


def test_an_empty_drw_exports_an_empty_array(drw: Sandbox) -> None:
    assert page(drw, "export").json() == []


def test_an_import_creates_a_status_and_answers_the_new_resolution_ids(drw: Sandbox) -> None:
    assert send(drw, status_row(drw)) == [1]
    exported = page(drw, "export").json()
    [(status_id, status)] = exported.items()
    assert status["status_id"] == status_id == "1"
    assert (status["record"], status["field_name"], status["query_status"]) == (
        "1",
        "mba_date",
        "OPEN",
    )
    assert status["event_id"] == str(drw.project.event_by_name["fu_m1_arm_1"].event_id)
    assert status["resolutions"]["1"]["username"] == "bot"
    assert status["resolutions"]["1"]["response_requested"] == "1"


def test_the_same_ts_and_username_again_add_nothing(drw: Sandbox) -> None:
    send(drw, status_row(drw))
    assert send(drw, status_row(drw)) == []
    assert send(drw, status_row(drw, status_id="1")) == []
    [status] = drw.drw_statuses()
    assert len(status["resolutions"]) == 1
    assert send(drw, status_row(drw, user="other")) == [2]  # another user at the same time


def test_a_blank_status_id_creates_a_new_status_every_time(drw: Sandbox) -> None:
    send(drw, status_row(drw, status_id=""))
    send(drw, status_row(drw, status_id=""))
    assert len(drw.drw_statuses()) == 2


def test_the_status_follows_only_a_resolution_newer_than_the_thread(drw: Sandbox) -> None:
    send(drw, status_row(drw, ts=TS2, state="CLOSED"))
    send(drw, status_row(drw, status_id="1", ts=TS1, state="OPEN"))
    [status] = drw.drw_statuses()
    assert status["query_status"] == "CLOSED"
    assert len(status["resolutions"]) == 2
    send(drw, status_row(drw, status_id="1", ts="2026-11-26 11:00:00", state="OPEN"))
    assert drw.drw_statuses()[0]["query_status"] == "OPEN"


def test_rows_for_unknown_fields_or_other_projects_are_skipped(drw: Sandbox) -> None:
    assert send(drw, status_row(drw, field="no_such_field")) == []
    assert send(drw, status_row(drw, project_id="999")) == []
    assert drw.drw_statuses() == []


def test_the_drw_off_refuses_imports_with_403(drw: Sandbox) -> None:
    drw.drw_module(True, drw=False)
    answer = page(drw, "import", data=json.dumps([status_row(drw)]))
    assert answer.status_code == 403
    assert answer.json()["error"] == DRW_OFF
    assert page(drw, "import", data="[]").status_code == 403
    assert drw.drw_statuses() == []


def test_export_filters_by_record_and_open_status(drw: Sandbox) -> None:
    send(drw, status_row(drw), status_row(drw, record="2", ts=TS2, state="CLOSED"))
    assert set(page(drw, "export", **{"record[0]": "2"}).json()) == {"2"}
    assert set(page(drw, "export", status="OPEN").json()) == {"1"}
    assert set(page(drw, "export", status="CLOSED").json()) == {"2"}


def test_the_drw_survives_a_restart_from_the_state_file(make_sandbox, tmp_path) -> None:
    state = tmp_path / "state.json"
    first = make_sandbox(state_file=state).drw_module(True)
    send(first, status_row(first))
    first.stop()
    second = make_sandbox(state_file=state)
    assert second.store.drw.module_enabled
    assert [s["record"] for s in second.drw_statuses()] == ["1"]
    assert send(second, status_row(second, ts=TS2)) == [2]  # IDs go on


def test_module_requests_are_logged_without_the_token(drw: Sandbox) -> None:
    send(drw, status_row(drw))
    [entry] = drw.request_log.where(content=f"module:{PREFIX}", action="import")
    assert entry.is_import
    assert "token" not in entry.params


def test_a_fault_on_a_module_page_is_logged_as_that_page(drw: Sandbox) -> None:
    drw.faults.plan("503")
    assert page(drw, "import", data="[]").status_code == 503
    [entry] = drw.request_log.where(content=f"module:{PREFIX}", action="import")
    assert entry.fault == "503"
