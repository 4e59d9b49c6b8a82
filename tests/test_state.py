"""The state folder: atomic writes, and a lost or damaged folder costs work, never truth."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from tests.support.state import run_record
from worker.errors import SyncBusy
from worker.state import StateDir, atomic_write_bytes
from worker.state_records import Heartbeat

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def test_no_cursor_means_a_full_sync(tmp_path: Path) -> None:
    assert StateDir(tmp_path / "state").cursor() is None


def test_the_cursor_round_trips(tmp_path: Path) -> None:
    state = StateDir(tmp_path)
    state.set_cursor(T0)
    assert StateDir(tmp_path).cursor() == T0


def test_a_damaged_cursor_reads_as_no_cursor(tmp_path: Path) -> None:
    (tmp_path / "cursor.json").write_text("{not json")
    assert StateDir(tmp_path).cursor() is None


def test_a_failed_write_leaves_the_old_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "x.json"
    atomic_write_bytes(target, b"old")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="No space"):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]  # no temporary left behind


@pytest.mark.slow
def test_history_is_short_and_the_heartbeat_tracks_the_last_success(tmp_path: Path) -> None:
    state = StateDir(tmp_path)

    def t(i: int) -> datetime:
        return T0 + timedelta(minutes=i)

    for i in range(250):
        state.record_run(run_record(finished_at=t(i), status="ok" if i < 249 else "failed"))
    assert [run.finished_at for run in state.history()] == [t(i) for i in range(50, 250)]
    assert state.heartbeat() == Heartbeat(
        last_run_at=t(249), last_status="failed", last_success_at=t(248)
    )


def test_sent_keys_are_remembered(tmp_path: Path) -> None:
    state = StateDir(tmp_path)
    state.mark_sent("a")
    state.mark_sent("a")
    assert StateDir(tmp_path).sent_keys() == {"a"}


# -- the saved project structure -----------------------------------------------------------

URL = "https://redcap.example.org/api/"


def test_a_saved_structure_is_read_back_for_its_project_while_recent(tmp_path: Path) -> None:
    from tests.support.nk_trial import schema

    state = StateDir(tmp_path)
    state.save_structure(URL, schema(), T0)
    assert StateDir(tmp_path).structure(URL, read_since=T0) == schema()
    assert state.structure(URL, read_since=T0 + timedelta(seconds=1)) is None  # too old
    assert state.structure("https://other.example.org/api/", read_since=T0) is None


@pytest.mark.parametrize(
    "text", ["{not json", "[]", f'{{"url": "{URL}", "read_at": "x"}}', f'{{"url": "{URL}"}}']
)
def test_a_damaged_structure_reads_as_none(tmp_path: Path, text: str) -> None:
    (tmp_path / "structure.json").write_text(text)
    assert StateDir(tmp_path).structure(URL, read_since=T0) is None


# -- one sync at a time --------------------------------------------------------------------


def test_the_sync_lock_admits_one_holder_at_a_time(tmp_path: Path) -> None:
    first, second = StateDir(tmp_path), StateDir(tmp_path)  # as two processes would open it
    with (
        first.sync_lock(),
        pytest.raises(SyncBusy, match="another sync is running"),
        second.sync_lock(),
    ):
        pass
    with second.sync_lock():
        pass


def test_the_sync_lock_is_released_when_its_holder_fails(tmp_path: Path) -> None:
    state = StateDir(tmp_path)
    with pytest.raises(RuntimeError), state.sync_lock():
        raise RuntimeError("the sync failed")
    with StateDir(tmp_path).sync_lock():
        pass


# -- damaged files: set aside with a warning, and the worker goes on -------------------------

# Ways a state file gets damaged: by hand, by a full disk, by a bad volume mount.
DAMAGE = {
    "wrong JSON type": lambda path: path.write_text('"a string"'),
    "wrong JSON type (number)": lambda path: path.write_text("42"),
    "not JSON": lambda path: path.write_text("{half"),
    "not UTF-8": lambda path: path.write_bytes(b'{"x": "\xe9"}'),
    "a folder in place of the file": lambda path: path.mkdir(),
}


def use_cursor(state: StateDir) -> None:
    assert state.cursor() is None
    state.set_cursor(T0)
    assert state.cursor() == T0


def use_structure(state: StateDir) -> None:
    from tests.support.projects import demo_schema

    assert state.structure("u", read_since=T0) is None
    state.save_structure("u", demo_schema(), T0)
    assert state.structure("u", read_since=T0) is not None


def use_sent(state: StateDir) -> None:
    assert state.sent_keys() == set()
    state.mark_sent("k")
    assert state.sent_keys() == {"k"}


def use_history(state: StateDir) -> None:
    assert state.history() == []
    state.record_run(run_record(run_id="r"))
    assert [run.run_id for run in state.history()] == ["r"]


def use_heartbeat(state: StateDir) -> None:
    assert state.heartbeat() == Heartbeat()
    state.record_run(run_record(finished_at=T0))
    assert state.heartbeat().last_success_at == T0


def use_ledger(state: StateDir) -> None:
    from worker.notify.outbox import load_ledger, save_ledger
    from worker.notify.plan import Ledger

    assert load_ledger(state) == Ledger()
    save_ledger(state, Ledger(announced=["a"]))
    assert load_ledger(state).announced == ["a"]


def use_streak(state: StateDir) -> None:
    from worker.notify.failures import Streak, load_streak, save_streak

    assert load_streak(state) == Streak()
    save_streak(state, Streak(failed_runs=1, since=T0))
    assert load_streak(state).failed_runs == 1


def use_journal(state: StateDir) -> None:
    from worker.drw_sync import Journal

    journal = Journal(state, "u", 7, "dq-bot")
    assert journal.pending() == {}
    journal.write([])
    assert journal.pending() == {}


USES = {
    "cursor.json": use_cursor,
    "structure.json": use_structure,
    "sent.json": use_sent,
    "history.json": use_history,
    "heartbeat.json": use_heartbeat,
    "notify.json": use_ledger,
    "sync_failures.json": use_streak,
    "drw-journal.json": use_journal,
}


@pytest.mark.parametrize("damage", list(DAMAGE))
@pytest.mark.parametrize("name", list(USES))
def test_a_damaged_state_file_is_set_aside_with_a_warning_and_work_goes_on(
    tmp_path: Path, name: str, damage: str
) -> None:
    DAMAGE[damage](tmp_path / name)
    state = StateDir(tmp_path)
    with capture_logs() as logs:
        USES[name](state)
    [warning] = [e for e in logs if e["log_level"] == "warning"]
    assert warning["event"] == "damaged state file set aside; going on without it"
    assert warning["file"].endswith(name)
    [kept] = list(tmp_path.glob(f"{name}.damaged-*"))  # kept for someone to look at
    assert kept.name == warning["moved_to"]
    assert (tmp_path / name).is_file()


def test_entries_of_the_wrong_shape_inside_an_unversioned_list_are_skipped(
    tmp_path: Path,
) -> None:
    # As the previous code did: one damaged line costs that line, not the history.
    whole = (
        '{"run_id": "r", "mode": "full", "status": "ok", "duration_s": 1.5,'
        ' "started_at": "2026-11-26T08:00:00+00:00", "finished_at": "2026-11-26T08:00:01+00:00"}'
    )
    (tmp_path / "history.json").write_text(f'[1, "x", {{"run_id": "q", "mode": "full"}}, {whole}]')
    (tmp_path / "sent.json").write_text('[["nested"], "k", 3]')
    (tmp_path / "cursor.json").write_text('{"last_success_started_at": 12}')
    state = StateDir(tmp_path)
    assert [run.run_id for run in state.history()] == ["r"]
    assert state.sent_keys() == {"k"}
    assert state.cursor() is None


def test_a_folder_in_place_of_the_lock_file_is_set_aside(tmp_path: Path) -> None:
    (tmp_path / "sync.lock").mkdir()
    state = StateDir(tmp_path)
    with capture_logs() as logs, state.sync_lock():
        pass
    assert (tmp_path / "sync.lock").is_file()
    assert [e["event"] for e in logs] == ["damaged state file set aside; going on without it"]


def test_a_file_in_place_of_the_outbox_folder_is_set_aside(tmp_path: Path) -> None:
    (tmp_path / "outbox").write_text("not a folder")
    state = StateDir(tmp_path)
    with capture_logs() as logs:
        assert state.outbox.is_dir()
    assert [e["event"] for e in logs] == ["damaged state file set aside; going on without it"]
    assert len(list(tmp_path.glob("outbox.damaged-*"))) == 1
