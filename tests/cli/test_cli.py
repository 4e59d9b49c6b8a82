"""Every command documents itself: `--help` works and every option has help text."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.worker_process import worker_env
from worker.cli import COMMAND_MODULES, build_parser
from worker.sandbox import DEMO_TOKEN


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_command_module_registers_its_command() -> None:
    assert set(subcommands()) == set(COMMAND_MODULES)


@pytest.mark.parametrize("name", COMMAND_MODULES)
def test_every_command_has_a_description_and_documented_options(name: str) -> None:
    parser = subcommands()[name]
    assert parser.description
    assert len(parser.description) > 40
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help, f"{name}: option {action.option_strings or action.dest} has no help"


@pytest.mark.e2e
@pytest.mark.parametrize("name", COMMAND_MODULES)
def test_help_runs_as_a_user_would_run_it(name: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "worker", name, "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0
    assert f"usage: python -m worker {name}" in done.stdout


@pytest.mark.e2e
def test_top_level_help_lists_every_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "worker", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0
    for name in COMMAND_MODULES:
        assert name in done.stdout


@pytest.mark.e2e
def test_a_usage_mistake_exits_2_with_usage_not_a_traceback() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "worker", "check", "--as-of", "yesterday"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "not a date" in done.stderr
    assert "Traceback" not in done.stderr


LOADED = """
import sys
from worker.cli import main
try:
    main({argv!r})
except SystemExit:
    pass
print(" ".join(sorted(sys.modules)))
"""


def loaded_modules(*argv: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", LOADED.format(argv=list(argv))],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(done.stdout.split())


@pytest.mark.e2e
def test_a_command_loads_only_its_own_module() -> None:
    """Start-up time is paid on every run: `check` must not import the scheduler, the
    sandbox server or the report's templates."""
    modules = loaded_modules("check", "--help")
    assert "worker.cli.check" in modules
    assert not modules & {
        "worker.cli.run",
        "worker.scheduler",
        "apscheduler",
        "worker.sandbox",
        "worker.report",
        "jinja2",
    }


@pytest.mark.e2e
def test_the_top_level_help_and_a_mistyped_command_still_list_every_command() -> None:
    assert {f"worker.cli.{name}" for name in COMMAND_MODULES} <= loaded_modules("--help")
    done = subprocess.run(
        [sys.executable, "-m", "worker", "chek"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert all(repr(name) in done.stderr for name in COMMAND_MODULES)


@pytest.mark.e2e
def test_the_version_loads_no_command_module() -> None:
    assert not {f"worker.cli.{name}" for name in COMMAND_MODULES} & loaded_modules("--version")


# What a command's start-up has no use for: the sandbox server, the scheduler, the email
# package and the report's templates.
UNUSED_BY_THE_CHECKS = {
    "worker.sandbox",
    "worker.scheduler",
    "apscheduler",
    "worker.notify",
    "smtplib",
    "worker.report",
    "jinja2",
}


@pytest.mark.e2e
@pytest.mark.parametrize("command", ["check", "sync", "visits", "report"])
def test_a_reading_command_loads_no_server_scheduler_or_email(command: str) -> None:
    modules = loaded_modules(command, "--help")
    assert f"worker.cli.{command}" in modules
    assert not modules & UNUSED_BY_THE_CHECKS


# A check's start-up up to its first request: the command's module, then its session (the
# settings, logging and the REDCap client).
OPENED = """
import argparse, sys
import worker.cli.check
from worker.cli.common import open_session
args = argparse.Namespace(config=None, sandbox=False, log_level="warning", as_of=None)
with open_session(args):
    print(" ".join(sorted(sys.modules)))
"""


@pytest.mark.e2e
def test_check_opens_its_session_before_it_imports_the_checks(tmp_path: Path) -> None:
    """The checks' machinery is imported while REDCap answers the structure requests, not
    before the first one goes out."""
    done = subprocess.run(
        [sys.executable, "-c", OPENED],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,  # no config.toml: the environment's settings
        env=worker_env("https://redcap.example.org/api/", DEMO_TOKEN),
    )
    modules = set(done.stdout.split())
    assert {"worker.config", "worker.logs", "worker.redcap_client"} <= modules
    assert not modules & {
        "worker.pipeline",
        "worker.core.generic_checks",
        "worker.core.mapping",
        "worker.core.rules",
        "worker.core.outcome",
        *UNUSED_BY_THE_CHECKS,
    }
