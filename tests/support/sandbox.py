"""The sandbox in tests: a PyCap client for it, a small classic project written into a
folder, and ``python -m worker sandbox`` as a subprocess (its banner read, then stopped)."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import redcap
import requests

from tests.support.projects import AS_OF, REPO
from worker.sandbox import DEMO_TOKEN, Sandbox


def _meta(name: str, form: str, ftype: str = "text", **extra: str) -> dict[str, str]:
    row = {
        "field_name": name,
        "form_name": form,
        "section_header": "",
        "field_type": ftype,
        "field_label": name.replace("_", " ").title(),
        "select_choices_or_calculations": "",
        "field_note": "",
        "text_validation_type_or_show_slider_number": "",
        "text_validation_min": "",
        "text_validation_max": "",
        "identifier": "",
        "branching_logic": "",
        "required_field": "",
        "custom_alignment": "",
        "question_number": "",
        "matrix_group_name": "",
        "matrix_ranking": "",
        "field_annotation": "",
    }
    row.update(extra)
    return row


CLASSIC_METADATA = [
    _meta("record_id", "demographics", field_label="Record ID"),
    _meta("name", "demographics"),
    _meta("dob", "demographics", text_validation_type_or_show_slider_number="date_ymd"),
    _meta("age", "demographics", text_validation_type_or_show_slider_number="integer"),
    _meta("weight", "demographics", text_validation_type_or_show_slider_number="number"),
    _meta("sex", "demographics", "radio", select_choices_or_calculations="1, Female | 2, Male"),
    _meta(
        "colors",
        "demographics",
        "checkbox",
        field_label="Colors",
        select_choices_or_calculations="1, Red | 2, Green | -1, Unknown",
    ),
    _meta("consent", "demographics", "yesno"),
    _meta("intro", "demographics", "descriptive"),
    _meta("photo", "demographics", "file"),
    _meta("bmi", "demographics", "calc", select_choices_or_calculations="[weight]/4"),
    _meta("visit_date", "visit", text_validation_type_or_show_slider_number="date_ymd"),
    _meta("visit_score", "visit", text_validation_type_or_show_slider_number="integer"),
    _meta("visit_done", "visit", "truefalse"),
]


@contextmanager
def serving_demo(project_dir: Path) -> Iterator[Sandbox]:
    """A fresh sandbox serving a project folder's demo data as of ``AS_OF``."""
    with Sandbox.from_folder(
        project_dir=project_dir, data="demo", as_of=AS_OF, token=DEMO_TOKEN
    ) as sandbox:
        yield sandbox


def post(sb: Sandbox, **data: str) -> requests.Response:
    """A raw API request to the sandbox, with its token unless ``data`` names one."""
    data.setdefault("token", sb.token)
    return requests.post(sb.url, data=data, timeout=10)


def write_classic_project(folder: Path, *, repeating: bool = True, dags: bool = True) -> Path:
    """A classic (non-longitudinal) project; ``visit`` repeats unless ``repeating`` is False."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metadata.json").write_text(json.dumps(CLASSIC_METADATA))
    (folder / "instruments.json").write_text(
        json.dumps(
            [
                {"instrument_name": "demographics", "instrument_label": "Demographics"},
                {"instrument_name": "visit", "instrument_label": "Visit"},
            ]
        )
    )
    (folder / "project.json").write_text(
        json.dumps({"project_id": 77, "project_title": "Classic test", "is_longitudinal": 0})
    )
    if repeating:
        (folder / "repeating_forms_events.json").write_text(
            json.dumps([{"form_name": "visit", "custom_form_label": "[visit_date]"}])
        )
    if dags:
        (folder / "dags.json").write_text(
            json.dumps(
                [
                    {
                        "data_access_group_name": "Site A",
                        "unique_group_name": "site_a",
                        "data_access_group_id": 11,
                    },
                    {
                        "data_access_group_name": "Site B",
                        "unique_group_name": "site_b",
                        "data_access_group_id": 12,
                    },
                ]
            )
        )
    return folder


SandboxFactory = Callable[..., Sandbox]


def pycap(sandbox: Sandbox) -> redcap.Project:
    """A PyCap 2.7 client for the sandbox, with a timeout as the worker would use."""
    return redcap.Project(sandbox.url, sandbox.token, timeout=20)


# Builds the parser from this command alone, as worker.cli.main does for every command; the
# other command modules are other people's work and may not exist yet.
DRIVER = """
import argparse, sys
from worker.cli import sandbox
from worker.errors import WorkerError
parser = argparse.ArgumentParser(prog="python -m worker")
sub = parser.add_subparsers(dest="command", required=True)
sandbox.register(sub)
args = parser.parse_args(sys.argv[1:])
try:
    sys.exit(args.func(args))
except WorkerError as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(exc.exit_code)
"""


def launch(*args: str, module: bool = False) -> subprocess.Popen[bytes]:
    command = ["-m", "worker"] if module else ["-c", DRIVER]
    return subprocess.Popen(
        [sys.executable, *command, "sandbox", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def read_banner(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> dict[str, str]:
    """Read stdout until the 'Serving' line (select with a deadline: never hang a test run)."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    text = b""
    while b"Serving until" not in text:
        remaining = deadline - time.monotonic()
        ready, _, _ = select.select([proc.stdout], [], [], max(remaining, 0))
        chunk = os.read(proc.stdout.fileno(), 4096) if ready else b""
        if not chunk:
            proc.kill()
            raise AssertionError(f"no banner; got {text!r}, stderr {proc.communicate()[1]!r}")
        text += chunk
    lines = dict(line.split(":", 1) for line in text.decode().splitlines() if ":" in line)
    return {k.strip(): v.strip() for k, v in lines.items()}


def stop(proc: subprocess.Popen[bytes], sig: int) -> tuple[int, str, str]:
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=20)
    return proc.returncode, out.decode(), err.decode()


def refusal(*args: str) -> str:
    """The one line on stderr with which ``python -m worker sandbox ARGS`` exits 2, having
    printed nothing on stdout."""
    proc = launch(*args)
    out, err = proc.communicate(timeout=20)
    assert (proc.returncode, out) == (2, b""), err
    [line] = err.decode().strip().splitlines()
    return line
