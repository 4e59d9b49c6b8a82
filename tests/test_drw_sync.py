"""The DRW journal: planned resolutions and their timestamps, kept until confirmed."""

from __future__ import annotations

from pathlib import Path

from worker.core.drw import DrwKey, Pending, PlannedResolution, format_tag
from worker.core.queries import Action
from worker.drw_sync import JOURNAL, Journal
from worker.state import StateDir

KEY = DrwKey("4", "103", "mba_date", 1)
TAG = format_tag({"LAB-01": "0123456789abcdef"})


def planned(ts: str = "2026-11-26 09:00:00") -> PlannedResolution:
    return PlannedResolution(
        Action.CREATE, KEY, "", ts, "dq-bot", f"message\n{TAG}", "OPEN", ("LAB-01",), TAG
    )


def test_what_is_written_is_pending_for_the_same_project_and_user_only(tmp_path: Path) -> None:
    state = StateDir(tmp_path)
    Journal(state, "https://r/api/", 7, "dq-bot").write([planned()])

    assert Journal(state, "https://r/api/", 7, "dq-bot").pending() == {
        KEY: Pending("2026-11-26 09:00:00", "OPEN", TAG)
    }
    assert Journal(state, "https://r/api/", 8, "dq-bot").pending() == {}
    assert Journal(state, "https://other/api/", 7, "dq-bot").pending() == {}
    assert Journal(state, "https://r/api/", 7, "someone").pending() == {}


def test_confirmed_batches_leave_it_and_a_damaged_file_is_no_journal(tmp_path: Path) -> None:
    state = StateDir(tmp_path)
    journal = Journal(state, "https://r/api/", 7, "dq-bot")
    journal.write([planned()])
    journal.write([])
    assert journal.pending() == {}
    (tmp_path / JOURNAL).write_text("{not json")
    assert journal.pending() == {}
