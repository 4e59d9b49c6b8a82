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
