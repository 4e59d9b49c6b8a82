"""``python -m worker sandbox``: serve a REDCap-compatible sandbox API on loopback."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import FrameType
from typing import Any

from worker.cli.common import default_demo_folder
from worker.errors import ConfigError
from worker.sandbox import DEMO_TOKEN, RequestEntry, Sandbox
from worker.sandbox.access import parse_delete_after, parse_export_right
from worker.sandbox.faults import DEFAULT_FAIL_KINDS, parse_fault
from worker.sandbox.reqlog import entry_json
from worker.sandbox.source import is_project_file

DESCRIPTION = """\
Serve a REDCap-compatible API for one project on http://127.0.0.1:PORT/api/ until stopped
(Ctrl-C or SIGTERM). It answers like REDCap 15.7 (PyCap and the worker cannot tell the
difference for the methods they use) and keeps its data in memory, and in --state-file if
given, so changes made through the API survive a restart.

PROJECT is the project served: a folder of REDCap API exports (the default: the demo that
study.demo names in the config), a REDCap project XML file (REDCap's "Download project XML",
CDISC ODM with REDCap's extensions: fields, instruments, arms, events, repeating setup,
missing data codes and the records it holds) or a data dictionary CSV (a classic project with
no records). Give it with --project, or a FILE.xml or FILE.csv as the positional argument.

DATA is what the sandbox starts with: the project's own data by default (a folder's
demo_data.py, generated as of --as-of for --participants participants; an XML file's
records; nothing for a data dictionary), 'demo', 'empty', or a JSON file of flat import rows.
It may be given as a positional argument or with --data.
Seed data are loaded without value validation (REDCap can hold invalid values); imports
through the API are validated as REDCap does.

It prints its URL and API token (the well-known demo token unless --token is given) and one
line per request on stderr (never the token). Fault options simulate a flaky REDCap for demos.
--request-log writes the same requests as JSON lines (arrival time, what was asked, records
exported or written) for programs such as the benchmark.
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sandbox",
        help="serve a REDCap-compatible sandbox API (the demo, a project XML or data dictionary "
        "CSV; fault injection) on loopback",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "data_pos",
        nargs="?",
        metavar="DATA|FILE",
        help="starting data (demo, empty, or PATH.json of flat rows), or the project to serve "
        "as FILE.xml (REDCap project XML) or FILE.csv (data dictionary)",
    )
    parser.add_argument(
        "--data",
        metavar="DATA",
        help="same as the positional DATA (give one or the other)",
    )
    parser.add_argument(
        "--project",
        "--project-dir",
        dest="project",
        metavar="PATH",
        help="the project: a folder of its REDCap API exports (metadata.json, events.json, "
        "...), a REDCap project XML file or a data dictionary CSV; default: "
        "the demo that study.demo names in config.toml here, else in the bundled "
        "config.example.toml",
    )
    parser.add_argument(
        "--port",
        metavar="N",
        default="0",
        help="TCP port on 127.0.0.1; 0 (the default) picks a free one",
    )
    parser.add_argument(
        "--token",
        metavar="TOKEN",
        default=DEMO_TOKEN,
        help="API token to accept: 32 letters and digits (default: the sandbox's demo token)",
    )
    parser.add_argument(
        "--state-file",
        metavar="PATH",
        help="keep the data in this JSON file (written atomically after every change); if it "
        "exists, start from it instead of DATA",
    )
    parser.add_argument(
        "--reset",
        action="store_true",
        help="ignore an existing --state-file and start again from DATA",
    )
    parser.add_argument(
        "--participants",
        metavar="N",
        help="number of demo participants (demo data only; default: the generator's own)",
    )
    parser.add_argument(
        "--as-of",
        metavar="YYYY-MM-DD",
        help="date the demo data are generated up to (demo data only; default: today)",
    )
    parser.add_argument(
        "--latency-ms",
        metavar="MS",
        default="0",
        help="delay every answer by MS milliseconds (default 0)",
    )
    parser.add_argument(
        "--fail-rate",
        metavar="P",
        default="0",
        help="probability (0..1) that a request gets a random fault (default 0: none)",
    )
    parser.add_argument(
        "--fail-kinds",
        metavar="LIST",
        default=",".join(DEFAULT_FAIL_KINDS),
        help="comma list of faults --fail-rate picks from: a 4xx/5xx status, drop, drop-after, "
        "html, latency:MS (default: %(default)s)",
    )
    parser.add_argument(
        "--seed",
        metavar="N",
        help="seed for the random faults, for a repeatable demo",
    )
    parser.add_argument(
        "--export-right",
        action="append",
        default=[],
        metavar="FORM=RIGHT",
        help="the token user's data export right on FORM (repeatable): full, "
        "remove_identifiers (identifier fields left out), deidentified (identifiers, free "
        "text, notes and dates left out) or none (the form left out), as REDCap 15 leaves "
        "columns out of record exports; default full",
    )
    parser.add_argument(
        "--locked-record",
        action="append",
        default=[],
        metavar="ID",
        help="a locked record (repeatable): an import touching it is refused as a whole with "
        "REDCap's locking message",
    )
    parser.add_argument(
        "--delete-record-after",
        action="append",
        default=[],
        metavar="N:ID",
        help="delete record ID after the Nth request (repeatable): a record deleted between "
        "a client's export and its write",
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="do not print a line per request",
    )
    parser.add_argument(
        "--drw-module",
        action="store_true",
        help="enable the Data Quality API external module on the project (its export and "
        'import pages of Data Resolution Workflow statuses, for queries.target = "drw")',
    )
    parser.add_argument(
        "--drw-off",
        action="store_true",
        help="with --drw-module: the project has the Data Resolution Workflow off (imports "
        "refused with 403, as REDCap does)",
    )
    parser.add_argument(
        "--request-log",
        metavar="PATH",
        help="also append one JSON line per request to this file (arrival time, content, "
        "status, records asked for, returned or written; never the token or any value)",
    )
    parser.set_defaults(func=run)


