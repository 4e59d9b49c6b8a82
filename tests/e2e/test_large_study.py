"""A 5,000-participant study: the first sync's summaries stay under 1 MB each (most relays
refuse mail over 10 MB) and the study report under 5 MB, through the real client against
the sandbox's generated demo study."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.projects import AS_OF, DEMO_PROJECT, REPO
from tests.support.worker_process import run_worker, worker_env
from worker.config import load_settings
from worker.notify import after_sync
from worker.pipeline import make_client
from worker.sandbox import DEMO_TOKEN, Sandbox
from worker.session import summary_options, sync_options
from worker.state import StateDir
from worker.sync import run_sync

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PARTICIPANTS = 5000
CONFIG = REPO / "config.example.toml"
NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
MB = 1_000_000


def test_at_5000_participants_summaries_stay_under_1_mb_and_the_report_under_5_mb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with Sandbox.from_folder(
        DEMO_PROJECT, data="demo", as_of=AS_OF, participants=PARTICIPANTS, token=DEMO_TOKEN
    ) as sandbox:
        env = worker_env(sandbox.url, sandbox.token, WORKER_STATE_DIR=str(tmp_path / "state"))
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        settings = load_settings(CONFIG)
        # The first sync, as a dry run: every finding is new, so its summaries are the
        # largest the study sends, and they are written where they can be measured.
        with make_client(settings.redcap) as client:
            result = run_sync(client, sync_options(settings), as_of=AS_OF, now=NOW, dry_run=True)
        state = StateDir(settings.state_dir)
        after_sync(summary_options(settings), state, result, as_of=AS_OF, now=NOW, dry_run=True)
        emails = {p.name: p.stat().st_size for p in (state.outbox / "dry-run").glob("*.eml")}
        # Then the queries that sync would write, so the report has every section full.
        sandbox.import_rows([c.row for c in result.plan.changes], overwrite=True)
        out = tmp_path / "report.html"
        done = run_worker(
            "report", "--config", str(CONFIG), "--as-of", AS_OF.isoformat(), "--out", str(out),
            env=env,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    deviations = sum(1 for f in result.findings if f.kind.value == "deviation")
    assert deviations > 5000  # big enough that unbounded lists would run to megabytes
    assert sorted(name.split("-")[0] for name in emails) == ["critical", "digest"]
    assert all(size < 1 * MB for size in emails.values()), emails
    assert out.stat().st_size < 5 * MB
    with capsys.disabled():
        print(
            f"\n[5,000 participants] {len(result.findings)} findings: "
            + ", ".join(f"{name.split('-')[0]} {size / MB:.2f} MB" for name, size in emails.items())
            + f", report {out.stat().st_size / MB:.2f} MB"
        )
