"""Options shared by the commands that talk to REDCap, and the session they open.

Every command module imports this one to declare its options, and ``--help`` imports every
command module: what only a run needs (settings, logging, the REDCap client) is imported
where the run starts, so listing the commands does not pay for it."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from worker.errors import ConfigError

if TYPE_CHECKING:
    from worker.config import Settings
    from worker.session import Session
    from worker.stopping import StopCheck

# The example config of the demo study that ships beside the worker (the ``worker_demo``
# package: in the installed package, or the repository's own in a source checkout). Without
# a config.toml in the working directory, a sandbox try uses it: it names the study and the
# demo project the sandbox serves (study.demo), so the worker itself names no study.
EXAMPLE_CONFIG: Path | None
DEMO_PACKAGE: Path | None  # the installed demo study's folder, never written to
try:
    from worker_demo import EXAMPLE_CONFIG
    from worker_demo import PACKAGE as DEMO_PACKAGE
except ImportError:  # installed without the demo study
    EXAMPLE_CONFIG = DEMO_PACKAGE = None


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        metavar="PATH",
        help="TOML config file (default: config.toml in the working directory, if present; "
        "with --sandbox and no config.toml, the bundled config.example.toml)",
    )
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help=(
            "start the REDCap sandbox on loopback with the demo project the config names "
            "(study.demo) and use it instead of the configured REDCap (nothing leaves the "
            "machine)"
        ),
    )
    parser.add_argument(
        "--log-level",
        default="warning",
        choices=["debug", "info", "warning", "error"],
        help="log level for the log lines on stderr (default: warning)",
    )


def add_as_of_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--as-of",
        type=parse_date,
        metavar="YYYY-MM-DD",
        help="evaluate the checks as on this date (default: today in the study's timezone)",
    )


def add_records_option(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument("--record", action="append", metavar="ID", dest="records", help=help)


def positive_number(unit: str) -> Callable[[str], float]:
    """An argparse type: a finite number above zero, named by its unit in errors."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(f"not a positive number of {unit}: {text!r}")
        return value

    return parse


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def sandbox_config(args: argparse.Namespace) -> Path | None:
    """The config to use: as given; else, for a sandbox try with no config.toml here, the
    bundled example config, which points at the study the sandbox serves."""
    from worker.config import DEFAULT_CONFIG_PATH

    if args.config is not None or not getattr(args, "sandbox", False):
        return args.config
    if DEFAULT_CONFIG_PATH.exists():
        return None
    return _example_config()


def _example_config() -> Path | None:
    return EXAMPLE_CONFIG if EXAMPLE_CONFIG is not None and EXAMPLE_CONFIG.is_file() else None


def demo_folder(settings: Settings) -> Path:
    """The demo project a sandbox serves for these settings: the one ``study.demo`` names,
    else the one the bundled example config names (as before the setting existed)."""
    from worker.config import load_settings

    if settings.study.demo is not None:
        return settings.study.demo
    example = _example_config()
    if example is not None:
        demo = load_settings(example).study.demo
        if demo is not None:
            return demo
    raise ConfigError("no demo project for the sandbox to serve: set study.demo in the config")


def default_demo_folder() -> Path:
    """The demo ``python -m worker sandbox`` serves when no folder is given: the one that
    config.toml in the working directory names, else the one the bundled example config
    names."""
    from worker.config import DEFAULT_CONFIG_PATH, Settings, load_settings

    here = load_settings(DEFAULT_CONFIG_PATH) if DEFAULT_CONFIG_PATH.exists() else None
    if here is not None and here.study.demo is not None:
        return here.study.demo
    example = _example_config()
    return demo_folder(load_settings(example) if example is not None else Settings())


def sandbox_state_dir(state_dir: Path) -> Path:
    """Where a sandbox try keeps its state: a folder of its own (it must never move the real
    project's cursor or mark its summaries sent), and never inside the installed package,
    where the bundled example config's relative ``state_dir`` would put it."""
    from worker.config import Settings

    if DEMO_PACKAGE is not None and state_dir.resolve().is_relative_to(DEMO_PACKAGE):
        state_dir = Settings().state_dir  # the default: in the working directory
    return state_dir / "sandbox"


@contextmanager
def open_session(
    args: argparse.Namespace, *, should_stop: StopCheck | None = None
) -> Iterator[Session]:
    """Settings, logging, the (optional) sandbox and a REDCap client, for one command run;
    with ``should_stop``, the client starts no request attempt after a stop."""
    from pydantic import SecretStr

    from worker.config import load_settings
    from worker.connect import make_client
    from worker.logs import REDACTOR, configure_logging
    from worker.session import Session, today_in

    configure_logging(level=args.log_level)
    settings = load_settings(sandbox_config(args))
    as_of = getattr(args, "as_of", None) or today_in(settings.study.timezone)
    sandbox = None
    if args.sandbox:
        # Imported here: the sandbox is only needed for demos and tries.
        from worker.sandbox import DEMO_TOKEN, Sandbox

        sandbox = Sandbox.from_folder(
            project_dir=demo_folder(settings), data="demo", as_of=as_of, token=DEMO_TOKEN
        ).start()
        if settings.queries.target == "drw":
            # The DRW target: the sandbox serves the Data Quality API module's pages too.
            sandbox.drw_module(True)
        print(f"sandbox: serving demo data at {sandbox.url}", file=sys.stderr)
        settings = settings.model_copy(
            update={
                "redcap": settings.redcap.model_copy(
                    update={"url": sandbox.url, "token": SecretStr(DEMO_TOKEN), "token_file": None}
                ),
                "state_dir": sandbox_state_dir(settings.state_dir),
            }
        )
    try:
        token = settings.redcap.resolved_token()
        if token is not None:
            REDACTOR.add(token.get_secret_value())
        client = make_client(settings.redcap, should_stop=should_stop)
        yield Session(settings=settings, client=client, as_of=as_of)
    finally:
        if sandbox is not None:
            sandbox.stop()


def progress_printer(label: str, unit: str = "records") -> object:
    """A progress callback writing ``label: done/total unit`` on stderr, only on a terminal."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        end = "\n" if done >= total else ""
        print(f"\r{label}: {done}/{total} {unit}", end=end, file=sys.stderr, flush=True)

    return show


def require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)
