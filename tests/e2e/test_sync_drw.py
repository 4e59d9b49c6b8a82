"""`sync` into REDCap's Data Resolution Workflow, end to end: the worker drives the sandbox's
Data Quality API module pages through PyCap's transport, as it would a real REDCap."""

from __future__ import annotations

import email
import email.policy
import re
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redcap

from tests.support.nk_trial import SEEDED
from tests.support.projects import AS_OF, DEMO_PROJECT, REPO
from tests.support.worker_process import run_worker, worker_env
from worker.config import load_settings
from worker.pipeline import make_client
from worker.sandbox import DEMO_TOKEN, FakeClock, Sandbox
from worker.session import sync_options
from worker.state import utc_now
from worker.sync import run_sync

pytestmark = pytest.mark.e2e

CONFIG = REPO / "config.example.toml"
BOT, COORDINATOR, DATA_MANAGER = "dq-bot", "site_coord", "data_manager"
MODULE = "module:vanderbilt_dataQuality"
# A seeded finding a coordinator can fix: a cycle day of 9 where the dictionary allows 1-7.
RANGE = {"record": "12", "event": "fu_m2_arm_1", "field": "mba_cycle_day"}
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def drw_env(sandbox: Sandbox, state: Path, **extra: str) -> dict[str, str]:
    return worker_env(
        sandbox.url,
        sandbox.token,
        WORKER_QUERIES__TARGET="drw",
        WORKER_QUERIES__DRW_USERNAME=BOT,
        WORKER_STATE_DIR=str(state),
        **extra,
    )


@pytest.fixture
def drw_sandbox(demo_sandbox):
    return demo_sandbox.drw_module(True)


@pytest.fixture
def settings(drw_sandbox, tmp_path, monkeypatch: pytest.MonkeyPatch):
    for key, value in drw_env(drw_sandbox, tmp_path / "state").items():
        monkeypatch.setenv(key, value)
    return load_settings(CONFIG)


def sync(settings, now: datetime, **kw):
    with make_client(settings.redcap) as client:
        return run_sync(client, sync_options(settings), as_of=AS_OF, now=now, **kw)


def event_id(sandbox: Sandbox, event: str) -> int:
    return sandbox.project.event_by_name[event].event_id


def status_at(sandbox: Sandbox, *, record: str, event: str, field: str) -> dict:
    [status] = [
        s
        for s in sandbox.drw_statuses()
        if (s["record"], s["event_id"], s["field_name"])
        == (record, event_id(sandbox, event), field)
    ]
    return status


def thread(sandbox: Sandbox) -> dict[tuple, list[tuple]]:
    """Every status's resolutions without IDs and timestamps: what two runs can share."""
    return {
        (s["record"], s["event_id"], s["field_name"], s["instance"]): [
            (r["username"], r["current_query_status"], r["comment"], r["response_requested"])
            for r in s["resolutions"]
        ]
        for s in sandbox.drw_statuses()
    }


def module_imports(sandbox: Sandbox, mark: int = 0):
    return sandbox.request_log.since(mark).where(content=MODULE, action="import")


def set_cycle_day(sandbox: Sandbox, value: str) -> None:
    redcap.Project(sandbox.url, sandbox.token).import_records(
        [
            {
                "record_id": RANGE["record"],
                "redcap_event_name": RANGE["event"],
                "mba_cycle_day": value,
            }
        ]
    )


def test_the_first_sync_opens_one_drw_status_per_place_with_findings(drw_sandbox, settings):
    result = sync(settings, T0)

    ids = {e.unique_name: e.event_id for e in drw_sandbox.project.events}
    places = {(f["record"], ids[f["event"]], f["field"], f["instance"] or 1) for f in SEEDED}
    statuses = drw_sandbox.drw_statuses()
    assert {(s["record"], s["event_id"], s["field_name"], s["instance"]) for s in statuses} == (
        places
    )
    assert len(statuses) == len(places) < len(SEEDED)  # several checks share a field's status
    for status in statuses:
        assert status["query_status"] == "OPEN"
        [opened] = status["resolutions"]
        assert (opened["username"], opened["current_query_status"]) == (BOT, "OPEN")
        assert opened["response_requested"] == 1
    # Each finding's message and check ID are in its place's comment.
    for finding in result.findings:
        status = status_at(
            drw_sandbox, record=finding.record, event=finding.event, field=finding.field
        )
        comments = [r["comment"] for r in status["resolutions"]]
        assert any(f"{finding.message} ({finding.rule})" in c for c in comments)
    # No record data was written: the DRW is not the record.
    assert not drw_sandbox.request_log.imports()


