"""``check`` (worker/cli/check.py): the findings in the chosen format on stdout, and an exit
code saying whether any reaches the severity that fails the run: --fail-on, else the
config's check.fail_on. End to end, through a subprocess: tests/e2e/test_check.py."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.support.projects import AS_OF, REPO
from worker.cli import main

pytestmark = pytest.mark.e2e

CONFIG = str(REPO / "config.example.toml")
BASE = ["check", "--config", CONFIG, "--as-of", AS_OF.isoformat()]


def findings(capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, list[dict]]:
    code = main([*BASE, "--format", "json", *extra])
    return code, json.loads(capsys.readouterr().out)["findings"]


def a_record_without_critical_findings(found: list[dict]) -> str:
    by_record: dict[str, set[str]] = {}
    for f in found:
        by_record.setdefault(f["record"], set()).add(f["severity"])
    [record, *_] = sorted(r for r, severities in by_record.items() if "critical" not in severities)
    return record


def test_findings_below_the_fail_on_severity_exit_0(redcap_env, capsys) -> None:
    code, found = findings(capsys)
    assert code == 1
    record = a_record_without_critical_findings(found)
    code, found = findings(capsys, "--record", record, "--fail-on", "critical")
    assert found
    assert {f["record"] for f in found} == {record}
    assert code == 0


def test_without_fail_on_the_configs_threshold_applies(
    redcap_env, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = a_record_without_critical_findings(findings(capsys)[1])
    monkeypatch.setenv("WORKER_CHECK__FAIL_ON", "critical")
    assert findings(capsys, "--record", record)[0] == 0
    assert findings(capsys, "--record", record, "--fail-on", "minor")[0] == 1


def test_csv_is_a_table_of_findings_with_no_summary(redcap_env, capsys) -> None:
    assert main([*BASE, "--format", "csv"]) == 1
    out = capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(out.out)))
    assert rows
    assert {"rule", "record", "severity"} <= set(rows[0])
    assert "note:" not in out.err  # the study's rules ran: nothing the CSV cannot carry
