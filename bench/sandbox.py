"""The sandbox in its own process, and its request log (JSON lines) read back."""

from __future__ import annotations

import itertools
import json
import os
import select
import signal
import subprocess
import sys
import time
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
_SERIAL = itertools.count(1)  # every sandbox of a run gets files of its own


@dataclass(frozen=True)
class Request:
    """One line of the sandbox's ``--request-log``."""

    seq: int
    received: float  # wall-clock seconds at arrival
    content: str
    action: str
    is_import: bool
    status: int | None
    records_requested: tuple[str, ...] | None
    records_returned: tuple[str, ...]
    rows_returned: int
    rows_sent: int

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Request:
        requested = data.get("records_requested")
        return cls(
            seq=int(data["seq"]),
            received=float(data["received"]),
            content=data.get("content") or "",
            action=data.get("action") or "",
            is_import=bool(data.get("is_import")),
            status=data.get("status"),
            records_requested=None if requested is None else tuple(requested),
            records_returned=tuple(data.get("records_returned") or ()),
            rows_returned=int(data.get("rows_returned") or 0),
            rows_sent=int(data.get("rows_sent") or 0),
        )

    @property
    def is_record_export(self) -> bool:
        return self.content == "record" and self.action == "export"


@dataclass(frozen=True)
class Traffic:
    """What a stretch of the request log shows."""

    requests: int
    record_exports: int
    exported_records: frozenset[str]
    exported_rows: int
    imports: int
    imported_rows: int  # rows sent in import requests
    arrivals: tuple[float, ...]  # wall clock, in log order

    @property
    def first(self) -> float | None:
        return min(self.arrivals, default=None)

    @property
    def last(self) -> float | None:
        return max(self.arrivals, default=None)

    @classmethod
    def of(cls, requests: Sequence[Request]) -> Traffic:
        exports = [r for r in requests if r.is_record_export]
        return cls(
            arrivals=tuple(r.received for r in requests),
            requests=len(requests),
            record_exports=len(exports),
            exported_records=frozenset(
                record for r in exports if r.status == 200 for record in r.records_returned
            ),
            exported_rows=sum(r.rows_returned for r in exports if r.status == 200),
            imports=sum(1 for r in requests if r.is_import),
            imported_rows=sum(r.rows_sent for r in requests if r.is_import),
        )


def closest(times: Sequence[float]) -> float | None:
    """The shortest time between two consecutive arrivals (a burst shows here)."""
    ordered = sorted(times)
    return min((b - a for a, b in itertools.pairwise(ordered)), default=None)


def max_in_window(times: Sequence[float], window: float = 1.0) -> int:
    """The most timestamps in any half-open window ``[t, t + window)``.

    It suffices to try windows that start at a timestamp: moving a window's start forward to
    the first timestamp inside it loses none and can only gain.
    """
    ordered = sorted(times)
    best = 0
    for i, start in enumerate(ordered):
        best = max(best, bisect_left(ordered, start + window, lo=i) - i)
    return best


class SandboxProcess:
    """``python -m worker sandbox demo --participants N`` on a free loopback port."""

    def __init__(
        self, participants: int, as_of: date, workdir: Path, *, latency_ms: int = 0
    ) -> None:
        self.participants = participants
        self.latency_ms = latency_ms
        self.name = f"{next(_SERIAL)}-{participants}-{latency_ms}ms"  # for its files' names
        self.log_path = workdir / f"requests-{self.name}.jsonl"
        self.log_path.unlink(missing_ok=True)
        command = [
            sys.executable,
            "-m",
            "worker",
            "sandbox",
            "demo",
            "--participants",
            str(participants),
            "--as-of",
            as_of.isoformat(),
            "--port",
            "0",
            "--quiet",
            "--request-log",
            str(self.log_path),
            # Every request answered this much later, as a busy REDCap server answers: its
            # arrival is still logged when it arrives (the rate is judged on arrivals).
            "--latency-ms",
            str(latency_ms),
        ]
        # TZ=UTC: the sandbox stamps changes in its local time, and the worker's config says
        # REDCap's server time is UTC (incremental syncs read changes since a UTC cursor).
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "TZ": "UTC"}
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        banner = self._read_banner(timeout=600.0)
        self.startup_s = time.perf_counter() - self.started
        self.url = banner["URL"]
        self.token = banner["Token"]
        self._read = 0  # log lines read so far
        self._requests: list[Request] = []

    def _read_banner(self, timeout: float) -> dict[str, str]:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        text = b""
        while b"Serving until" not in text:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self.proc.stdout], [], [], max(remaining, 0))
            chunk = os.read(self.proc.stdout.fileno(), 65536) if ready else b""
            if not chunk:
                self.proc.kill()
                _, err = self.proc.communicate()
                raise RuntimeError(f"the sandbox did not start: {err.decode()[-2000:]}")
            text += chunk
        pairs = (line.split(":", 1) for line in text.decode().splitlines() if ":" in line)
        return {k.strip(): v.strip() for k, v in pairs}

    def requests(self) -> list[Request]:
        """Every request logged so far, in arrival-of-answer order."""
        if self.log_path.exists():
            with self.log_path.open(encoding="utf-8") as file:
                lines = file.read().splitlines()
            for line in lines[self._read :]:
                self._requests.append(Request.from_json(json.loads(line)))
            self._read = len(lines)
        return list(self._requests)

    def mark(self) -> int:
        return len(self.requests())

    def since(self, mark: int) -> list[Request]:
        return self.requests()[mark:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.communicate()

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
