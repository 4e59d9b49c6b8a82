"""Drift quarantine and the coverage ledger, end to end against the sandbox.

A field a rule reads is deleted from the REDCap project: that check is quarantined (not run,
its queries left as they are), every other check's findings are exactly as before, and
doctor, the run history, health and the data manager hear of it. A check erring on most
participants makes the run degraded, not ok.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.projects import AS_OF, DEMO_PROJECT, REPO
from tests.support.worker_process import run_worker, worker_env
from worker.config import load_settings
from worker.pipeline import make_client
from worker.sandbox import DEMO_TOKEN, Sandbox
from worker.session import sync_options
from worker.state import StateDir
from worker.sync import run_sync

pytestmark = pytest.mark.e2e

CONFIG = REPO / "config.example.toml"
QUERY_EVENT, QUERY_FORM = "queries_arm_1", "data_query"
# Read only by the logic rule NK-PRG-02 (clinical pregnancy vs. ultrasound).
DELETED, RULE = "pg_fetal_heart", "NK-PRG-02"


def queries(sandbox: Sandbox) -> list[dict]:
    return sorted(
        (
            r
            for r in sandbox.rows()
            if r.get("redcap_repeat_instrument") == QUERY_FORM
            and r.get("redcap_event_name") == QUERY_EVENT
        ),
        key=lambda r: (r["record_id"], r["redcap_repeat_instance"]),
    )


def sync(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, **env: str):
    for key, value in worker_env(sandbox.url, sandbox.token, **env).items():
        monkeypatch.setenv(key, value)
    settings = load_settings(CONFIG)
    with make_client(settings.redcap) as client:
        return run_sync(client, sync_options(settings), as_of=AS_OF)


def places(findings) -> list[tuple]:
    return sorted((f.rule, f.record, f.event, f.instance, f.field, f.message) for f in findings)


@pytest.fixture
def synced(demo_sandbox, monkeypatch: pytest.MonkeyPatch):
    """The demo project after a first sync: its queries written, and that sync's result."""
    return demo_sandbox, sync(demo_sandbox, monkeypatch)


@pytest.fixture
def drifted(synced, tmp_path: Path) -> Iterator[Sandbox]:
    """The same project and data (queries included), with the field DELETED removed from
    the data dictionary, as a designer deleting it in REDCap leaves it."""
    before, _ = synced
    folder = tmp_path / "project"
    shutil.copytree(DEMO_PROJECT, folder)
    metadata = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    (folder / "metadata.json").write_text(
        json.dumps([f for f in metadata if f["field_name"] != DELETED]), encoding="utf-8"
    )
    rows = [{k: v for k, v in row.items() if k != DELETED} for row in before.rows()]
    with Sandbox.from_folder(
        project_dir=folder, data="empty", as_of=AS_OF, token=DEMO_TOKEN
    ) as sandbox:
        sandbox.load_rows(rows)
        yield sandbox


