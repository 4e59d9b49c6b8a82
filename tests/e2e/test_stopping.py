"""`sync` stops on SIGTERM as `run` does: at its next safe point, with its history line,
exit 0. Also as PID 1, the way a Kubernetes CronJob runs it: the kernel gives PID 1 no
default action for SIGTERM (and drops signals from outside its namespace that it has no
handler for), so only handlers the worker installs itself make it stop at all.

PID 1 is real here: the worker runs in a new PID namespace (``unshare --pid --fork``, as
root or with user namespaces), and the signal is sent from outside it, as the kubelet
(through the container runtime) sends it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from tests.support.projects import AS_OF, REPO
from tests.support.worker_process import LIMIT_S, LiveWorker, worker_env
from worker.state import StateDir

pytestmark = pytest.mark.e2e

CONFIG = str(REPO / "config.example.toml")


def _pid_namespaces_work() -> bool:
    if shutil.which("unshare") is None:
        return False
    try:
        done = subprocess.run(
            ["unshare", "--pid", "--fork", "--mount-proc", "true"], capture_output=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


AS_PID_1 = ["unshare", "--pid", "--fork", "--mount-proc"]


def start_sync(env: dict[str, str], tmp: Path, *, as_pid_1: bool) -> LiveWorker:
    """``python -m worker sync`` in the background (optionally as PID 1 of a new PID
    namespace), its JSON log lines read from stderr."""
    args = ("sync", "--config", CONFIG, "--as-of", AS_OF.isoformat(), "--log-level", "info")
    prefix = AS_PID_1 if as_pid_1 else []
    return LiveWorker(*args, env=env, tmp=tmp, prefix=prefix, log="stderr")


def worker_pid(sync: LiveWorker, as_pid_1: bool) -> int:
    """The worker's PID as seen from here: unshare's one child when it is PID 1 there."""
    if not as_pid_1:
        return sync.proc.pid
    children = Path(f"/proc/{sync.proc.pid}/task/{sync.proc.pid}/children").read_text()
    [child] = children.split()
    return int(child)


@pytest.mark.parametrize(
    "as_pid_1",
    [
        False,
        pytest.param(
            True,
            marks=pytest.mark.skipif(
                not _pid_namespaces_work(), reason="no PID namespaces here (unshare)"
            ),
        ),
    ],
    ids=["plain process", "PID 1"],
)
def test_sigterm_stops_sync_at_a_safe_point_with_a_history_line_and_exit_0(
    demo_sandbox, tmp_path: Path, as_pid_1: bool
) -> None:
    state = tmp_path / "state"
    env = worker_env(demo_sandbox.url, demo_sandbox.token, WORKER_STATE_DIR=str(state))
    # The sync's first request is answered late, so the signal lands while it is going.
    demo_sandbox.faults.plan("latency:5000")
    sync = start_sync(env, tmp_path, as_pid_1=as_pid_1)
    try:
        assert demo_sandbox.faults.wait_until_taken(timeout_s=LIMIT_S)
        os.kill(worker_pid(sync, as_pid_1), signal.SIGTERM)
        code, stderr = sync.finish(), sync.text
    finally:
        sync.kill()
    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert "stopped: stopped before" in stderr  # the one line saying what happened
    [entry] = StateDir(state).history()
    assert entry.status == "stopped"
    assert "cursor.json" not in {p.name for p in state.iterdir()}  # a stop never moves it
    assert not demo_sandbox.request_log.imports()