def test_an_unchanged_rerun_sends_no_import_at_all(drw_sandbox, settings):
    sync(settings, T0)
    before = thread(drw_sandbox)
    mark = drw_sandbox.request_log.mark()

    result = sync(settings, T0 + timedelta(hours=1))

    assert not module_imports(drw_sandbox, mark)
    assert not drw_sandbox.request_log.since(mark).imports()
    assert thread(drw_sandbox) == before
    assert result.plan.changes == []


def test_fixed_data_is_closed_by_the_worker_and_reopened_when_broken_again(drw_sandbox, settings):
    sync(settings, T0)
    set_cycle_day(drw_sandbox, "4")

    fixed = sync(settings, T0 + timedelta(hours=1))

    status = status_at(drw_sandbox, **RANGE)
    assert status["query_status"] == "CLOSED"
    closing = status["resolutions"][-1]
    assert (closing["username"], closing["current_query_status"]) == (BOT, "CLOSED")
    assert "now pass DQ-RANGE" in closing["comment"]
    assert [c.record for c in fixed.plan.changes] == [RANGE["record"]]

    set_cycle_day(drw_sandbox, "9")
    sync(settings, T0 + timedelta(hours=2))

    status = status_at(drw_sandbox, **RANGE)
    assert status["query_status"] == "OPEN"
    assert [r["current_query_status"] for r in status["resolutions"]] == [
        "OPEN",
        "CLOSED",
        "OPEN",
    ]
    assert status["resolutions"][-1]["comment"].startswith("Found again.")


def test_people_keep_their_word_and_a_closed_query_stays_closed_until_its_values_change(
    drw_sandbox, settings
):
    sync(settings, T0)
    place = {"record": RANGE["record"], "event": RANGE["event"], "field": RANGE["field"]}
    drw_sandbox.drw_resolve(
        **place, username=COORDINATOR, response="CONFIRMED_CORRECT", comment="source says 9"
    )
    drw_sandbox.drw_resolve(
        **place, username=DATA_MANAGER, status="CLOSED", comment="accepted as is"
    )
    people = [r for r in status_at(drw_sandbox, **RANGE)["resolutions"] if r["username"] != BOT]

    sync(settings, T0 + timedelta(hours=1))  # same values: the person's close stands
    status = status_at(drw_sandbox, **RANGE)
    assert status["query_status"] == "CLOSED"
    assert status["resolutions"][-1]["username"] == DATA_MANAGER

    set_cycle_day(drw_sandbox, "8")  # still out of range, on other values: reopened
    sync(settings, T0 + timedelta(hours=2))
    status = status_at(drw_sandbox, **RANGE)
    assert status["query_status"] == "OPEN"
    assert status["resolutions"][-1]["username"] == BOT
    assert status["resolutions"][-1]["comment"].startswith("Found again.")
    # What people wrote is all still there, word for word.
    assert [r for r in status["resolutions"] if r["username"] != BOT] == people
    assert people[0]["response"] == "CONFIRMED_CORRECT"


def test_a_status_shared_by_two_checks_closes_when_the_last_one_is_gone(drw_sandbox, settings):
    shared = next(
        (f["record"], f["event"], f["field"])
        for f in SEEDED
        if sum(
            (g["record"], g["event"], g["field"]) == (f["record"], f["event"], f["field"])
            for g in SEEDED
        )
        > 1
    )
    result = sync(settings, T0)
    rules = sorted(f.rule for f in result.findings if (f.record, f.event, f.field) == shared)
    assert len(rules) == 2
    status = status_at(drw_sandbox, record=shared[0], event=shared[1], field=shared[2])
    assert all(rule in status["resolutions"][0]["comment"] for rule in rules)


def test_a_partial_run_leaves_other_records_alone(drw_sandbox, settings):
    sync(settings, T0)
    set_cycle_day(drw_sandbox, "4")
    mark = drw_sandbox.request_log.mark()

    result = sync(settings, T0 + timedelta(hours=1), records=["3"])

    assert result.plan.changes == []
    assert status_at(drw_sandbox, **RANGE)["query_status"] == "OPEN"
    [export] = drw_sandbox.request_log.since(mark).where(content=MODULE, action="export")
    assert export.params["record"] == ["3"]


