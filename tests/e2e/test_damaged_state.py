"""A damaged state folder never stops a sync: each damaged file is set aside with a warning
and the sync runs as it would without it (here: a full sync), leaving a sound folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.projects import AS_OF, REPO
from tests.support.worker_process import run_worker, worker_env
from worker.state import StateDir

pytestmark = pytest.mark.e2e

CONFIG = str(REPO / "config.example.toml")


def test_sync_sets_damaged_state_files_aside_and_goes_on(demo_sandbox, tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "cursor.json").write_text('["not", "a", "table"]')
    (state / "history.json").write_text('{"not": "a list"}')
    (state / "heartbeat.json").write_text("[]")
    (state / "sent.json").write_bytes(b"\xff\xfe not even text")
    (state / "notify.json").mkdir()  # a folder where the file belongs
    (state / "structure.json").write_text("42")  # not read by a full sync: just replaced
    (state / "outbox").write_text("a file where the folder belongs")
    env = worker_env(demo_sandbox.url, demo_sandbox.token, WORKER_STATE_DIR=str(state))
    args = ["--config", CONFIG, "--as-of", AS_OF.isoformat()]
    done = run_worker("sync", *args, "--incremental", env=env)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    warnings = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    set_aside = {
        Path(w["file"]).name for w in warnings if w["event"].startswith("damaged state file")
    }
    assert set_aside == {
        "cursor.json",
        "history.json",
        "heartbeat.json",
        "sent.json",
        "notify.json",
        "outbox",
    }
    for name in set_aside:
        assert list(state.glob(f"{name}.damaged-*")), name  # kept for a look
    # Without a cursor the incremental sync was a full one, and its line is in the history.
    [entry] = StateDir(state).history()
    assert (entry.mode, entry.status) == ("full", "ok")
    assert run_worker("health", "--config", CONFIG, env=env).returncode == 0
