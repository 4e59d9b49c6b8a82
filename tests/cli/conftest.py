"""What the in-process command tests share: the demo sandbox named by the environment, as a
user's shell would name it, a state folder of the test's own, and signal handlers restored
after commands that install theirs (sync, run), and the log stream after `run` (which sends
the process's log lines to stdout)."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import worker_env
from worker.logs import default_stream, set_default_stream
from worker.stopping import Shutdown


@pytest.fixture
def redcap_env(demo_sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The demo sandbox as REDCAP_API_URL and REDCAP_API_TOKEN, the state in tmp_path."""
    for key in list(os.environ):
        if key.startswith(("WORKER_", "REDCAP_API_")):
            monkeypatch.delenv(key)
    env = worker_env(demo_sandbox.url, demo_sandbox.token, WORKER_STATE_DIR=str(tmp_path / "state"))
    for key, value in env.items():
        if key.startswith(("WORKER_", "REDCAP_API_")):
            monkeypatch.setenv(key, value)
    return demo_sandbox


@pytest.fixture
def restore_signals() -> Iterator[None]:
    saved = {sig: signal.getsignal(sig) for sig in Shutdown.SIGNALS}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@pytest.fixture
def restore_log_stream() -> Iterator[None]:
    saved = "stdout" if default_stream() is sys.stdout else "stderr"
    yield
    set_default_stream(saved)
