"""Shared fixtures: a sandbox REDCap on loopback and a way to run the worker as a user does."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
AS_OF = date(2026, 11, 26)


@dataclass
class WorkerRun:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def demo_sandbox() -> Iterator[object]:
    """A fresh sandbox serving the dNK demo data as of ``AS_OF``."""
    from worker.sandbox import DEFAULT_PROJECT_DIR, DEMO_TOKEN, Sandbox

    with Sandbox.from_folder(
        project_dir=DEFAULT_PROJECT_DIR, data="demo", as_of=AS_OF, token=DEMO_TOKEN
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
