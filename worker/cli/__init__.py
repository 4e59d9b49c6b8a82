"""Command-line interface: each command module only translates options into library calls.

Every command module exposes ``register(subparsers)``, which adds its parser (with help
text) and sets ``func`` to a callable taking the parsed namespace and returning an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from worker import __version__
from worker.errors import StopRequested, WorkerError
from worker.text_safety import visible

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


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line and a pointer to ``--help`` (exit
    2), not argparse's usage block. Its subcommands' parsers are of the same class."""

    def error(self, message: str) -> NoReturn:
        text = visible(" ".join(message.split()))
        self.exit(2, f"error: {text} (see: {self.prog} --help)\n")


def build_parser(commands: Sequence[str] = COMMAND_MODULES) -> argparse.ArgumentParser:
    parser = OneLineParser(
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
    the import of the scheduler, the sandbox and the report templates it does not use.
    ``--version`` first needs none: argparse answers it before it looks at commands."""
    first = next(iter(argv), None)
    if first == "--version":
        return ()
    return (first,) if first in COMMAND_MODULES else COMMAND_MODULES


def _command_parser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            return action.choices[command]
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Text REDCap sent that no encoding can carry (a lone surrogate) is escaped by the
    # renderers; should any reach a stream anyway, it is written escaped, never a crash.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_named_command(argv))
    args, extra = parser.parse_known_args(argv)
    if extra:  # said by the command's own parser, so the pointer is to its --help
        _command_parser(parser, args.command).error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return int(args.func(args))
    except WorkerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except StopRequested as exc:
        # Asked to stop (SIGTERM, Ctrl-C) and stopped at a safe point: a clean exit.
        print(f"stopped: {exc}", file=sys.stderr)
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        # A file-system mistake no command caught itself (a folder where a file belongs, a
        # read-only path): the path and the reason, in one line.
        where = f": {exc.filename}" if exc.filename else ""
        print(f"error: {exc.strerror or type(exc).__name__}{where}", file=sys.stderr)
        return 2
