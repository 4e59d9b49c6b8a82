"""`sync` end to end: findings become data queries in the sandbox, and follow the data."""

from __future__ import annotations

from pathlib import Path

import pytest
import redcap

from tests.support.nk_trial import SEEDED
from tests.support.projects import AS_OF, DEMO_PROJECT, REPO
from tests.support.worker_process import run_worker, worker_env
from worker import sync as sync_module
from worker.config import load_settings
from worker.pipeline import make_client
from worker.session import sync_options
from worker.state import StateDir
from worker.sync import run_sync

pytestmark = pytest.mark.e2e

CONFIG = REPO / "config.example.toml"
QUERY_EVENT, QUERY_FORM = "queries_arm_1", "data_query"
# A seeded finding a coordinator can fix: a cycle day of 9 where the dictionary allows 1-7.
RANGE = {"record": "12", "event": "fu_m2_arm_1", "field": "mba_cycle_day", "rule": "DQ-RANGE"}


@pytest.fixture
def settings(demo_sandbox, monkeypatch: pytest.MonkeyPatch):
    for key, value in worker_env(demo_sandbox.url, demo_sandbox.token).items():
        monkeypatch.setenv(key, value)
    return load_settings(CONFIG)


def sync(settings, **kw):
    with make_client(settings.redcap) as client:
        return run_sync(client, sync_options(settings), as_of=AS_OF, **kw)


def queries(sandbox) -> list[dict]:
    return [
        r
        for r in sandbox.rows()
        if r.get("redcap_repeat_instrument") == QUERY_FORM
        and r.get("redcap_event_name") == QUERY_EVENT
    ]


def query_for(sandbox, *, record: str, rule: str, field: str) -> dict:
    [row] = [
        q
        for q in queries(sandbox)
        if q["record_id"] == record and q["dq_rule"] == rule and q["dq_field"] == field
    ]
    return row


def site_writes(sandbox, rows: list[dict]) -> None:
    """A coordinator's change, made through the API as REDCap's own forms would."""
    redcap.Project(sandbox.url, sandbox.token).import_records(rows)


def set_cycle_day(sandbox, value: str) -> None:
    site_writes(
        sandbox,
        [{"record_id": "12", "redcap_event_name": RANGE["event"], "mba_cycle_day": value}],
    )


def answer_query(sandbox, query: dict, **values: str) -> None:
    site_writes(
        sandbox,
        [
            {
                "record_id": query["record_id"],
                "redcap_event_name": QUERY_EVENT,
                "redcap_repeat_instrument": QUERY_FORM,
                "redcap_repeat_instance": str(query["redcap_repeat_instance"]),
                **values,
            }
        ],
    )


def test_the_first_sync_opens_exactly_one_query_per_finding(demo_sandbox, settings) -> None:
    result = sync(settings)
    rows = queries(demo_sandbox)
    assert result.complete
    assert len(rows) == len(SEEDED) == len(result.findings)
    assert all(r["dq_status"] == "1" for r in rows)
    located = {
        (r["dq_rule"], r["record_id"], r["dq_event"], r["dq_instance"], r["dq_field"]) for r in rows
    }
    expected = {
        (
            f["rule"],
            f["record"],
            f["event"],
            "" if f["instance"] is None else str(f["instance"]),
            f["field"],
        )
        for f in SEEDED
    }
    assert located == expected
    assert len({(r["record_id"], r["dq_id"]) for r in rows}) == len(rows)


def test_a_second_sync_of_an_unchanged_project_writes_nothing(demo_sandbox, settings) -> None:
    sync(settings)
    mark = demo_sandbox.request_log.mark()
    result = sync(settings)
    assert len(demo_sandbox.request_log.since(mark).imports()) == 0
    assert result.plan.changes == []
    assert result.plan.unchanged == len(SEEDED)


def test_fixing_a_value_resolves_its_query_and_breaking_it_again_reopens_it(
    demo_sandbox, settings
) -> None:
    sync(settings)
    set_cycle_day(demo_sandbox, "3")
    sync(settings)
    query = query_for(demo_sandbox, **_where(RANGE))
    assert query["dq_status"] == "2"
    assert query["dq_closed_at"]
    set_cycle_day(demo_sandbox, "9")
    sync(settings)
    query = query_for(demo_sandbox, **_where(RANGE))
    assert (query["dq_status"], query["dq_reopen_count"], query["dq_closed_at"]) == ("1", "1", "")
    assert len(queries(demo_sandbox)) == len(SEEDED)


