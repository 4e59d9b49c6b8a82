"""`run` end to end: the scheduler as a subprocess against the sandbox, read through its JSON
log lines on stdout, stopped by signals as Docker or a terminal stops it."""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.projects import AS_OF, REPO
from tests.support.worker_process import LIMIT_S, LiveWorker, run_worker, worker_env

pytestmark = pytest.mark.e2e

CONFIG = REPO / "config.example.toml"


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., LiveWorker]]:
    workers: list[LiveWorker] = []

    def start_worker(*args: str, env: dict[str, str]) -> LiveWorker:
        worker = LiveWorker(*args, env=env, tmp=tmp_path)
        workers.append(worker)
        return worker

    yield start_worker
    for worker in workers:
        worker.kill()


def env_for(sandbox, tmp_path: Path, **extra: str) -> dict[str, str]:
    return worker_env(sandbox.url, sandbox.token, WORKER_STATE_DIR=str(tmp_path / "state"), **extra)


def run_args(*extra: str) -> list[str]:
    return [
        "run",
        "--config",
        str(CONFIG),
        "--as-of",
        AS_OF.isoformat(),
        "--incremental-minutes",
        "0.01",
        *extra,
    ]


def is_run(event: dict) -> bool:
    return event["event"] == "sync run"


def test_run_syncs_on_schedule_and_sigterm_stops_it_with_exit_0(
    demo_sandbox, start, tmp_path: Path
) -> None:
    worker = start(*run_args(), env=env_for(demo_sandbox, tmp_path))
    first, second = worker.wait_for(is_run, count=2)
    # Start-up with no state: a full sync; then the interval's incremental syncs.
    assert (first["job"], first["mode"], first["status"]) == ("startup", "full", "ok")
    assert (second["job"], second["mode"], second["status"]) == ("incremental", "incremental", "ok")
    assert first["created"] > 0
    assert {"duration_s", "records", "findings", "run_id"} <= set(first)
    worker.signal(signal.SIGTERM)
    assert worker.finish() == 0
    events = worker.events  # every stdout line is JSON
    assert events[-1]["event"] == "scheduler stopped"
    assert demo_sandbox.token not in "".join(worker.lines)
    # The heartbeat the runs left is what the container's HEALTHCHECK reads.
    health = run_worker("health", env=env_for(demo_sandbox, tmp_path))
    assert health.returncode == 0, health.stdout


def test_sigterm_during_a_sync_stops_it_before_anything_is_written(
    demo_sandbox, start, tmp_path: Path
) -> None:
    # The run's first request is answered late, so the signal lands while it is going.
    demo_sandbox.faults.plan("latency:3000")
    worker = start(*run_args(), env=env_for(demo_sandbox, tmp_path))
    assert demo_sandbox.faults.wait_until_taken(timeout_s=LIMIT_S)
    worker.signal(signal.SIGTERM)
    assert worker.finish() == 0
    [stopped] = [e for e in worker.events if is_run(e)]
    # The client starts no request after a stop: the one in flight was the last.
    assert (stopped["status"], stopped["error"]) == ("stopped", "StopRequested")
    assert not demo_sandbox.request_log.exported_records()
    assert not demo_sandbox.request_log.imports()


def test_a_second_signal_exits_at_once(demo_sandbox, start, tmp_path: Path) -> None:
    demo_sandbox.faults.plan("latency:600000")  # a request that would hold the sync for long
    worker = start(*run_args(), env=env_for(demo_sandbox, tmp_path))
    # "sync started" is logged before the first request is sent; a signal then stops the
    # sync before it sends anything, and the worker could be gone before the second one.
    assert demo_sandbox.faults.wait_until_taken(timeout_s=LIMIT_S)
    worker.signal(signal.SIGINT)
    worker.wait_for(lambda e: e["event"].startswith("shutting down"))
    worker.signal(signal.SIGINT)
    assert worker.finish() == 128 + signal.SIGINT
    assert worker.events[-1]["event"].startswith("second signal")


def test_redcap_down_is_logged_once_and_the_schedule_goes_on(start, tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/api/"
    env = worker_env(
        url,
        "0123456789ABCDEF0123456789ABCDEF",
        WORKER_STATE_DIR=str(tmp_path / "state"),
        WORKER_REDCAP__RETRY_ATTEMPTS="3",
    )
    worker = start(*run_args(), env=env)
    runs = worker.wait_for(is_run, count=3)
    assert [r["status"] for r in runs] == ["failed"] * 3
    worker.signal(signal.SIGTERM)
    assert worker.finish() == 0
    errors = [e for e in worker.events if e["level"] == "error"]
    # The outage once; then, the third failed run in a row, the data manager's alert once
    # (with no SMTP host it is filed in the outbox as an .eml file).
    assert [e["event"] for e in errors] == ["REDCap unreachable", "scheduled syncs failing"]
    assert "cannot reach REDCap" in errors[0]["error"]
    assert len(list((tmp_path / "state" / "outbox" / "sent").glob("sync-failing-*.eml"))) == 1
    # Retry warnings only until the outage was announced (2 retries in the first run).
    warnings = [e for e in worker.events if e["event"] == "redcap request failed, retrying"]
    assert len(warnings) == 2


def test_run_with_the_bundled_sandbox(start, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WORKER_", "REDCAP_API_"))}
    env["WORKER_STATE_DIR"] = str(tmp_path / "state")
    worker = start(*run_args("--sandbox"), env=env)
    [first] = worker.wait_for(is_run)
    assert first["status"] == "ok"
    worker.signal(signal.SIGTERM)
    assert worker.finish() == 0
