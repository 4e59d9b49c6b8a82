"""``python -m worker report`` as a user runs it: one HTML file from the sandbox."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from tests.support.projects import AS_OF, REPO
from tests.support.worker_process import run_worker, worker_env

pytestmark = pytest.mark.e2e


class Counter(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.timelines = 0

    def handle_starttag(self, tag, attrs) -> None:
        if tag == "svg" and ("class", "timeline") in attrs:
            self.timelines += 1


def test_report_writes_one_self_contained_file(tmp_path) -> None:
    out = tmp_path / "report.html"
    env = worker_env("", "", WORKER_STATE_DIR=str(tmp_path / "state"))
    done = run_worker(
        "report",
        "--config",
        str(REPO / "config.example.toml"),
        "--sandbox",
        "--as-of",
        AS_OF.isoformat(),
        "--out",
        str(out),
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert f"report written to {out}" in done.stdout
    counter = Counter()
    counter.feed(out.read_text(encoding="utf-8"))
    assert counter.timelines == 17  # the demo's treated participants
    assert not (tmp_path / "state").exists()  # read-only: no state written


def test_report_needs_a_reachable_redcap(tmp_path) -> None:
    env = worker_env("http://127.0.0.1:9/api/", "0" * 32)
    done = run_worker(
        "report", "--config", str(REPO / "config.example.toml"), "--out", str(tmp_path / "r.html"),
        env=env,
    )  # fmt: skip
    assert done.returncode == 3
    assert not (tmp_path / "r.html").exists()