def _int(value: str | None, option: str, *, low: int = 0, high: int | None = None) -> int | None:
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{option} must be a whole number, not {value!r}") from None
    if number < low or (high is not None and number > high):
        bound = f"between {low} and {high}" if high is not None else f"{low} or more"
        raise ConfigError(f"{option} must be {bound}, not {number}")
    return number


def _project_and_data(args: argparse.Namespace) -> tuple[Path, str | None]:
    """The project path and the DATA asked for (None: the project's own)."""
    project, positional = args.project, args.data_pos
    if positional is not None and is_project_file(positional):
        if project is not None:
            raise ConfigError("give the project either as FILE or with --project, not both")
        project, positional = positional, None
    if positional and args.data and positional != args.data:
        raise ConfigError("give DATA either as a positional argument or with --data, not both")
    path = Path(project) if project is not None else default_demo_folder()
    if not path.exists():
        kind = "file" if is_project_file(path) else "folder"
        raise ConfigError(f"project {kind} {path} does not exist")
    if not path.is_dir() and not is_project_file(path):
        raise ConfigError(
            f"project {path} must be a folder of API exports, a REDCap project XML file "
            "(.xml) or a data dictionary CSV (.csv)"
        )
    return path, args.data or positional


def _options(args: argparse.Namespace) -> dict[str, Any]:
    project, data = _project_and_data(args)
    if data not in (None, "demo", "empty") and not Path(data).is_file():
        raise ConfigError(f"DATA must be demo, empty or an existing JSON file, not {data!r}")
    demo = data == "demo" or (data is None and project.is_dir())
    if not demo and (args.participants is not None or args.as_of is not None):
        raise ConfigError("--participants and --as-of apply only to demo data")
    as_of = None
    if args.as_of is not None:
        try:
            as_of = date.fromisoformat(args.as_of)
        except ValueError:
            raise ConfigError(
                f"--as-of must be a date like 2026-11-26, not {args.as_of!r}"
            ) from None
    try:
        fail_rate = float(args.fail_rate)
    except ValueError:
        raise ConfigError(f"--fail-rate must be a number, not {args.fail_rate!r}") from None
    if not 0.0 <= fail_rate <= 1.0:
        raise ConfigError(f"--fail-rate must be between 0 and 1, not {fail_rate}")
    kinds = [k.strip() for k in args.fail_kinds.split(",") if k.strip()]
    for kind in kinds:
        try:
            parse_fault(kind)
        except ValueError as exc:
            raise ConfigError(f"--fail-kinds: {exc}") from None
    try:
        rights = dict(parse_export_right(spec) for spec in args.export_right)
        delete_after = [parse_delete_after(spec) for spec in args.delete_record_after]
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return {
        "export_rights": rights,
        "locked_records": list(args.locked_record),
        "delete_after": delete_after,
        "project_dir": project,
        "data": data,
        "as_of": as_of,
        "participants": _int(args.participants, "--participants"),
        "token": args.token,
        "state_file": Path(args.state_file) if args.state_file else None,
        "port": _int(args.port, "--port", high=65535),
        "reset": args.reset,
        "latency_ms": _int(args.latency_ms, "--latency-ms"),
        "fail_rate": fail_rate,
        "fail_kinds": kinds,
        "seed": _int(args.seed, "--seed", low=-(2**63)),
    }


