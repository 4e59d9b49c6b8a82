"""Incremental sync: only records changed since the last successful sync are exported, in
REDCap's server time, less the overlap margin; a lost cursor means one full sync.

The sandbox's clock is a FakeClock in New York time, so change times are set, not waited
for. The worker's cursor is real time (the start of its last successful sync).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.support.projects import AS_OF, DEMO_PROJECT, REPO
from tests.support.worker_process import worker_env
from worker.config import load_settings
from worker.jobs import JobOutcome, run_sync_job
from worker.pipeline import make_client
from worker.sandbox import DEMO_TOKEN, FakeClock, Sandbox
from worker.session import Session
from worker.state import StateDir, utc_now
from worker.sync import SyncStopped

pytestmark = pytest.mark.e2e

CONFIG = REPO / "config.example.toml"
SERVER_TZ = "America/New_York"
QUERY_EVENT, QUERY_FORM = "queries_arm_1", "data_query"


def server_time(when: datetime) -> datetime:
    """``when`` as REDCap's server clock shows it: local wall time, naive."""
    return when.astimezone(ZoneInfo(SERVER_TZ)).replace(tzinfo=None)


@pytest.fixture
def clock() -> FakeClock:
    # The demo data, and the first sync's own query writes, are stamped a day ago.
    return FakeClock(server_time(utc_now() - timedelta(days=1)))


@pytest.fixture
def sandbox(clock: FakeClock) -> Iterator[Sandbox]:
    with Sandbox.from_folder(
        project_dir=DEMO_PROJECT, data="demo", as_of=AS_OF, token=DEMO_TOKEN, clock=clock
    ) as sb:
        yield sb


