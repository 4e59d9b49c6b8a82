"""``sync`` (worker/cli/sync.py): a dry run prints the planned changes per record and writes
nothing; every run ends with one summary line of the query counts. End to end, through a
subprocess: tests/e2e/test_sync.py."""

from __future__ import annotations

import re

import pytest

from tests.support.projects import AS_OF, REPO
from worker.cli import main

CONFIG = str(REPO / "config.example.toml")
BASE = ["sync", "--config", CONFIG, "--as-of", AS_OF.isoformat()]

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("restore_signals")]


def counts(line: str) -> dict[str, int]:
    return {name: int(n) for n, name in re.findall(r"(\d+) (created|resolved|unchanged)", line)}


def test_a_dry_run_lists_each_records_planned_queries_and_writes_nothing(
    redcap_env, capsys
) -> None:
    assert main([*BASE, "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Planned changes (dry run, nothing written):"
    assert any(line.startswith("Record ") for line in out)
    assert any(re.match(r"  create +query #\d+ +\S+", line) for line in out)
    [summary] = [line for line in out if line.startswith("dry run: ")]
    assert counts(summary)["created"] > 0
    assert not list(redcap_env.request_log.imports())


def test_after_a_sync_a_dry_run_plans_nothing_and_the_summary_counts_them_unchanged(
    redcap_env, capsys
) -> None:
    assert main(BASE) == 0
    [summary] = [line for line in capsys.readouterr().out.splitlines() if "queries" in line]
    assert not summary.startswith("dry run")
    assert summary.endswith("0 write errors")
    written = counts(summary)["created"]
    assert main([*BASE, "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "  none: REDCap already matches the findings" in out
    [summary] = [line for line in out if line.startswith("dry run: ")]
    assert counts(summary) == {"created": 0, "resolved": 0, "unchanged": written}


def refused_runs(sandbox, *extra: str, runs: int = 3) -> list[int]:
    """``runs`` syncs whose first request (the data dictionary) REDCap refuses."""
    codes = []
    for _ in range(runs):
        sandbox.faults.plan_content("metadata", "refuse")
        codes.append(main([*BASE, *extra]))
    return codes


def test_a_scheduled_sync_counts_in_the_failure_streak_and_alerts_the_data_manager(
    redcap_env, tmp_path, capsys
) -> None:
    sent = tmp_path / "state" / "outbox" / "sent"
    assert refused_runs(redcap_env, "--scheduled") == [3, 3, 3]
    # The third failed run in a row: one alert (no SMTP host here: filed as an .eml).
    [alert] = sent.glob("sync-failing-*.eml")
    assert "failed 3 times in a row" in alert.read_text(encoding="utf-8")

    assert main([*BASE, "--scheduled"]) == 0
    assert len(list(sent.glob("sync-recovered-*.eml"))) == 1


def test_a_sync_started_by_hand_counts_in_no_streak(redcap_env, tmp_path, capsys) -> None:
    assert refused_runs(redcap_env) == [3, 3, 3]
    assert not list((tmp_path / "state").glob("outbox/sent/sync-failing-*.eml"))
