"""The second study end to end: the worker's CLI (check, sync, visits, report) through PyCap
against the sandbox serving the two-arm BP-LOWER project, configured by a config file that
names mappings/bp_trial.toml and rules/bp_trial. Nothing under worker/ knows the study."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.bp_trial import MAPPING, ORACLE, PROJECT, RULES
from tests.support.projects import AS_OF
from tests.support.sandbox import serving_demo
from tests.support.studies import finding_key
from tests.support.worker_process import run_worker, worker_env
from worker.sandbox import Sandbox

pytestmark = pytest.mark.e2e


@pytest.fixture
def bp_sandbox() -> Iterator[Sandbox]:
    with serving_demo(PROJECT) as sandbox:
        yield sandbox


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'state_dir = "state"\n\n[study]\nmapping = "{MAPPING}"\nrules = "{RULES}"\n'
        f'demo = "{PROJECT}"\ntimezone = "UTC"\n',
        encoding="utf-8",
    )
    return path


def worker(sandbox, config: Path, *args: str):
    return run_worker(
        args[0],
        "--config",
        str(config),
        "--as-of",
        AS_OF.isoformat(),
        *args[1:],
        env=worker_env(sandbox.url, sandbox.token),
    )


def test_check_reports_exactly_the_oracle_in_both_arms(bp_sandbox, config) -> None:
    run = worker(bp_sandbox, config, "check", "--format", "json")
    assert run.returncode == 1, run.stderr
    document = json.loads(run.stdout)
    assert {finding_key(f) for f in document["findings"]} == {finding_key(f) for f in ORACLE}
    assert len(document["findings"]) == len(ORACLE)
    assert document["summary"]["check_errors"] == 0


def queries(sandbox) -> list[dict]:
    return [r for r in sandbox.rows() if r.get("redcap_repeat_instrument") == "data_query"]


def arm(event: str) -> str:
    return event.rsplit("_arm_", 1)[1]


def test_sync_writes_each_query_in_the_records_own_arm_and_a_rerun_writes_nothing(
    bp_sandbox, config
) -> None:
    first = worker(bp_sandbox, config, "sync")
    assert first.returncode == 0, first.stderr
    written = queries(bp_sandbox)
    assert {(q["record_id"], q["dq_rule"], q["dq_event"], q["dq_field"]) for q in written} == {
        (f["record"], f["rule"], f["event"], f["field"]) for f in ORACLE
    }
    for q in written:
        # The query lives in the `queries` event of the arm the finding's event is in.
        assert q["redcap_event_name"] == f"queries_arm_{arm(q['dq_event'])}", q
    events = {(r["record_id"], arm(r["redcap_event_name"])) for r in bp_sandbox.rows()}
    assert len(events) == len({record for record, _ in events})  # no record in two arms

    mark = bp_sandbox.request_log.mark()
    again = worker(bp_sandbox, config, "sync")
    assert again.returncode == 0, again.stderr
    assert len(bp_sandbox.request_log.since(mark).imports()) == 0
    assert len(queries(bp_sandbox)) == len(ORACLE)


def test_visits_lists_the_randomised_participants_of_both_arms(bp_sandbox, config) -> None:
    run = worker(bp_sandbox, config, "visits", "--format", "json")
    assert run.returncode == 0, run.stderr
    visits = json.loads(run.stdout)["visits"]
    randomised = {"1", "2", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15"}
    assert {v["record"] for v in visits} == randomised
    # Each arm's own visits, in its own events: week 4 in the intervention arm (odd records).
    for record in randomised:
        arm = 1 if int(record) % 2 else 2
        own = sorted(v["event"] for v in visits if v["record"] == record)
        expected = [f"week_{n}_arm_{arm}" for n in (12, 24, 4) if n != 4 or arm == 1]
        assert own == expected, record
    missed = {(v["record"], v["event"]) for v in visits if v["status"] == "missed"}
    assert missed == {(f["record"], f["event"]) for f in ORACLE if f["rule"] == "BP-WIN-02"}
    assert {v["target_day"] for v in visits} == {28, 84, 168}


def test_report_writes_the_study_report(bp_sandbox, config, tmp_path) -> None:
    out = tmp_path / "report.html"
    run = worker(bp_sandbox, config, "report", "--out", str(out))
    assert run.returncode == 0, run.stderr
    html = out.read_text(encoding="utf-8")
    assert "BP-RND-03" in html
    assert "Randomised to usual care (control)" in html
    assert "randomisation" in html


def test_doctor_finds_the_mapping_and_rules_cover_both_arms(bp_sandbox, config) -> None:
    run = run_worker(
        "doctor", "--config", str(config), env=worker_env(bp_sandbox.url, bp_sandbox.token)
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = [line for line in run.stdout.splitlines() if line.strip()]
    assert any("arms" in line for line in lines)
    assert all(line.startswith("ok") for line in lines), run.stdout


def test_check_with_the_bundled_sandbox_serves_the_configured_studys_demo(config) -> None:
    run = run_worker(
        "check",
        "--config",
        str(config),
        "--sandbox",
        "--as-of",
        AS_OF.isoformat(),
        "--format",
        "json",
        env=worker_env("http://127.0.0.1:9/api/", "0" * 32),
    )
    assert run.returncode == 1, run.stderr
    assert {finding_key(f) for f in json.loads(run.stdout)["findings"]} == {
        finding_key(f) for f in ORACLE
    }
