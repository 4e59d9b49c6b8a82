"""Persistence (atomic state file, restart, coordinator fixes) and thread safety."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import redcap

from tests.support.projects import DEMO_PROJECT
from tests.support.sandbox import SandboxFactory, pycap, write_classic_project
from tests.support.synthetic import nk_rows
from worker.errors import ConfigError
from worker.sandbox import Sandbox


def test_state_file_survives_a_restart(make_sandbox: SandboxFactory, tmp_path: Path) -> None:
    state = tmp_path / "state" / "sandbox.json"
    first = make_sandbox(project_dir=DEMO_PROJECT, data=nk_rows(2), state_file=state)
    assert state.exists()
    assert not first.restored
    # A coordinator fixes a value through the API...
    pycap(first).import_records(
        [{"record_id": "2", "redcap_event_name": "screening_arm_1", "enr_age": "35"}]
    )
    before = first.rows()
    first.stop()
    # ...and the next run (even one asking for other data) sees it.
    second = make_sandbox(project_dir=DEMO_PROJECT, data="empty", state_file=state)
    assert second.restored
    assert second.rows() == before
    assert pycap(second).export_records(records=["2"], fields=["enr_age"])[0]["enr_age"] == "35"
    assert next(e["action"] for e in pycap(second).export_logging(record="2")).startswith(
        "Updated Record"
    )
    assert [p.name for p in state.parent.iterdir()] == ["sandbox.json"]  # no temp files left


def test_reset_starts_again_from_the_data(make_sandbox: SandboxFactory, tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    make_sandbox(project_dir=DEMO_PROJECT, data=nk_rows(2), state_file=state).stop()
    again = make_sandbox(project_dir=DEMO_PROJECT, data="empty", state_file=state, reset=True)
    assert again.rows() == []
    assert json.loads(state.read_text())["records"] == []


def test_failed_imports_do_not_touch_the_state_file(
    make_sandbox: SandboxFactory, tmp_path: Path
) -> None:
    state = tmp_path / "s.json"
    sb = make_sandbox(project_dir=write_classic_project(tmp_path / "p"), state_file=state)
    saved = state.read_bytes()
    with pytest.raises(redcap.RedcapError):
        pycap(sb).import_records([{"record_id": "1", "age": "x"}])
    assert state.read_bytes() == saved


def test_a_state_file_of_another_project_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    Sandbox.from_folder(project_dir=DEMO_PROJECT, data="empty", state_file=state)
    with pytest.raises(ConfigError, match="belongs to project 4107"):
        Sandbox.from_folder(
            project_dir=write_classic_project(tmp_path / "p"), data="empty", state_file=state
        )
    (tmp_path / "junk.json").write_text("{}")
    with pytest.raises(ConfigError, match="not a sandbox state file"):
        Sandbox.from_folder(project_dir=DEMO_PROJECT, state_file=tmp_path / "junk.json")


def test_concurrent_imports_all_land(nk: Sandbox) -> None:
    """Many clients adding 'new' query instances at once: no lost or doubled instances."""
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            project = redcap.Project(nk.url, nk.token, timeout=20)
            for k in range(5):
                project.import_records(
                    [
                        {
                            "record_id": "1",
                            "redcap_event_name": "queries_arm_1",
                            "redcap_repeat_instrument": "data_query",
                            "redcap_repeat_instance": "new",
                            "dq_id": f"{n}-{k}",
                        }
                    ]
                )
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rows = nk.rows(records=["1"], events=["queries_arm_1"])
    assert sorted(r["redcap_repeat_instance"] for r in rows) == list(range(1, 31))
    assert len({r["dq_id"] for r in rows}) == 30
