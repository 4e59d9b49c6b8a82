"""``python -m worker sandbox``: options, banner, clean shutdown, one-line errors."""

from __future__ import annotations

import argparse
import importlib.util
import signal
from pathlib import Path

import pytest
import redcap

from tests.support.sandbox import launch, read_banner, refusal, stop, write_classic_project
from worker.cli import sandbox as sandbox_cli
from worker.errors import ConfigError
from worker.sandbox import DEMO_TOKEN

REPO = Path(__file__).resolve().parents[2]
FULL_CLI = all(
    importlib.util.find_spec(f"worker.cli.{name}") is not None for name in ("check", "doctor")
)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m worker")
    sandbox_cli.register(root.add_subparsers(dest="command", required=True))
    return root


def test_help_documents_every_option() -> None:
    root = parser()
    assert root.parse_args(["sandbox"]).func is sandbox_cli.run
    commands = root._subparsers._group_actions[0]  # type: ignore[union-attr]
    assert commands._choices_actions[0].help  # the one-liner in `python -m worker --help`
    sandbox_parser = commands.choices["sandbox"]
    assert "DATA" in (sandbox_parser.description or "")
    for action in sandbox_parser._actions:
        assert action.help, action.dest
    assert "--latency-ms" in sandbox_parser.format_help()


@pytest.mark.e2e
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serves_until_signalled_then_exits_0(tmp_path: Path, sig: int) -> None:
    project_dir = write_classic_project(tmp_path / "p")
    proc = launch("empty", "--project-dir", str(project_dir), "--port", "0")
    banner = read_banner(proc)
    assert banner["Token"] == DEMO_TOKEN
    url = banner["URL"]
    assert url.startswith("http://127.0.0.1:")
    assert url.endswith("/api/")
    project = redcap.Project(url, banner["Token"], timeout=10)
    assert project.import_records([{"record_id": "1", "name": "x"}]) == {"count": 1}
    code, out, err = stop(proc, sig)
    assert code == 0
    assert "Traceback" not in err
    assert "Traceback" not in out
    assert out.rstrip().endswith("REDCap sandbox stopped.")
    assert "record/import" in err
    assert DEMO_TOKEN not in err


@pytest.mark.e2e
def test_state_file_and_faults_from_the_command_line(tmp_path: Path) -> None:
    project_dir = write_classic_project(tmp_path / "p")
    state = tmp_path / "state.json"
    args = ["--data", "empty", "--project-dir", str(project_dir), "--state-file", str(state)]
    proc = launch(*args, "--fail-rate", "1", "--fail-kinds", "503", "--seed", "3", "--quiet")
    banner = read_banner(proc)
    assert banner["State"] == str(state)
    assert "fail rate 1.0 (503)" in banner["Faults"]
    with pytest.raises(Exception):  # noqa: B017, PT011  (PyCap fails decoding the HTML page)
        redcap.Project(banner["URL"], DEMO_TOKEN, timeout=10).export_project_info()
    code, _, err = stop(proc, signal.SIGTERM)
    assert code == 0
    assert err == ""
    assert state.exists()


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "abc"], "error: --port must be a whole number, not 'abc'"),
        (["--port", "70000"], "error: --port must be between 0 and 65535, not 70000"),
        (["--fail-rate", "2"], "error: --fail-rate must be between 0 and 1, not 2.0"),
        (["--fail-kinds", "boom"], "error: --fail-kinds: unknown fault 'boom'"),
        (["--token", "short"], "error: a sandbox token must be 32 letters and digits"),
        (["--as-of", "26/11/2026"], "error: --as-of must be a date like 2026-11-26"),
        (["empty", "--participants", "4"], "error: --participants and --as-of apply only"),
        (["nope.json"], "error: DATA must be demo, empty or an existing JSON file"),
        (["demo", "--data", "empty"], "error: give DATA either as a positional argument"),
        (["--project-dir", "/nonexistent"], "error: project folder /nonexistent does not exist"),
    ],
)
def test_bad_options_are_one_line_errors_with_exit_2(args: list[str], message: str) -> None:
    assert refusal(*args).startswith(message)


def test_demo_without_demo_data_is_a_one_line_error(tmp_path: Path) -> None:
    project_dir = write_classic_project(tmp_path / "p")
    args = parser().parse_args(["sandbox", "demo", "--project-dir", str(project_dir)])
    with pytest.raises(ConfigError) as caught:
        args.func(args)
    assert caught.value.exit_code == 2
    assert "has no demo_data.py" in str(caught.value)


@pytest.mark.e2e
@pytest.mark.skipif(not FULL_CLI, reason="worker.cli.check/doctor are not written yet")
def test_through_python_dash_m_worker(tmp_path: Path) -> None:
    project_dir = write_classic_project(tmp_path / "p")
    proc = launch("empty", "--project-dir", str(project_dir), module=True)
    assert read_banner(proc)["Token"] == DEMO_TOKEN
    code, _, err = stop(proc, signal.SIGTERM)
    assert code == 0
    assert "Traceback" not in err