def test_a_verified_query_stays_closed_and_reopens_when_its_values_change(
    demo_sandbox, settings
) -> None:
    sync(settings)
    query = query_for(demo_sandbox, **_where(RANGE))
    answer_query(demo_sandbox, query, dq_verified="1", dq_response="Checked: day 9 of menses")
    sync(settings)
    assert query_for(demo_sandbox, **_where(RANGE))["dq_status"] == "3"
    mark = demo_sandbox.request_log.mark()
    sync(settings)
    assert len(demo_sandbox.request_log.since(mark).imports()) == 0
    set_cycle_day(demo_sandbox, "8")  # still out of range, on other values
    sync(settings)
    query = query_for(demo_sandbox, **_where(RANGE))
    assert (query["dq_status"], query["dq_verified"]) == ("1", "")
    assert query["dq_response"] == "Checked: day 9 of menses"


def test_a_coordinators_response_survives_every_sync(demo_sandbox, settings) -> None:
    sync(settings)
    query = query_for(demo_sandbox, **_where(RANGE))
    answer_query(demo_sandbox, query, dq_response="Lab re-reading the sample")
    for value in ("3", "9", "8"):
        set_cycle_day(demo_sandbox, value)
        sync(settings)
        assert query_for(demo_sandbox, **_where(RANGE))["dq_response"] == (
            "Lab re-reading the sample"
        )


def test_a_partial_run_leaves_other_records_and_cross_participant_queries_alone(
    demo_sandbox, settings
) -> None:
    sync(settings)
    before = queries(demo_sandbox)
    result = sync(settings, records=["12"])
    assert result.plan.changes == []
    assert queries(demo_sandbox) == before


def _worker_sync(sandbox, *extra: str):
    return run_worker(
        "sync",
        "--config",
        str(CONFIG),
        "--as-of",
        AS_OF.isoformat(),
        *extra,
        env=worker_env(sandbox.url, sandbox.token),
    )


def _seeded_rows(record: str) -> int:
    return sum(1 for f in SEEDED if f["record"] == record)


def test_a_locked_record_fails_alone_and_every_other_records_queries_are_written(
    demo_sandbox,
) -> None:
    """REDCap refuses a whole import that touches a locked record; the worker splits the
    batch until the locked record is alone, so only its rows fail."""
    demo_sandbox.access.lock_record("12")
    run = _worker_sync(demo_sandbox)
    assert run.returncode == 4, run.stderr
    [error] = [line for line in run.stdout.splitlines() if line.startswith("write error:")]
    assert error.startswith(f"write error: record 12: {_seeded_rows('12')} query rows not written")
    assert "locked" in error
    written = queries(demo_sandbox)
    assert {r["record_id"] for r in written} == {f["record"] for f in SEEDED} - {"12"}
    assert len(written) == len(SEEDED) - _seeded_rows("12")
    # Once unlocked, the next run writes what is missing, and nothing twice.
    demo_sandbox.access.unlock_record("12")
    assert _worker_sync(demo_sandbox).returncode == 0
    assert len(queries(demo_sandbox)) == len(SEEDED)


def test_isolating_a_refusing_record_splits_batches_by_record(
    demo_sandbox, settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sync_module, "WRITE_BATCH_ROWS", 10)
    demo_sandbox.access.lock_record("12")
    demo_sandbox.access.lock_record("18")
    mark = demo_sandbox.request_log.mark()
    result = sync(settings)
    assert [e.split(":")[0] for e in result.write_errors] == ["record 12", "record 18"]
    assert not result.complete
    assert result.written == len(SEEDED) - _seeded_rows("12") - _seeded_rows("18")
    imports = list(demo_sandbox.request_log.since(mark).imports())
    refused = [e.records_written for e in imports if e.status == 400]
    # Each locked record ends up sent alone, and refused alone; every other record's rows
    # are written.
    assert ("12",) in refused
    assert ("18",) in refused
    assert all(len(records) > 1 or records in (("12",), ("18",)) for records in refused)
    written = {r for e in imports if e.status == 200 for r in e.records_written}
    assert written == {f["record"] for f in SEEDED} - {"12", "18"}


def test_a_record_deleted_after_the_export_is_skipped_and_never_created_again(
    demo_sandbox, settings
) -> None:
    # The requests a sync makes before writing: a dry run makes the same ones.
    mark = demo_sandbox.request_log.mark()
    sync(settings, dry_run=True)
    before_writes = len(demo_sandbox.request_log.since(mark))
    demo_sandbox.delete_record_after(before_writes, "12")
    result = sync(settings)
    assert "12" not in demo_sandbox.store
    assert result.gone == {"12": _seeded_rows("12")}
    assert result.complete  # nothing left to write: the record is gone
    assert "12" not in result.queries
    assert len(queries(demo_sandbox)) == len(SEEDED) - _seeded_rows("12")
    for entry in demo_sandbox.request_log.since(mark).imports():
        assert "12" not in entry.records_written


