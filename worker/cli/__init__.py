"""Command-line interface: each command module only translates options into library calls.

Every command module exposes ``register(subparsers)``, which adds its parser (with help
text) and sets ``func`` to a callable taking the parsed namespace and returning an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from worker import __version__
from worker.errors import WorkerError

# Command modules, in the order `--help` lists them.
COMMAND_MODULES = (
    "check",
    "sync",
    "run",
    "health",
    "visits",
    "report",
    "doctor",
    "init",
    "sandbox",
)


def build_parser(commands: Sequence[str] = COMMAND_MODULES) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m worker",
        description=(
            "REDCap sync and validation worker: pulls a study's records, runs the protocol's "
            "checks and the data dictionary's generic checks, and reports the findings."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in commands:
        importlib.import_module(f"worker.cli.{name}").register(subparsers)
    return parser


def _named_command(argv: Sequence[str]) -> tuple[str, ...]:
    """The command ``argv`` names, alone; every command if it names none (``--help``, a
    typo): then all are listed. Loading one command's module, not all nine, saves each run
    the import of the scheduler, the sandbox and the report templates it does not use."""
    first = next(iter(argv), None)
    return (first,) if first in COMMAND_MODULES else COMMAND_MODULES


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_named_command(argv))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except WorkerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
