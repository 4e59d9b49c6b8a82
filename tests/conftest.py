"""Shared fixtures: a sandbox REDCap on loopback, a way to run the worker as a user does,
and the demo project's structure."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from worker.core.schema import ProjectSchema
from worker.state_records import RunRecord

REPO = Path(__file__).resolve().parent.parent
AS_OF = date(2026, 11, 26)
DEMO_PROJECT = REPO / "demo" / "nk_trial"
# Projects as REDCap's own files: a project XML (with its oracle of generic findings) and a
# data dictionary CSV, served by the sandbox as `python -m worker sandbox FILE` does.
PROJECT_FILES = REPO / "tests" / "fixtures" / "projects"
TWO_ARM_XML = PROJECT_FILES / "two_arm_trial.REDCap.xml"
TWO_ARM_FINDINGS = PROJECT_FILES / "two_arm_trial.findings.json"
CLASSIC_CSV = PROJECT_FILES / "classic_dictionary.csv"


def run_record(
    *,
    status: str = "ok",
    mode: str = "full",
    started_at: datetime = datetime(2026, 11, 26, 8, 0, tzinfo=UTC),
    finished_at: datetime | None = None,
    run_id: str = "run",
) -> RunRecord:
    """A run as the history keeps it (``finished_at`` defaults to its start)."""
    return RunRecord(
        run_id=run_id,
        mode=mode,
        status=status,
        started_at=started_at,
        finished_at=finished_at or started_at,
        duration_s=0.0,
    )


# A synthetic project with two arms whose visits share names (see its README.md).
TWO_ARM_PROJECT = REPO / "tests" / "fixtures" / "projects" / "two_arm_exports"


def project_export(folder: Path, name: str) -> Any:
    """One of a project folder's REDCap API exports (``FOLDER/NAME.json``)."""
    return json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))


def demo_export(name: str) -> Any:
    """One of the demo project's REDCap API exports (``demo/nk_trial/NAME.json``)."""
    return project_export(DEMO_PROJECT, name)


@cache
def exports_schema(folder: Path) -> ProjectSchema:
    """A project folder's structure, as the worker reads it from REDCap (immutable, so one
    copy serves every test)."""
    return ProjectSchema.from_exports(
        project_info=project_export(folder, "project"),
        metadata=project_export(folder, "metadata"),
        events=project_export(folder, "events"),
        form_event_mapping=project_export(folder, "form_event_mapping"),
        repeating=project_export(folder, "repeating_forms_events"),
        instruments=project_export(folder, "instruments"),
    )


def demo_schema() -> ProjectSchema:
    """The dNK demo project's structure."""
    return exports_schema(DEMO_PROJECT)


def two_arm_schema() -> ProjectSchema:
    """The two-arm test project's structure."""
    return exports_schema(TWO_ARM_PROJECT)


def dictionary_rows(csv_text: str) -> list[dict[str, str]]:
    """A Data Dictionary CSV (REDCap's download: human column names) as the API's metadata
    rows, as REDCap reads an uploaded one: columns by position."""
    from worker.core.scaffold import DICTIONARY_COLUMNS

    reader = csv.reader(io.StringIO(csv_text))
    header = next(reader)
    assert header == [human for _, human in DICTIONARY_COLUMNS]
    names = [api for api, _ in DICTIONARY_COLUMNS]
    return [dict(zip(names, row, strict=True)) for row in reader]


@dataclass
class WorkerRun:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def demo_sandbox() -> Iterator[object]:
    """A fresh sandbox serving the dNK demo data as of ``AS_OF``."""
    from worker.sandbox import DEMO_TOKEN, Sandbox

    with Sandbox.from_folder(
        project_dir=DEMO_PROJECT, data="demo", as_of=AS_OF, token=DEMO_TOKEN
    ) as sandbox:
        yield sandbox


def worker_env(url: str, token: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WORKER_", "REDCAP_API_"))}
    env.update(
        {
            "REDCAP_API_URL": url,
            "REDCAP_API_TOKEN": token,
            # Retries stay real but fast: the backoff itself is unit-tested in the client.
            "WORKER_REDCAP__RETRY_BASE_DELAY_S": "0.01",
            "WORKER_REDCAP__RETRY_MAX_DELAY_S": "0.05",
            "WORKER_REDCAP__MAX_REQUESTS_PER_SECOND": "50",
        }
    )
    env.update(extra)
    return env


def run_worker(*args: str, env: dict[str, str], cwd: Path = REPO) -> WorkerRun:
    """``python -m worker ARGS`` in a subprocess, as a user or a scheduler runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "worker", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
    )
    return WorkerRun(done.returncode, done.stdout, done.stderr)


# --- Visit schedules ----------------------------------------------------------------------


@dataclass(frozen=True)
class _FailingSchedule:
    """A declared schedule that raises for one record: how a participant's bad data (or a
    broken ``@condition``) looks to the commands that list visits."""

    inner: Any
    record: str

    def rows(
        self, participant: Any, as_of: date, arm: int | None, event_of: Any = None
    ) -> list[Any]:
        if participant.record_id == self.record:
            raise ValueError("bad data")
        return self.inner.rows(participant, as_of, arm, event_of)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def schedule_failing_for(ruleset: Any, record: str) -> Any:
    """``ruleset`` with a schedule that cannot be computed for ``record``."""
    return replace(ruleset, visit_schedule=_FailingSchedule(ruleset.visit_schedule, record))
