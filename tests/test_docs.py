"""The documents agree with the code: README.md's command table with the CLI,
config.example.toml with the settings, and each command's ``--help`` with its options.

Everything is compared generically (the commands the CLI registers, the keys the settings
models declare), so a new command, option or key is held to the same rules.
"""

from __future__ import annotations

import argparse
import re
import tomllib

import pytest
from pydantic import BaseModel

from tests.support.projects import REPO
from worker.cli import COMMAND_MODULES, build_parser
from worker.config import Settings

README = REPO / "README.md"
EXAMPLE_CONFIG = REPO / "config.example.toml"

OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
TABLE_HEADER = "| command | what it does |"
ROW_COMMAND = re.compile(r"^\|\s*`python -m worker (?P<command>[a-z][a-z-]*)(?P<usage>[^`]*)`")


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def options_of(parser: argparse.ArgumentParser) -> set[str]:
    return {o for a in parser._actions for o in a.option_strings if o.startswith("--")}


# -- README's command table ------------------------------------------------------------------


def command_table(text: str) -> dict[str, set[str]]:
    """Command -> the options its row of the README's command table shows."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == TABLE_HEADER)
    rows: dict[str, set[str]] = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        match = ROW_COMMAND.match(line)
        assert match, f"a row of the command table names no command: {line}"
        assert match["command"] not in rows, f"{match['command']} has two rows"
        rows[match["command"]] = set(OPTION.findall(match["usage"]))
    return rows


README_TABLE = command_table(README.read_text(encoding="utf-8"))


def test_every_command_has_a_row_in_the_readme_command_table() -> None:
    assert set(subcommands()) == set(COMMAND_MODULES)
    missing = set(COMMAND_MODULES) - set(README_TABLE)
    assert not missing, f"README.md's command table lacks {sorted(missing)}"


def test_every_command_in_the_readme_table_exists() -> None:
    unknown = set(README_TABLE) - set(subcommands())
    assert not unknown, f"README.md's command table names commands that do not exist: {unknown}"


@pytest.mark.parametrize("command", sorted(README_TABLE))
def test_every_option_in_the_readme_table_is_an_option_of_its_command(command: str) -> None:
    parser = subcommands().get(command)
    assert parser is not None
    unknown = README_TABLE[command] - options_of(parser)
    assert not unknown, f"README.md shows `{command}` with options it does not take: {unknown}"


def test_the_table_reading_catches_a_wrong_row() -> None:
    table = command_table(
        f"{TABLE_HEADER}\n|---|---|\n"
        "| `python -m worker check [--as-of DATE] [--format table\\|json]` | x |\n"
        "| `python -m worker chek` | y |\n\nafter the table\n"
    )
    assert table == {"check": {"--as-of", "--format"}, "chek": set()}


# -- --help ----------------------------------------------------------------------------------


@pytest.mark.parametrize("command", COMMAND_MODULES)
def test_help_of_each_command_mentions_each_of_its_options(command: str) -> None:
    parser = subcommands()[command]
    text = parser.format_help()
    for action in parser._actions:
        assert action.help != argparse.SUPPRESS, f"{command}: {action.dest} is hidden"
        for option in action.option_strings:
            assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text), (
                f"`{command} --help` does not mention {option}"
            )


# -- config.example.toml and the settings ----------------------------------------------------

COMMENTED_HEADER = re.compile(r"^#\s*\[(?P<table>[A-Za-z_][\w.-]*)\]\s*$")
COMMENTED_LINE = re.compile(r"^#\s?(?P<rest>[A-Za-z_][\w-]*\s*=.*)$")


def settings_keys(model: type[BaseModel] = Settings, prefix: str = "") -> set[str]:
    """Every key the settings take, as ``section.key`` (top-level keys bare): a field whose
    type is a settings model is a section."""
    keys: set[str] = set()
    for name, info in model.model_fields.items():
        kind = info.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            keys |= settings_keys(kind, f"{prefix}{name}.")
        else:
            keys.add(f"{prefix}{name}")
    return keys


def example_keys(text: str) -> set[str]:
    """Every key the example config sets or shows commented out (``# key = value`` that is
    valid TOML), under the table it stands in."""
    keys: set[str] = set()
    for table, value in tomllib.loads(text).items():
        if isinstance(value, dict):
            keys |= {f"{table}.{key}" for key in value}
        else:
            keys.add(table)
    table = ""
    for raw in text.splitlines():
        line = raw.strip()
        header = re.match(r"^\[(?P<table>[^\]]+)\]", line) or COMMENTED_HEADER.match(line)
        if header:
            table = header["table"].strip()
            continue
        commented = COMMENTED_LINE.match(line)
        if commented is None:
            continue
        try:
            parsed = tomllib.loads(commented["rest"])
        except tomllib.TOMLDecodeError:
            continue  # prose with an equals sign
        keys |= {f"{table}.{key}" if table else key for key in parsed}
    return keys


EXAMPLE_KEYS = example_keys(EXAMPLE_CONFIG.read_text(encoding="utf-8"))


def test_every_key_of_the_example_config_is_a_setting() -> None:
    unknown = EXAMPLE_KEYS - settings_keys()
    assert not unknown, f"config.example.toml shows keys the settings do not take: {unknown}"


def test_every_setting_is_shown_in_the_example_config() -> None:
    missing = settings_keys() - EXAMPLE_KEYS
    assert not missing, f"config.example.toml does not show (even commented out): {missing}"


def test_the_key_reading_sees_commented_keys_and_skips_prose() -> None:
    text = (
        "# Top comment: set it = wisely.\n"
        'state_dir = "state"\n'
        "[redcap]\n"
        '# url = "https://x/api/"\n'
        "# e.g. WORKER_REDCAP__BATCH_SIZE=500\n"
        "batch_size = 1\n"
        '# sites = { a = ["x@example.org"] }\n'
        "# [later]\n"
        "# limit = 3\n"
    )
    assert example_keys(text) == {
        "state_dir",
        "redcap.url",
        "redcap.batch_size",
        "redcap.sites",
        "later.limit",
    }
    assert "redcap.url" in settings_keys()
    assert "state_dir" in settings_keys()
