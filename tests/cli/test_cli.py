"""Every command documents itself: `--help` works and every option has help text."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from worker.cli import COMMAND_MODULES, build_parser


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