@pytest.mark.parametrize("fault", ["429", "403"])
def test_a_ban_during_the_writes_stops_the_run_at_once(demo_sandbox, fault: str) -> None:
    """REDCap bans with 429; a proxy in front of it may answer 403. Either way, every
    further request would only prolong the ban: none is sent."""
    demo_sandbox.faults.plan_imports(fault, fault, fault)
    mark = demo_sandbox.request_log.mark()
    run = _worker_sync(demo_sandbox)
    assert run.returncode == 3, run.stdout + run.stderr
    [line] = run.stderr.strip().splitlines()
    assert line.startswith("error: ")
    assert "Traceback" not in run.stderr
    entries = list(demo_sandbox.request_log.since(mark))
    first_fault = next(i for i, e in enumerate(entries) if e.fault == fault)
    assert entries[first_fault:] == [entries[first_fault]]  # the last request of the run
    assert queries(demo_sandbox) == []


def test_a_ban_between_write_batches_keeps_what_was_written(
    demo_sandbox, settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from worker.errors import WritesInterrupted

    monkeypatch.setattr(sync_module, "WRITE_BATCH_ROWS", 10)
    settings.redcap.max_concurrent_requests = 1  # one batch after another
    demo_sandbox.faults.plan_imports("ok", "429")
    mark = demo_sandbox.request_log.mark()
    with pytest.raises(WritesInterrupted, match="banned") as raised:
        sync(settings)
    first = demo_sandbox.request_log.since(mark).imports()[0]
    assert f"{first.rows_sent} of 51 rows written" in str(raised.value)
    assert list(demo_sandbox.request_log.since(mark))[-1].fault == "429"
    assert len(queries(demo_sandbox)) == first.rows_sent
    assert sync(settings).complete
    assert len(queries(demo_sandbox)) == len(SEEDED)


def test_a_ban_among_concurrent_write_batches_stops_every_other_at_once(
    demo_sandbox, settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches in flight when the ban comes were sent before it; none starts after it."""
    from worker.errors import WritesInterrupted

    monkeypatch.setattr(sync_module, "WRITE_BATCH_ROWS", 5)
    at_once = settings.redcap.max_concurrent_requests
    assert at_once > 1
    demo_sandbox.faults.plan_imports("ok", "429")
    mark = demo_sandbox.request_log.mark()
    with pytest.raises(WritesInterrupted, match="banned") as raised:
        sync(settings)
    entries = list(demo_sandbox.request_log.since(mark))
    [ban] = [e for e in entries if e.fault == "429"]
    after = [e for e in entries if e.received is not None and e.received > ban.answered]
    assert len(after) <= at_once - 1  # at most the others already in flight
    # What the message counts is what REDCap holds: nothing lost, nothing counted twice.
    stored = len(queries(demo_sandbox))
    assert f"{stored} of 51 rows written" in str(raised.value)
    assert stored < len(SEEDED)


@pytest.mark.parametrize("right", ["deidentified", "none"])
def test_export_rights_hiding_query_fields_stop_sync_before_any_write(
    demo_sandbox, right: str
) -> None:
    demo_sandbox.access.set_export_right(QUERY_FORM, right)
    mark = demo_sandbox.request_log.mark()
    run = _worker_sync(demo_sandbox)
    assert run.returncode == 3
    [line] = run.stderr.strip().splitlines()
    assert line.startswith("error: the API token's user cannot export the query fields dq_id")
    assert f"'Full Data Set' export rights on the form '{QUERY_FORM}'" in line
    assert "dq_message" in line
    assert "dq_opened_at" in line
    assert not list(demo_sandbox.request_log.since(mark).imports())
    assert queries(demo_sandbox) == []


def test_export_rights_that_leave_the_query_fields_alone_do_not_stop_sync(demo_sandbox) -> None:
    """ "Remove identifiers" hides only fields tagged as identifiers; the query form has
    none, and de-identified rights on a clinical form leave the query form whole."""
    demo_sandbox.access.set_export_right(QUERY_FORM, "remove_identifiers")
    assert _worker_sync(demo_sandbox).returncode == 0
    assert len(queries(demo_sandbox)) == len(SEEDED)


def test_write_progress_counts_query_rows(demo_sandbox, settings) -> None:
    seen: list[tuple[int, int]] = []
    sync(settings, on_write_progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (0, len(SEEDED))
    assert seen[-1] == (len(SEEDED), len(SEEDED))


class Crash(Exception):
    pass


def test_a_crash_between_batches_then_a_rerun_converges_without_duplicates(
    demo_sandbox, settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from worker.sandbox import Sandbox

    monkeypatch.setattr(sync_module, "WRITE_BATCH_ROWS", 10)
    original = sync_module.RedcapClient.import_records
    calls = {"n": 0}

    def crash_after_two(self, rows, **kw):
        calls["n"] += 1
        if calls["n"] == 3:
            raise Crash("the container was killed")
        return original(self, rows, **kw)

    with monkeypatch.context() as patch:
        patch.setattr(sync_module.RedcapClient, "import_records", crash_after_two)
        with pytest.raises(Crash):
            sync(settings)
    assert 0 < len(queries(demo_sandbox)) < len(SEEDED)
    sync(settings)

    with Sandbox.from_folder(
        project_dir=DEMO_PROJECT, data="demo", as_of=AS_OF, token=demo_sandbox.token
    ) as clean:
        monkeypatch.setenv("REDCAP_API_URL", clean.url)
        sync(load_settings(CONFIG))
        expected = _comparable(queries(clean))
    assert _comparable(queries(demo_sandbox)) == expected


def test_dry_run_prints_the_plan_and_writes_nothing(demo_sandbox) -> None:
    run = run_worker(
        "sync",
        "--config",
        str(CONFIG),
        "--as-of",
        AS_OF.isoformat(),
        "--dry-run",
        env=worker_env(demo_sandbox.url, demo_sandbox.token),
    )
    assert run.returncode == 0
    assert "Planned changes (dry run, nothing written)" in run.stdout
    assert "create" in run.stdout
    assert f"{len(SEEDED)} created" in run.stdout
    assert not list(demo_sandbox.request_log.imports())
    assert queries(demo_sandbox) == []


def test_sync_ends_with_one_summary_line(demo_sandbox) -> None:
    run = run_worker(
        "sync",
        "--config",
        str(CONFIG),
        "--as-of",
        AS_OF.isoformat(),
        env=worker_env(demo_sandbox.url, demo_sandbox.token),
    )
    assert run.returncode == 0
    # The summary line, then where each deviation summary went (no SMTP host: .eml files).
    summary, *notices = run.stdout.strip().splitlines()
    assert all(line.startswith("summary written to ") for line in notices)
    assert f"{len(SEEDED)} findings" in summary
    for word in ("created", "resolved", "reopened", "verified", "unchanged", "write errors"):
        assert word in summary


def test_a_sync_does_not_start_while_another_holds_the_state_folder(
    demo_sandbox, tmp_path: Path
) -> None:
    """Two syncs at once would plan their writes from the same old queries; the second one
    stops before its first request, in one line, and a later one runs as usual."""
    state = tmp_path / "state"
    env = worker_env(demo_sandbox.url, demo_sandbox.token, WORKER_STATE_DIR=str(state))
    command = ("sync", "--config", str(CONFIG), "--as-of", AS_OF.isoformat())
    mark = demo_sandbox.request_log.mark()
    with StateDir(state).sync_lock():
        busy = run_worker(*command, env=env)
    assert busy.returncode == 5
    assert busy.stderr.strip() == (
        f"error: another sync is running with the state folder {state}; this one did not start"
    )
    assert len(demo_sandbox.request_log.since(mark)) == 0
    assert run_worker(*command, env=env).returncode == 0


def _where(f: dict) -> dict:
    return {"record": f["record"], "rule": f["rule"], "field": f["field"]}


def _comparable(rows: list[dict]) -> list[tuple]:
    """Query rows without their timestamps, in a stable order."""
    skip = {"dq_opened_at", "dq_closed_at"}
    return sorted(tuple(sorted((k, v) for k, v in r.items() if k not in skip)) for r in rows)


def test_a_sandbox_try_keeps_its_own_state_folder(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'state_dir = "state"\n[study]\nmapping = "{REPO / "mappings" / "nk_trial.toml"}"\n'
        f'rules = "{REPO / "rules" / "nk_trial"}"\n',
        encoding="utf-8",
    )
    env = worker_env("", "")
    env.pop("REDCAP_API_URL")
    env.pop("REDCAP_API_TOKEN")
    run = run_worker("sync", "--config", str(config), "--sandbox", env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "state" / "sandbox" / "cursor.json").exists()
    assert not (tmp_path / "state" / "cursor.json").exists()
