"""The worker as a user or a scheduler runs it: ``python -m worker ARGS`` in a subprocess,
with an environment pointing it at a REDCap (usually the sandbox on loopback)."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

from tests.support.projects import REPO


@dataclass
class WorkerRun:
    returncode: int
    stdout: str
    stderr: str


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


# Only a safety net for a hung worker: no assertion here is about speed.
LIMIT_S = 120


class LiveWorker:
    """``python -m worker ARGS`` running in the background (after ``prefix``, such as
    ``unshare`` to run it as PID 1), the lines of its log stream (``stdout``, or ``stderr``)
    read as they come; the other stream goes to a file in ``tmp``."""

    def __init__(
        self,
        *args: str,
        env: dict[str, str],
        tmp: Path,
        prefix: Sequence[str] = (),
        log: Literal["stdout", "stderr"] = "stdout",
    ) -> None:
        self.other = tmp / ("worker.stderr" if log == "stdout" else "worker.stdout")
        with self.other.open("w") as other:
            self.proc = subprocess.Popen(
                [*prefix, sys.executable, "-m", "worker", *args],
                stdout=subprocess.PIPE if log == "stdout" else other,
                stderr=subprocess.PIPE if log == "stderr" else other,
                text=True,
                env=env,
                cwd=REPO,
            )
        self._log = self.proc.stdout if log == "stdout" else self.proc.stderr
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self._log is not None
        for line in self._log:
            self._queue.put(line)
        self._queue.put(None)

    @property
    def events(self) -> list[dict]:
        """Every line read, as JSON (stdout holds nothing else)."""
        return [json.loads(line) for line in self.lines]

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def wait_for(self, matches: Callable[[dict], bool], count: int = 1) -> list[dict]:
        """Read lines until ``count`` JSON lines match; return those."""
        found = [json.loads(x) for x in self.lines if x.startswith("{")]
        found = [e for e in found if matches(e)]
        while len(found) < count:
            try:
                line = self._queue.get(timeout=LIMIT_S)
            except queue.Empty:
                line = None
            if line is None:
                self.kill()
                pytest.fail(f"worker ended or hung before {count} matching lines:\n{self.tail()}")
            self.lines.append(line)
            event = json.loads(line) if line.startswith("{") else None
            if event is not None and matches(event):
                found.append(event)
        return found

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def finish(self) -> int:
        """Wait for the exit; read what is left of the log stream."""
        try:
            code = self.proc.wait(timeout=LIMIT_S)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"worker did not exit:\n{self.tail()}")
        while (line := self._queue.get(timeout=LIMIT_S)) is not None:
            self.lines.append(line)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def tail(self) -> str:
        return "".join(self.lines[-20:]) + self.other.read_text()[-3000:]
