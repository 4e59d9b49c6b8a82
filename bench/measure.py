"""The measurements: the bare export (the floor), worker runs as subprocesses, edits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import redcap

from bench.sandbox import REPO, SandboxProcess, Traffic
from worker.core.mapping import load_mapping
from worker.redcap_client.ratelimit import RateLimiter

CONFIG = REPO / "config.example.toml"
# What the benchmark changes in 1 % of the records: the age at enrolment, alternately out of
# its data-dictionary range (a DQ-RANGE query opens) and back inside it (the query resolves).
EDIT_EVENT = "screening_arm_1"
EDIT_FIELD = "enr_age"
EDIT_VALUES = ("60", "30")


# ``python -m worker ARGS``, then the process's peak resident set size (VmHWM, KiB) written
# to the file named first. Not ``getrusage``/``wait4``: on Linux their ru_maxrss also counts
# the memory of the parent the process was forked from (the kernel carries the forked copy's
# high-water mark across exec), which here is this benchmark's own, larger, process.
# (Without /proc, e.g. on macOS, ru_maxrss is used after all: bytes there.)
PEAK_MEMORY = """
import runpy, sys
out = sys.argv.pop(1)
sys.argv[0] = "worker"
try:
    runpy.run_module("worker", run_name="__main__", alter_sys=True)
finally:
    try:
        with open("/proc/self/status") as status:
            peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    except OSError:
        import resource
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    with open(out, "w") as file:
        file.write(str(peak))
"""


@dataclass(frozen=True)
class Run:
    """One timed worker run."""

    seconds: float
    returncode: int
    peak_rss_kib: int
    traffic: Traffic
    output: str
    launched: float  # wall clock
    exited: float

    @property
    def startup(self) -> float:
        """Launch to the first request's arrival: interpreter, imports, configuration."""
        assert self.traffic.first is not None
        return self.traffic.first - self.launched

    @property
    def requesting(self) -> float:
        """First request's arrival to the last one's."""
        assert self.traffic.first is not None
        assert self.traffic.last is not None
        return self.traffic.last - self.traffic.first

    @property
    def after_requests(self) -> float:
        """Last request's arrival to exit: its answer, the last batch checked, the output."""
        assert self.traffic.last is not None
        return self.exited - self.traffic.last


@dataclass(frozen=True)
class Floor:
    seconds: float
    records: int
    rows: int
    traffic: Traffic


class Bench:
    """Measurements against one sandbox, with the worker's settings."""

    def __init__(
        self,
        sandbox: SandboxProcess,
        *,
        as_of: date,
        state_dir: Path,
        batch_size: int,
        ceiling: float,
    ) -> None:
        self.sandbox = sandbox
        self.as_of = as_of
        self.batch_size = batch_size
        self.ceiling = ceiling
        self.env = _worker_env(sandbox.url, sandbox.token, state_dir, batch_size, ceiling)
        self.edits = 0
        study = tomllib.loads(CONFIG.read_text(encoding="utf-8"))["study"]
        queries = load_mapping(CONFIG.parent / study["mapping"]).queries
        self.query_form = queries.form if queries is not None else None

    # -- the floor ---------------------------------------------------------------------------

    def bare_export(self) -> Floor:
        """Every record, the way a bare PyCap script would batch it: the record IDs first,
        then ``batch_size`` records per request, the same forms ``check`` reads; each request
        waits for a rate limiter at the worker's ceiling, as the worker's do."""
        limiter = RateLimiter(self.ceiling)
        mark = self.sandbox.mark()
        started = time.perf_counter()
        project = redcap.Project(self.sandbox.url, self.sandbox.token)
        limiter.acquire()
        id_field = project.def_field  # PyCap reads the data dictionary for it: one request
        # Every form but the one the worker writes its queries to, which ``check`` does not
        # read either: the same data as the worker's export.
        forms = list(dict.fromkeys(r["form_name"] for r in project.metadata))
        forms = [f for f in forms if f != self.query_form]
        limiter.acquire()
        id_rows = project.export_records(fields=[id_field])
        ids = list(dict.fromkeys(str(row[id_field]) for row in id_rows))
        rows = 0
        for start in range(0, len(ids), self.batch_size):
            limiter.acquire()
            batch = project.export_records(
                records=ids[start : start + self.batch_size], fields=[id_field], forms=forms
            )
            rows += len(batch)
        seconds = time.perf_counter() - started
        return Floor(seconds, len(ids), rows, Traffic.of(self.sandbox.since(mark)))

    # -- worker runs -------------------------------------------------------------------------

    def worker(self, *args: str, workdir: Path) -> Run:
        """``python -m worker ARGS --config config.example.toml --as-of DATE``: wall time from
        launch to exit, and the peak resident memory of that process (see ``PEAK_MEMORY``)."""
        peak_path = workdir / "worker.peak"
        peak_path.unlink(missing_ok=True)
        command = [
            sys.executable,
            "-c",
            PEAK_MEMORY,
            str(peak_path),
            *args,
            "--config",
            str(CONFIG),
            "--as-of",
            self.as_of.isoformat(),
        ]
        out_path = workdir / "worker.out"
        err_path = workdir / "worker.err"
        mark = self.sandbox.mark()
        with out_path.open("wb") as out, err_path.open("wb") as err:
            launched = time.time()
            started = time.perf_counter()
            returncode = subprocess.call(command, cwd=REPO, env=self.env, stdout=out, stderr=err)
            seconds = time.perf_counter() - started
            exited = time.time()
        output = out_path.read_text(encoding="utf-8", errors="replace")
        errors = err_path.read_text(encoding="utf-8", errors="replace")
        if returncode not in (0, 1):
            raise RuntimeError(f"{' '.join(args)} exited {returncode}: {errors.strip()[-2000:]}")
        return Run(
            seconds=seconds,
            returncode=returncode,
            peak_rss_kib=int(peak_path.read_text()),
            traffic=Traffic.of(self.sandbox.since(mark)),
            output=output,
            launched=launched,
            exited=exited,
        )

    def check(self, workdir: Path) -> Run:
        run = self.worker("check", workdir=workdir)
        if "records checked" not in run.output:
            raise RuntimeError(f"check printed no summary line: {run.output[-500:]!r}")
        return run

    def sync(self, workdir: Path, *, incremental: bool) -> Run:
        args = ("sync", "--incremental") if incremental else ("sync",)
        run = self.worker(*args, workdir=workdir)
        if run.returncode != 0:
            raise RuntimeError(f"sync did not complete: {run.output[-500:]!r}")
        return run

    def warm(self, workdir: Path) -> WarmWorker:
        """A long-lived worker process running syncs as the container's scheduler does."""
        return WarmWorker(self, workdir)

    # -- changes -----------------------------------------------------------------------------

    def changed_records(self, fraction: float = 0.01) -> list[str]:
        """Every 100th record (at least one): the 1 % the benchmark changes."""
        step = max(1, round(1 / fraction))
        count = max(1, round(self.sandbox.participants * fraction))
        return [str(1 + step * i) for i in range(count)]

    def change(self, records: list[str]) -> None:
        """Change one value in each record through the API, as a site would in REDCap: one
        import request (the caller pauses before and after it, so it stands alone)."""
        value = EDIT_VALUES[self.edits % len(EDIT_VALUES)]
        self.edits += 1
        rows = [
            {"record_id": record, "redcap_event_name": EDIT_EVENT, EDIT_FIELD: value}
            for record in records
        ]
        project = redcap.Project(self.sandbox.url, self.sandbox.token)
        answer = project.import_records(rows, overwrite="overwrite")
        if int(answer["count"]) != len(records):
            raise RuntimeError(f"changing {len(records)} records changed {answer['count']}")


