"""State records: each JSON document of the state folder is a typed record with a format
version. It round-trips; a file the previous worker wrote (no version) is read as format 1;
a newer format is set aside and named, never misread; a damaged one is set aside as ever."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from worker.core.drw import DrwKey, Pending
from worker.drw_sync import JournalRecord
from worker.notify.failures import Streak
from worker.notify.plan import Ledger
from worker.state import StateDir
from worker.state_records import (
    Cursor,
    Heartbeat,
    RunHistory,
    RunRecord,
    SavedStructure,
    SentKeys,
    StateRecord,
)

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 26, 8, 1, 30, tzinfo=UTC)
URL = "https://redcap.example.org/api/"

SCHEMA_JSON: dict[str, Any] = {
    "events": [],
    "fields": [
        {
            "annotation": "",
            "branching_logic": None,
            "choices": [],
            "field_type": "text",
            "form": "enrolment",
            "identifier": False,
            "label": "Record ID",
            "max": None,
            "min": None,
            "missing_options": [],
            "name": "record_id",
            "required": False,
            "validation": None,
        }
    ],
    "form_events": [[None, ["enrolment"]]],
    "form_labels": {},
    "forms": ["enrolment"],
    "is_longitudinal": False,
    "missing_codes": [],
    "project_id": 17,
    "redcap_version": None,
    "repeating_events": [],
    "repeating_forms": [],
    "title": "Demo trial",
}

FAILED_RUN = RunRecord(
    run_id="a1b2c3d4e5f6",
    mode="incremental",
    status="failed",
    started_at=T0,
    finished_at=T1,
    duration_s=90.0,
    error="RedcapUnreachable",
)
DEGRADED_RUN = RunRecord(
    run_id="0123456789ab",
    mode="full",
    status="degraded",
    started_at=T0,
    finished_at=T1,
    duration_s=12.345,
    counts={
        "findings": 51,
        "created": 3,
        "resolved": 1,
        "reopened": 0,
        "verified": 0,
        "updated": 2,
        "unchanged": 45,
        "not_run": 0,
        "write_errors": 0,
        "records_checked": 12,
        "summaries_failed": 0,
    },
    quarantined={"NK-DOSE": "field x is gone"},
    degraded=("check NK-DOSE quarantined: field x is gone",),
)
JOURNAL_OWNER = {"project_id": 17, "url": URL, "username": "worker"}

# One of each record, as a run leaves them.
RECORDS: dict[str, StateRecord] = {
    "cursor": Cursor(T0),
    "structure": SavedStructure(URL, T0, SCHEMA_JSON),
    "sent keys": SentKeys(("summary-a", "critical-b")),
    "history": RunHistory((FAILED_RUN, DEGRADED_RUN)),
    "heartbeat": Heartbeat(last_run_at=T1, last_status="degraded", last_success_at=T0),
    "heartbeat, first run failed": Heartbeat(last_run_at=T1, last_status="failed"),
    "notify ledger": Ledger(
        announced=["o1"], pending=["o2", "o3"], last_digest_at=T0, quarantines=["NK-DOSE"]
    ),
    "failure streak": Streak(failed_runs=3, since=T0, last_error="unreachable", alerted=True),
    "DRW journal": JournalRecord(
        JOURNAL_OWNER,
        {DrwKey("7", "41", "cp_dose", 1): Pending("2026-11-26 09:00:00", "OPEN", "w:abc")},
    ),
}


@pytest.mark.parametrize("name", list(RECORDS))
def test_every_record_round_trips_through_its_file_with_its_format(
    tmp_path: Path, name: str
) -> None:
    record = RECORDS[name]
    StateDir(tmp_path).write_record(record)
    document = json.loads((tmp_path / record.FILE).read_text())
    assert document["format"] == record.FORMAT == 1
    assert StateDir(tmp_path).read_record(type(record)) == record


def test_every_state_file_has_its_own_record() -> None:
    files = [record.FILE for record in RECORDS.values()]
    assert sorted(set(files)) == sorted(
        [
            "cursor.json",
            "structure.json",
            "sent.json",
            "history.json",
            "heartbeat.json",
            "notify.json",
            "sync_failures.json",
            "drw-journal.json",
        ]
    )


# -- files the previous worker wrote -------------------------------------------------------

# Literally what the worker wrote before documents carried a version (each made by its
# writer of that time: StateDir, save_ledger, save_streak, Journal.write), and what they read
# as now.
UNVERSIONED: dict[str, tuple[str, StateRecord]] = {
    "cursor": ('{"last_success_started_at": "2026-11-26T08:00:00+00:00"}', RECORDS["cursor"]),
    "structure": (
        json.dumps({"read_at": "2026-11-26T08:00:00+00:00", "schema": SCHEMA_JSON, "url": URL}),
        RECORDS["structure"],
    ),
    "sent keys": ('["summary-a", "critical-b"]', RECORDS["sent keys"]),
    "history": (
        """[
  {"duration_s": 90.0, "error": "RedcapUnreachable", "finished_at": "2026-11-26T08:01:30+00:00",
   "mode": "incremental", "run_id": "a1b2c3d4e5f6", "started_at": "2026-11-26T08:00:00+00:00",
   "status": "failed"},
  {"created": 3, "degraded": ["check NK-DOSE quarantined: field x is gone"],
   "duration_s": 12.345, "findings": 51, "finished_at": "2026-11-26T08:01:30+00:00",
   "mode": "full", "not_run": 0, "quarantined": {"NK-DOSE": "field x is gone"},
   "records_checked": 12, "reopened": 0, "resolved": 1, "run_id": "0123456789ab",
   "started_at": "2026-11-26T08:00:00+00:00", "status": "degraded", "summaries_failed": 0,
   "unchanged": 45, "updated": 2, "verified": 0, "write_errors": 0}
]""",
        RECORDS["history"],
    ),
    "heartbeat": (
        '{"last_run_at": "2026-11-26T08:01:30+00:00", "last_status": "degraded",'
        ' "last_success_at": "2026-11-26T08:00:00+00:00"}',
        RECORDS["heartbeat"],
    ),
    "heartbeat, first run failed": (
        '{"last_run_at": "2026-11-26T08:01:30+00:00", "last_status": "failed"}',
        RECORDS["heartbeat, first run failed"],
    ),
    "notify ledger": (
        '{"announced": ["o1"], "last_digest_at": "2026-11-26T08:00:00+00:00",'
        ' "pending": ["o2", "o3"], "quarantines": ["NK-DOSE"]}',
        RECORDS["notify ledger"],
    ),
    "failure streak": (
        '{"alerted": true, "failed_runs": 3, "last_error": "unreachable",'
        ' "since": "2026-11-26T08:00:00+00:00"}',
        RECORDS["failure streak"],
    ),
    "DRW journal": (
        '{"owner": {"project_id": 17, "url": "https://redcap.example.org/api/",'
        ' "username": "worker"}, "pending": [{"event_id": "41", "field": "cp_dose",'
        ' "instance": 1, "query_status": "OPEN", "record": "7", "tag": "w:abc",'
        ' "ts": "2026-11-26 09:00:00"}]}',
        RECORDS["DRW journal"],
    ),
}


@pytest.mark.parametrize("name", list(UNVERSIONED))
def test_a_file_the_previous_worker_wrote_is_read_as_format_1_and_rewritten_with_it(
    tmp_path: Path, name: str
) -> None:
    text, expected = UNVERSIONED[name]
    (tmp_path / expected.FILE).write_text(text)
    state = StateDir(tmp_path)
    with capture_logs() as logs:
        read = state.read_record(type(expected))
    assert read == expected
    assert logs == []  # nothing set aside
    state.write_record(read)
    assert json.loads((tmp_path / expected.FILE).read_text())["format"] == 1


def test_the_previous_workers_history_keeps_its_errors_counts_and_quarantines(
    tmp_path: Path,
) -> None:
    (tmp_path / "history.json").write_text(UNVERSIONED["history"][0])
    [failed, degraded] = StateDir(tmp_path).history()
    assert (failed.status, failed.error, failed.counts) == ("failed", "RedcapUnreachable", {})
    assert degraded.succeeded
    assert degraded.counts["findings"] == 51
    assert list(degraded.quarantined) == ["NK-DOSE"]


# -- a newer worker's files: set aside and named, never misread ------------------------------


@pytest.mark.parametrize("name", list(RECORDS))
def test_a_newer_format_is_set_aside_under_a_name_that_says_so(tmp_path: Path, name: str) -> None:
    record = RECORDS[name]
    newer = {"format": 2} | record.to_json()
    (tmp_path / record.FILE).write_text(json.dumps(newer))
    state = StateDir(tmp_path)
    with capture_logs() as logs:
        assert state.read_record(type(record)) is None  # though its fields would parse
    [warning] = logs
    assert warning["event"] == "state file of a newer format set aside; going on without it"
    assert warning["file"].endswith(record.FILE)
    assert "format 2, newer than this worker's 1" in warning["reason"]
    assert not (tmp_path / record.FILE).exists()
    assert state.newer_format_set_aside() == [warning["moved_to"]]
    assert warning["moved_to"].startswith(f"{record.FILE}.newer-format-2-")
    assert json.loads((tmp_path / warning["moved_to"]).read_text()) == newer  # kept whole


# -- damaged, as before ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        (Cursor, '{"format": "1", "last_success_started_at": "2026-11-26T08:00:00+00:00"}'),
        (Cursor, '{"format": 0, "last_success_started_at": "2026-11-26T08:00:00+00:00"}'),
        (Cursor, '{"format": true, "last_success_started_at": "2026-11-26T08:00:00+00:00"}'),
        (Cursor, '{"format": 1, "last_success_started_at": "2026-11-26T08:00:00"}'),
        (RunHistory, '{"format": 1, "runs": {"not": "a list"}}'),
        (RunHistory, '{"format": 1, "runs": [{"run_id": "r"}]}'),
        (RunHistory, '{"not": "a list"}'),
        (SentKeys, '{"format": 1, "keys": ["a", 3]}'),
        (Heartbeat, '{"format": 1, "last_success_at": "yesterday"}'),
        (Ledger, '{"format": 1, "announced": "o1"}'),
        (Streak, '{"format": 1, "alerted": "yes"}'),
        (JournalRecord, '{"format": 1, "owner": {}, "pending": [{"record": 7}]}'),
    ],
)
def test_a_document_of_the_wrong_shape_is_damaged_and_set_aside_as_ever(
    tmp_path: Path, kind: type[StateRecord], text: str
) -> None:
    (tmp_path / kind.FILE).write_text(text)
    state = StateDir(tmp_path)
    with capture_logs() as logs:
        assert state.read_record(kind) is None
    [warning] = logs
    assert warning["event"] == "damaged state file set aside; going on without it"
    assert warning["moved_to"].startswith(f"{kind.FILE}.damaged-")
    assert state.newer_format_set_aside() == []  # damaged is not "newer": health is not told