def _own_data(project: Path) -> str:
    return "demo" if project.is_dir() else project.name


def _print_request(entry: RequestEntry) -> None:
    status = entry.status if entry.status is not None else "---"
    what = f"{entry.content or '-'}/{entry.action or '-'}"
    parts = [f"#{entry.seq}", str(status), what]
    if entry.format:
        parts.append(f"format={entry.format}")
    if entry.record_ids:
        ids = entry.record_ids
        shown = ",".join(ids[:5]) + (f",...(+{len(ids) - 5})" if len(ids) > 5 else "")
        parts.append(f"records={shown}")
    if entry.rows_sent:
        parts.append(f"rows_sent={entry.rows_sent}")
    if entry.fault:
        parts.append(f"FAULT={entry.fault}")
    if entry.error:
        parts.append(f"error={entry.error.splitlines()[0][:100]!r}")
    print(" ".join(parts), file=sys.stderr, flush=True)


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An event that Ctrl-C or SIGTERM sets; both end the same clean way. The handlers are
    in place before the banner says so, so a signal sent on reading it is never fatal."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _RequestLogFile:
    """Appends each request as a JSON line, flushed at once so a reader sees it."""

    def __init__(self, path: Path) -> None:
        try:
            self._file = path.open("a", encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"--request-log: cannot open {path}: {exc.strerror}") from None
        self._lock = threading.Lock()

    def __call__(self, entry: RequestEntry) -> None:
        line = entry_json(entry)
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()


def run(args: argparse.Namespace) -> int:
    options = _options(args)
    log_file = _RequestLogFile(Path(args.request_log)) if args.request_log else None
    callbacks = [c for c in (None if args.quiet else _print_request, log_file) if c is not None]

    def on_request(entry: RequestEntry) -> None:
        for callback in callbacks:
            callback(entry)

    try:
        sandbox = Sandbox.from_folder(**options, on_request=on_request if callbacks else None)
        if args.drw_module or args.drw_off:
            sandbox.drw_module(args.drw_module, drw=not args.drw_off)
        sandbox.start()
    except BaseException:
        if log_file is not None:
            log_file.close()
        raise
    try:
        with _stop_on_signals() as stop:
            project = sandbox.project
            source = (
                f"state file {options['state_file']}"
                if sandbox.restored
                else options["data"] or _own_data(options["project_dir"])
            )
            print(
                f"REDCap sandbox: {project.info.get('project_title', '')} "
                f"({len(sandbox.store)} records from {source})",
                flush=True,
            )
            print(f"URL:   {sandbox.url}", flush=True)
            print(f"Token: {sandbox.token}", flush=True)
            if options["state_file"] is not None:
                print(f"State: {options['state_file']}", flush=True)
            if options["latency_ms"] or options["fail_rate"]:
                print(
                    f"Faults: latency {options['latency_ms']} ms, fail rate {options['fail_rate']} "
                    f"({','.join(options['fail_kinds'])}), seed {options['seed']}",
                    flush=True,
                )
            if sandbox.store.drw.module_enabled:
                drw = "off" if not sandbox.store.drw.drw_enabled else "on"
                print(f"DRW:   Data Quality API module enabled, DRW {drw}", flush=True)
            print("Serving until Ctrl-C or SIGTERM.", flush=True)
            while not stop.wait(0.5):
                pass
    finally:
        sandbox.stop()
        if log_file is not None:
            log_file.close()
    print("REDCap sandbox stopped.", flush=True)
    return 0