def test_a_dry_run_prints_the_plan_and_writes_nothing(drw_sandbox, tmp_path):
    env = drw_env(drw_sandbox, tmp_path / "state")
    done = run_worker("sync", "--config", str(CONFIG), "--as-of", str(AS_OF), "--dry-run", env=env)
    assert done.returncode == 0, done.stderr
    assert "Planned DRW resolutions (dry run, nothing written):" in done.stdout
    assert "create   fu_m2_arm_1 mba_cycle_day" in done.stdout
    assert drw_sandbox.drw_statuses() == []
    assert not module_imports(drw_sandbox)


@pytest.mark.parametrize(
    ("module", "drw", "says"),
    [
        (False, True, "Data Quality API module (vanderbilt_dataQuality) is not enabled"),
        (True, False, "does not have data quality enabled"),
    ],
)
def test_no_module_or_no_drw_is_one_line_and_exit_3_with_nothing_written(
    demo_sandbox, tmp_path, module, drw, says
):
    demo_sandbox.drw_module(module, drw=drw)
    env = drw_env(demo_sandbox, tmp_path / "state")

    done = run_worker("sync", "--config", str(CONFIG), "--as-of", str(AS_OF), env=env)

    assert done.returncode == 3
    [line] = done.stderr.strip().splitlines()
    assert says in line
    assert demo_sandbox.drw_statuses() == []
    assert not demo_sandbox.request_log.imports()

    doctor = run_worker("doctor", "--config", str(CONFIG), env=env)
    assert doctor.returncode == 2
    assert any(line.startswith("FAIL DRW") and says in line for line in doctor.stdout.splitlines())
    assert demo_sandbox.drw_statuses() == []


def test_doctor_passes_when_the_module_and_the_drw_are_on(drw_sandbox, tmp_path):
    done = run_worker("doctor", "--config", str(CONFIG), env=drw_env(drw_sandbox, tmp_path / "s"))
    assert done.returncode == 0, done.stdout
    assert "ok   DRW module: vanderbilt_dataQuality is enabled on project" in done.stdout
    assert "ok   DRW import: the project has the Data Resolution Workflow enabled" in done.stdout
    assert drw_sandbox.drw_statuses() == []


def test_an_interrupted_import_rerun_later_reuses_its_timestamps(drw_sandbox, settings):
    """The journal: a rerun an hour later, while the first run's import is still in flight,
    plans the same resolutions with the same timestamps, so the late import adds nothing."""
    hold = drw_sandbox.hold_next_drw_import()
    results: list = []
    first = threading.Thread(target=lambda: results.append(sync(settings, T0)), daemon=True)
    first.start()
    assert hold.arrived.wait(60)

    sync(settings, T0 + timedelta(hours=1))  # the first import has not landed yet
    hold.release.set()
    first.join(60)
    assert hold.done.is_set()
    assert results

    statuses = drw_sandbox.drw_statuses()
    assert all(len(s["resolutions"]) == 1 for s in statuses)
    assert {r["ts"] for s in statuses for r in s["resolutions"]} == {"2026-11-26 09:00:00"}