def test_a_rule_reading_a_deleted_field_is_quarantined_and_the_rest_runs(
    synced, drifted, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _, first = synced
    assert RULE in {f.rule for f in first.findings}  # it had something to say
    held_before = [q for q in queries(drifted) if q["dq_rule"] == RULE]
    assert held_before

    result = sync(drifted, monkeypatch, WORKER_STATE_DIR=str(tmp_path / "state"))

    assert list(result.quarantined) == [RULE]
    assert f"[{DELETED}]" in result.quarantined[RULE]
    # Every other check's findings are exactly what they were.
    assert places(result.findings) == places(f for f in first.findings if f.rule != RULE)
    assert result.check_errors == 0
    # Its queries are left as they are: neither closed nor reopened nor rewritten.
    assert [q for q in queries(drifted) if q["dq_rule"] == RULE] == held_before
    assert not [c for c in result.plan.changes if c.rule == RULE]
    assert result.plan.not_run >= len(held_before)
    coverage = result.coverage[RULE]
    assert (coverage.ran, coverage.errored) == (0, 0)
    assert coverage.skipped == {"quarantined": result.records_checked}
    assert result.status == "degraded"


def test_doctor_history_health_and_the_data_manager_hear_of_the_quarantine(
    drifted, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    env = worker_env(
        drifted.url,
        drifted.token,
        WORKER_STATE_DIR=str(state),
        WORKER_EMAIL__DATA_MANAGER='["dm@example.org"]',
    )
    doctor = run_worker("doctor", "--config", str(CONFIG), env=env)
    assert doctor.returncode == 2
    [line] = [x for x in doctor.stdout.splitlines() if "quarantined" in x]
    assert line.startswith(f"FAIL rules: check {RULE} quarantined")
    assert DELETED in line
    assert "rules: matches the project" not in doctor.stdout

    first = run_worker("sync", "--config", str(CONFIG), "--as-of", AS_OF.isoformat(), env=env)
    assert first.returncode == 6, first.stderr
    assert f"degraded: check {RULE} quarantined" in first.stdout
    [entry] = StateDir(state).history()
    assert entry.status == "degraded"
    assert list(entry.quarantined) == [RULE]
    health = run_worker("health", "--config", str(CONFIG), env=env)
    assert health.returncode == 1
    assert "degraded" in health.stdout + health.stderr

    # The data manager is told once, naming the check and the field; not again next run.
    notices = sorted((state / "outbox" / "sent").glob("quarantine-*.eml"))
    assert len(notices) == 1
    text = notices[0].read_text(encoding="utf-8")
    assert "dm@example.org" in text
    assert RULE in text
    assert DELETED in text
    again = run_worker("sync", "--config", str(CONFIG), "--as-of", AS_OF.isoformat(), env=env)
    assert again.returncode == 6
    assert sorted((state / "outbox" / "sent").glob("quarantine-*.eml")) == notices


BROKEN_CHECK = """

from worker.core.rules import check as _check


@_check("ZZ-BROKEN", kind="query", severity="minor", title="Fails on most participants")
def _broken(p, as_of, params):
    if p.record_id != "1":
        raise RuntimeError("a bug in the check")
    return []
"""


@pytest.fixture
def broken_rules(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules" / "nk_trial", rules)
    with (rules / "checks" / "__init__.py").open("a", encoding="utf-8") as out:
        out.write(BROKEN_CHECK)
    return rules


def test_a_check_erring_on_most_participants_degrades_the_run(
    demo_sandbox, broken_rules: Path, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    env = worker_env(
        demo_sandbox.url,
        demo_sandbox.token,
        WORKER_STATE_DIR=str(state),
        WORKER_STUDY__RULES=str(broken_rules),
    )
    checked = run_worker(
        "check", "--config", str(CONFIG), "--as-of", AS_OF.isoformat(), "--format", "json", env=env
    )
    document = json.loads(checked.stdout)
    records = document["summary"]["records_checked"]
    assert document["coverage"]["ZZ-BROKEN"] == {"ran": 1, "errored": records - 1, "skipped": {}}
    assert document["coverage"]["NK-SAE-03"]["errored"] == 0
    assert document["summary"]["status"] == "degraded"
    assert document["summary"]["degraded"] == [
        f"check ZZ-BROKEN errored on {records - 1} of {records} participants "
        f"({(records - 1) / records:.0%}, limit 5%)"
    ]

    synced = run_worker("sync", "--config", str(CONFIG), "--as-of", AS_OF.isoformat(), env=env)
    assert synced.returncode == 6
    assert StateDir(state).history()[-1].status == "degraded"
    health = run_worker("health", "--config", str(CONFIG), env=env)
    assert health.returncode == 1

    # Raised above the share it errs on, the same run is ok and health is green.
    lenient = env | {"WORKER_CHECK__MAX_ERROR_SHARE": "1"}
    synced = run_worker("sync", "--config", str(CONFIG), "--as-of", AS_OF.isoformat(), env=lenient)
    assert synced.returncode == 0, synced.stdout
    assert StateDir(state).history()[-1].status == "ok"
    assert run_worker("health", "--config", str(CONFIG), env=lenient).returncode == 0


def check_json(sandbox: Sandbox) -> dict:
    run = run_worker(
        "check",
        "--config",
        str(CONFIG),
        "--as-of",
        AS_OF.isoformat(),
        "--format",
        "json",
        env=worker_env(sandbox.url, sandbox.token),
    )
    assert run.returncode == 1, run.stderr  # findings: the run was not refused
    return json.loads(run.stdout)


def test_a_field_a_typed_study_class_reads_deleted_quarantines_its_parts_checks(
    demo_sandbox, tmp_path: Path
) -> None:
    """rules/nk_trial/checks/models.py declares Treatment.cp_endotoxin; REDCap loses it."""
    clean = check_json(demo_sandbox)
    folder = tmp_path / "project"
    shutil.copytree(DEMO_PROJECT, folder)
    metadata = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    (folder / "metadata.json").write_text(
        json.dumps([f for f in metadata if f["field_name"] != "cp_endotoxin"]), encoding="utf-8"
    )
    rows = [{k: v for k, v in r.items() if k != "cp_endotoxin"} for r in demo_sandbox.rows()]
    with Sandbox.from_folder(
        project_dir=folder, data="empty", as_of=AS_OF, token=DEMO_TOKEN
    ) as sandbox:
        sandbox.load_rows(rows)
        drifted = check_json(sandbox)
    held = drifted["summary"]["quarantined"]
    assert held, "the checks reading the treatments part are quarantined"
    assert all("Treatment.cp_endotoxin" in why and "models.py" in why for why in held.values())
    assert drifted["summary"]["status"] == "degraded"
    assert drifted["summary"]["check_errors"] == 0

    # Every other check finds exactly what it found before (the generic checks no longer
    # see the deleted field itself).
    def kept(findings: list[dict]) -> list[dict]:
        return [f for f in findings if f["rule"] not in held and f["field"] != "cp_endotoxin"]

    assert kept(drifted["findings"]) == kept(clean["findings"])
    assert len(kept(clean["findings"])) > 20