@pytest.fixture
def env(sandbox: Sandbox, tmp_path, monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for key, value in worker_env(sandbox.url, sandbox.token).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("WORKER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("WORKER_REDCAP__SERVER_TIMEZONE", SERVER_TZ)
    monkeypatch.setenv("WORKER_SCHEDULE__INCREMENTAL_OVERLAP_MINUTES", "0")
    return monkeypatch


def sync(*, incremental: bool = True, **kw) -> JobOutcome:
    settings = load_settings(CONFIG)
    with make_client(settings.redcap) as client:
        session = Session(settings=settings, client=client, as_of=AS_OF)
        return run_sync_job(session, incremental=incremental, **kw)


def cursor() -> datetime:
    found = StateDir(load_settings(CONFIG).state_dir).cursor()
    assert found is not None
    return found


def change(sandbox: Sandbox, record: str, event: str, **values: str) -> None:
    """A coordinator's edit in REDCap's own forms (not an API call of the worker)."""
    sandbox.import_rows([{"record_id": record, "redcap_event_name": event, **values}])


def range_query(sandbox: Sandbox) -> dict:
    [row] = [
        r
        for r in sandbox.rows(records=["12"])
        if r.get("redcap_repeat_instrument") == QUERY_FORM
        and r.get("redcap_event_name") == QUERY_EVENT
        and r["dq_rule"] == "DQ-RANGE"
        and r["dq_field"] == "mba_cycle_day"
    ]
    return row


@pytest.mark.usefixtures("env")
def test_an_incremental_run_exports_only_the_changed_record_and_reconciles_it(
    sandbox: Sandbox, clock: FakeClock
) -> None:
    first = sync()
    assert first.mode == "full"  # no cursor yet
    assert range_query(sandbox)["dq_status"] == "1"  # cycle day 9, out of range: open
    clock.set(server_time(utc_now() + timedelta(minutes=1)))
    change(sandbox, "12", "fu_m2_arm_1", mba_cycle_day="3")  # fixed by the site

    mark = sandbox.request_log.mark()
    second = sync()
    since = sandbox.request_log.since(mark)
    assert second.mode == "incremental"
    assert since.exported_records() == {"12"}
    assert since.written_records() == {"12"}
    assert range_query(sandbox)["dq_status"] == "2"  # resolved
    assert second.sync.records_checked == 1


@pytest.mark.usefixtures("env")
def test_changed_since_is_sent_in_the_servers_timezone(sandbox: Sandbox) -> None:
    sync()
    since_cursor = server_time(cursor()).strftime("%Y-%m-%d %H:%M:%S")
    mark = sandbox.request_log.mark()
    sync()
    [ids_export] = [
        e for e in sandbox.request_log.since(mark).exports() if "dateRangeBegin" in e.params
    ]
    assert ids_export.params["dateRangeBegin"] == since_cursor


@pytest.mark.parametrize(("overlap", "exported"), [("10", {"7"}), ("0", set())])
def test_the_overlap_catches_a_change_stamped_just_before_the_cursor(
    sandbox: Sandbox,
    clock: FakeClock,
    env: pytest.MonkeyPatch,
    overlap: str,
    exported: set[str],
) -> None:
    env.setenv("WORKER_SCHEDULE__INCREMENTAL_OVERLAP_MINUTES", overlap)
    sync()
    # REDCap's clock runs five minutes behind the worker's: its stamp precedes the cursor.
    clock.set(server_time(cursor() - timedelta(minutes=5)))
    change(sandbox, "7", "fu_m2_arm_1", mba_cycle_day="4")
    mark = sandbox.request_log.mark()
    sync()
    assert sandbox.request_log.since(mark).exported_records() == exported


@pytest.mark.usefixtures("env")
def test_a_lost_state_folder_means_one_full_sync(sandbox: Sandbox) -> None:
    sync()
    shutil.rmtree(load_settings(CONFIG).state_dir)
    mark = sandbox.request_log.mark()
    again = sync()
    assert again.mode == "full"
    assert sandbox.request_log.since(mark).exported_records() == set(sandbox.store.record_names())
    assert again.sync.plan.changes == []  # the queries were already right: nothing rewritten


@pytest.mark.usefixtures("env")
def test_a_stopped_run_keeps_the_old_cursor(sandbox: Sandbox) -> None:
    sync()
    before = cursor()
    with pytest.raises(SyncStopped):
        sync(should_stop=lambda: True)
    assert cursor() == before
    state = StateDir(load_settings(CONFIG).state_dir)
    assert [run.status for run in state.history()] == ["ok", "stopped"]
    assert state.heartbeat().last_status == "stopped"


# -- the saved project structure -----------------------------------------------------------


def saved_state() -> tuple[StateDir, str]:
    settings = load_settings(CONFIG)
    with make_client(settings.redcap) as client:
        return StateDir(settings.state_dir), client.url


def fix_cycle_day(sandbox: Sandbox, clock: FakeClock) -> None:
    clock.set(server_time(utc_now() + timedelta(minutes=1)))
    change(sandbox, "12", "fu_m2_arm_1", mba_cycle_day="3")


@pytest.mark.usefixtures("env")
def test_an_incremental_run_reuses_the_structure_a_recent_sync_read(
    sandbox: Sandbox, clock: FakeClock
) -> None:
    sync()
    fix_cycle_day(sandbox, clock)
    mark = sandbox.request_log.mark()
    second = sync()
    # The changed records' IDs, their rows, the check that they still exist right before
    # the write, the query write: no structure read.
    assert sandbox.request_log.since(mark).contents() == ["record"] * 4
    assert second.ok
    assert range_query(sandbox)["dq_status"] == "2"


@pytest.mark.usefixtures("env")
def test_a_full_sync_always_reads_the_structure(sandbox: Sandbox) -> None:
    sync()
    mark = sandbox.request_log.mark()
    sync(incremental=False)
    assert "metadata" in sandbox.request_log.since(mark).contents()


def test_with_a_zero_age_limit_every_incremental_run_reads_the_structure(
    sandbox: Sandbox, env: pytest.MonkeyPatch
) -> None:
    env.setenv("WORKER_SCHEDULE__INCREMENTAL_STRUCTURE_MAX_AGE_HOURS", "0")
    sync()
    mark = sandbox.request_log.mark()
    assert sync().mode == "incremental"
    assert "metadata" in sandbox.request_log.since(mark).contents()


@pytest.mark.usefixtures("env")
def test_a_design_change_since_the_structure_was_saved_makes_the_run_read_it_again(
    sandbox: Sandbox, clock: FakeClock
) -> None:
    sync()
    state, url = saved_state()
    saved = state.structure(url, read_since=utc_now() - timedelta(hours=1))
    assert saved is not None
    # As saved before a form was deleted in REDCap: exporting it is refused now.
    field = saved.fields["mba_cycle_day"].model_copy(update={"name": "old_note", "form": "old"})
    outdated = saved.model_copy(
        update={"fields": {**saved.fields, "old_note": field}, "forms": [*saved.forms, "old"]}
    )
    state.save_structure(url, outdated, utc_now())
    fix_cycle_day(sandbox, clock)

    mark = sandbox.request_log.mark()
    second = sync()
    since = sandbox.request_log.since(mark)
    # The ID export asks for every form's status: the old form's is refused at once.
    assert [e.status for e in since.exports()][:2] == [400, 200]
    assert "metadata" in since.contents()
    assert second.ok
    assert range_query(sandbox)["dq_status"] == "2"
    fresh = state.structure(url, read_since=utc_now() - timedelta(hours=1))
    assert fresh is not None
    assert "old" not in fresh.forms


@pytest.mark.usefixtures("env")
def test_a_ban_while_a_saved_structure_is_in_use_is_not_asked_again(
    sandbox: Sandbox, clock: FakeClock
) -> None:
    """Only a design change (REDCap's 400) makes the run read the structure again; a ban
    refuses every request alike, so the run stops at the first."""
    from worker.errors import RedcapRefused

    sync()
    fix_cycle_day(sandbox, clock)
    sandbox.faults.plan("429", "429", "429")
    mark = sandbox.request_log.mark()
    with pytest.raises(RedcapRefused, match="banned"):
        sync()
    assert [e.status for e in sandbox.request_log.since(mark)] == [429]
