"""The state folder: atomic writes, and a lost or damaged folder costs work, never truth."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from worker.errors import SyncBusy
from worker.state import StateDir, atomic_write_bytes

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


def test_history_is_short_and_the_heartbeat_tracks_the_last_success(tmp_path: Path) -> None:
    state = StateDir(tmp_path)
    for i in range(250):
        state.record_run({"finished_at": f"t{i}", "status": "ok" if i < 249 else "failed"})
    assert len(state.history()) == 200
    beat = state.heartbeat()
    assert beat == {"last_run_at": "t249", "last_status": "failed", "last_success_at": "t248"}


def test_sent_keys_are_remembered(tmp_path: Path) -> None:
    state = StateDir(tmp_path)
    state.mark_sent("a")
    state.mark_sent("a")
    assert StateDir(tmp_path).sent_keys() == {"a"}


# -- the saved project structure -----------------------------------------------------------

URL = "https://redcap.example.org/api/"


def test_a_saved_structure_is_read_back_for_its_project_while_recent(tmp_path: Path) -> None:
    from tests.rules.builders import schema

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
