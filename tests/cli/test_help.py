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


@pytest.mark.parametrize("name", COMMAND_MODULES)
def test_help_runs_as_a_user_would_run_it(name: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "worker", name, "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0
    assert f"usage: python -m worker {name}" in done.stdout


def test_top_level_help_lists_every_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "worker", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0
    for name in COMMAND_MODULES:
        assert name in done.stdout


def test_a_usage_mistake_exits_2_with_usage_not_a_traceback() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "worker", "check", "--as-of", "yesterday"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "not a date" in done.stderr
    assert "Traceback" not in done.stderr
