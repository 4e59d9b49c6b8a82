"""The in-process face of the sandbox (worker/sandbox/sandbox.py): built from a project, its
starting data chosen, started and stopped, and every bad option one config error."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.projects import DEMO_PROJECT, TWO_ARM_XML
from tests.support.sandbox import SandboxFactory, pycap
from worker.errors import ConfigError
from worker.sandbox import Sandbox


@pytest.mark.e2e
def test_context_manager_starts_and_stops(classic_dir) -> None:
    with Sandbox.from_folder(project_dir=classic_dir, data="empty") as sb:
        assert sb.running
        assert pycap(sb).export_version() is not None
    assert not sb.running
    with pytest.raises(RuntimeError):
        _ = sb.url


def test_token_must_look_like_redcaps(classic_dir) -> None:
    with pytest.raises(ConfigError, match="32 letters and digits"):
        Sandbox.from_folder(project_dir=classic_dir, data="empty", token="short")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"participants": -1}, "participants must be zero or more"),
        ({"port": 70000}, "port 70000 is not between 0 and 65535"),
        ({"export_rights": {"no_such_form": "none"}}, "the project has no such form"),
        ({"export_rights": {"enrollment": "all"}}, "export right 'all'"),
    ],
)
def test_bad_options_are_config_errors(options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Sandbox.from_folder(DEMO_PROJECT, data="empty", **options)


def test_a_project_file_starts_from_its_own_data_not_the_demo() -> None:
    assert Sandbox.from_project(TWO_ARM_XML).rows()
    with pytest.raises(ConfigError, match="demo data come from a project folder"):
        Sandbox.from_project(TWO_ARM_XML, data="demo")


def test_a_state_file_keeps_the_data_across_restarts_unless_reset(
    tmp_path: Path, make_sandbox: SandboxFactory
) -> None:
    state = tmp_path / "state.json"
    first = make_sandbox(data="empty", state_file=state)
    assert not first.restored
    first.load_rows([{"record_id": "1", "redcap_event_name": first.project.events[0].unique_name}])
    again = Sandbox.from_folder(DEMO_PROJECT, data="empty", state_file=state)
    assert again.restored
    assert {r["record_id"] for r in again.rows()} == {"1"}
    fresh = Sandbox.from_folder(DEMO_PROJECT, data="empty", state_file=state, reset=True)
    assert not fresh.restored
    assert fresh.rows() == []