def test_a_sigkill_during_an_import_then_a_rerun_leaves_exactly_an_uninterrupted_runs_resolutions(
    drw_sandbox, tmp_path
):
    env = drw_env(drw_sandbox, tmp_path / "state")
    args = [sys.executable, "-m", "worker", "sync", "--config", str(CONFIG), "--as-of", str(AS_OF)]
    hold = drw_sandbox.hold_next_drw_import()
    killed = subprocess.Popen(
        args, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        assert hold.arrived.wait(120)
    finally:
        killed.kill()
    killed.wait(60)

    rerun = run_worker("sync", "--config", str(CONFIG), "--as-of", str(AS_OF), env=env)
    assert rerun.returncode == 0, rerun.stderr
    hold.release.set()  # the killed run's import lands after all
    assert hold.done.wait(60)
    again = run_worker("sync", "--config", str(CONFIG), "--as-of", str(AS_OF), env=env)
    assert again.returncode == 0, again.stderr

    with Sandbox.from_folder(DEMO_PROJECT, data="demo", as_of=AS_OF, token=DEMO_TOKEN) as ref:
        ref.drw_module(True)
        once = run_worker(
            "sync",
            "--config",
            str(CONFIG),
            "--as-of",
            str(AS_OF),
            env=drw_env(ref, tmp_path / "ref-state"),
        )
        assert once.returncode == 0, once.stderr
        assert thread(drw_sandbox) == thread(ref)


def test_the_report_reads_query_status_and_age_from_the_drw(drw_sandbox, settings, tmp_path):
    sync(settings, datetime.now(UTC) - timedelta(days=3))
    deviation = next(f for f in SEEDED if f["rule"] == "NK-WIN-01")
    drw_sandbox.drw_resolve(
        deviation["record"],
        deviation["event"],
        deviation["field"],
        username=DATA_MANAGER,
        status="CLOSED",
        response="CONFIRMED_CORRECT",
    )
    out = tmp_path / "report.html"
    env = drw_env(drw_sandbox, tmp_path / "state")

    done = run_worker(
        "report", "--config", str(CONFIG), "--as-of", str(AS_OF), "--out", str(out), env=env
    )

    assert done.returncode == 0, done.stderr
    page = out.read_text()
    rows = re.findall(
        r'<td class="nw">(open|verified|resolved|not written yet)</td>'
        r'<td class="nw">([^<]*)</td>',
        page,
    )
    assert rows.count(("verified", "-")) == 1  # the data manager's close, read from the DRW
    assert rows.count(("open", "3 days")) == len(rows) - 1 > 0  # opened 3 days ago
    assert not drw_sandbox.request_log.imports()


def digest_counts(state: Path) -> str:
    """The COUNTS block of the digest a sync wrote (no SMTP host: an .eml file)."""
    [path] = (state / "outbox" / "sent").glob("digest-*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    text = message.get_body(("plain",)).get_content()
    return text[text.index("COUNTS") : text.index("NEW DEVIATIONS")]


def test_the_email_digest_counts_the_drw_queries_as_the_instrument_target_does(
    drw_sandbox, tmp_path
):
    drw_state = tmp_path / "drw-state"
    done = run_worker(
        "sync", "--config", str(CONFIG), "--as-of", str(AS_OF), env=drw_env(drw_sandbox, drw_state)
    )
    assert done.returncode == 0, done.stderr

    with Sandbox.from_folder(DEMO_PROJECT, data="demo", as_of=AS_OF, token=DEMO_TOKEN) as ref:
        ref_state = tmp_path / "ref-state"
        env = worker_env(ref.url, ref.token, WORKER_STATE_DIR=str(ref_state))
        done = run_worker("sync", "--config", str(CONFIG), "--as-of", str(AS_OF), env=env)
        assert done.returncode == 0, done.stderr

    counts = digest_counts(drw_state)
    assert counts == digest_counts(ref_state)
    assert "open queries" in counts


def test_an_incremental_sync_judges_and_exports_only_the_changed_records(tmp_path):
    # REDCap's clock (UTC here) is set, not waited for: the demo data and the first sync's
    # own writes are stamped a day ago, the coordinator's fix a minute from now.
    clock = FakeClock(utc_now().replace(tzinfo=None) - timedelta(days=1))
    with Sandbox.from_folder(
        project_dir=DEMO_PROJECT, data="demo", as_of=AS_OF, token=DEMO_TOKEN, clock=clock
    ) as sandbox:
        _incremental_judges_only_the_changed_records(sandbox.drw_module(True), clock, tmp_path)


def _incremental_judges_only_the_changed_records(drw_sandbox, clock, tmp_path) -> None:
    env = drw_env(drw_sandbox, tmp_path / "state", WORKER_SCHEDULE__INCREMENTAL_OVERLAP_MINUTES="0")
    first = run_worker("sync", "--config", str(CONFIG), "--as-of", str(AS_OF), env=env)
    assert first.returncode == 0, first.stderr
    clock.set(utc_now().replace(tzinfo=None) + timedelta(minutes=1))
    set_cycle_day(drw_sandbox, "4")
    mark = drw_sandbox.request_log.mark()

    done = run_worker(
        "sync", "--config", str(CONFIG), "--as-of", str(AS_OF), "--incremental", env=env
    )

    assert done.returncode == 0, done.stderr
    assert "DRW queries 0 opened, 1 closed" in done.stdout
    [export] = drw_sandbox.request_log.since(mark).where(content=MODULE, action="export")
    assert export.params["record"] == [RANGE["record"]]
    assert status_at(drw_sandbox, **RANGE)["query_status"] == "CLOSED"


def test_a_lost_import_answer_is_retried_and_adds_nothing_twice(drw_sandbox, settings):
    drw_sandbox.faults.plan_imports("drop-after")  # processed, then the answer is lost
    sync(settings, T0)

    attempts = module_imports(drw_sandbox)
    assert len(attempts) == 2
    assert attempts[0].status is None
    assert all(len(s["resolutions"]) == 1 for s in drw_sandbox.drw_statuses())