def _worker_env(
    url: str, token: str, state_dir: Path, batch_size: int, ceiling: float
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WORKER_", "REDCAP_API_"))}
    env.update(
        {
            "REDCAP_API_URL": url,
            "REDCAP_API_TOKEN": token,
            "WORKER_STATE_DIR": str(state_dir),
            "WORKER_REDCAP__BATCH_SIZE": str(batch_size),
            "WORKER_REDCAP__MAX_REQUESTS_PER_SECOND": str(ceiling),
            # The worker and the sandbox share this machine's clock: no skew to allow for.
            # (With the default 10 minutes, an incremental sync would also re-read every
            # record the sandbox loaded or the previous syncs wrote in the last 10 minutes.)
            "WORKER_SCHEDULE__INCREMENTAL_OVERLAP_MINUTES": "0",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


class WarmWorker:
    """``python -m bench.warm``: one process, started once, that runs each sync the way the
    container's scheduler runs its jobs (see ``bench/warm.py``). Timed from the request on
    its stdin to its answer on stdout."""

    def __init__(self, bench: Bench, workdir: Path) -> None:
        self.bench = bench
        self.log_path = workdir / f"warm-{bench.sandbox.name}.log"
        command = [
            sys.executable,
            "-m",
            "bench.warm",
            "--config",
            str(CONFIG),
            "--as-of",
            bench.as_of.isoformat(),
        ]
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            command,
            cwd=REPO,
            env=bench.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        if not self._answer().get("ready"):
            raise RuntimeError("the warm worker did not start")

    def _answer(self) -> dict:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            tail = self.log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
            raise RuntimeError(f"the warm worker exited: {tail}")
        return json.loads(line)

    def sync(self, *, incremental: bool) -> Run:
        assert self.proc.stdin is not None
        sandbox = self.bench.sandbox
        mark = sandbox.mark()
        launched = time.time()
        started = time.perf_counter()
        self.proc.stdin.write("incremental\n" if incremental else "full\n")
        self.proc.stdin.flush()
        answer = self._answer()
        seconds = time.perf_counter() - started
        exited = time.time()
        expected = "incremental" if incremental else "full"
        if not answer.get("ok") or answer.get("mode") != expected:
            raise RuntimeError(f"warm {expected} sync did not complete: {answer}")
        return Run(
            seconds=seconds,
            returncode=0,
            peak_rss_kib=0,
            traffic=Traffic.of(sandbox.since(mark)),
            output=json.dumps(answer),
            launched=launched,
            exited=exited,
        )

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()

    def __enter__(self) -> WarmWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
