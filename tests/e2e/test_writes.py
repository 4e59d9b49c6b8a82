"""Writing rows into REDCap without losing, duplicating or creating anything
(worker/writes.py), against the sandbox: batches, no record created, a refusing record
isolated, a refusal no request escapes stops at once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.projects import AS_OF, DEMO_PROJECT
from worker.errors import WritesInterrupted
from worker.redcap_client import RedcapClient
from worker.sandbox import DEMO_TOKEN, Sandbox
from worker.writes import write_rows

pytestmark = pytest.mark.e2e

EVENT = "screening_arm_1"


@dataclass(frozen=True)
class Note:
    """One row to write: a free-text field of the record's screening visit."""

    record: str
    text: str = "checked"

    @property
    def row(self) -> dict[str, Any]:
        return {"record_id": self.record, "redcap_event_name": EVENT, "mba_comment": self.text}


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.from_folder(DEMO_PROJECT, data="demo", as_of=AS_OF) as sandbox:
        yield sandbox


def client(sandbox: Sandbox) -> RedcapClient:
    return RedcapClient(
        sandbox.url, DEMO_TOKEN, allow_insecure_http=True, max_requests_per_second=100
    )


def records(sandbox: Sandbox) -> list[str]:
    return sorted({str(r["record_id"]) for r in sandbox.rows()}, key=int)


def test_rows_are_written_in_batches_after_one_check_that_their_records_exist(
    sandbox: Sandbox,
) -> None:
    notes = [Note(r) for r in records(sandbox)[:5]]
    progress: list[tuple[int, int]] = []
    report = write_rows(
        client(sandbox), notes, batch_rows=2, on_progress=lambda d, t: progress.append((d, t))
    )
    assert report.written == notes
    assert (report.refused, report.gone) == ([], {})
    assert report.requests == 4  # one existence check of every record, then three batches
    assert progress == [(0, 5), (2, 5), (4, 5), (5, 5)]


def test_a_record_deleted_since_the_export_is_skipped_never_created(sandbox: Sandbox) -> None:
    present = records(sandbox)[0]
    report = write_rows(client(sandbox), [Note(present), Note("9999"), Note("9999", "again")])
    assert report.written == [Note(present)]
    assert report.gone == {"9999": 2}
    assert report.gone_rows == [Note("9999"), Note("9999", "again")]
    assert "9999" not in records(sandbox)


def test_a_refusing_record_is_isolated_and_every_other_record_written(sandbox: Sandbox) -> None:
    ids = records(sandbox)[:4]
    sandbox.access.lock_record(ids[2])
    report = write_rows(client(sandbox), [Note(r) for r in ids])
    assert [n.record for n in report.written] == [ids[0], ids[1], ids[3]]
    [refusal] = report.refused
    assert (refusal.record, refusal.rows) == (ids[2], 1)
    assert "locked" in refusal.message
    assert report.refused_rows == [Note(ids[2])]


def test_a_refusal_no_request_escapes_stops_at_once(sandbox: Sandbox) -> None:
    notes = [Note(r) for r in records(sandbox)[:4]]
    sandbox.faults.plan_imports("429")
    with pytest.raises(WritesInterrupted, match="0 of 4 rows written"):
        write_rows(client(sandbox), notes, batch_rows=2)
    assert len(sandbox.request_log.imports()) == 1
