"""A 5,000-participant project exported through PyCap in batches of 500 records, the way
the worker (and REDCapR) batch: first the record IDs, then the records by ID."""

from __future__ import annotations

import time
from datetime import date

import pytest

from tests.support.projects import DEMO_PROJECT
from tests.support.sandbox import SandboxFactory, pycap
from tests.support.synthetic import nk_rows

PARTICIPANTS = 5000
BATCH = 500


@pytest.mark.slow
def test_5000_participants_export_in_batches_of_500(
    make_sandbox: SandboxFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.perf_counter()
    if (DEMO_PROJECT / "demo_data.py").exists():
        source = "demo_data.py"
        sb = make_sandbox(data="demo", as_of=date(2026, 11, 26), participants=PARTICIPANTS)
    else:
        source = "synthetic rows"
        sb = make_sandbox(project_dir=DEMO_PROJECT, data=nk_rows(PARTICIPANTS))
    loaded = time.perf_counter()
    project = pycap(sb)
    ids = sorted(
        {row["record_id"] for row in project.export_records(fields=[project.def_field])}, key=int
    )
    assert len(ids) == PARTICIPANTS
    exported = []
    for start in range(0, len(ids), BATCH):
        exported.extend(project.export_records(records=ids[start : start + BATCH]))
    done = time.perf_counter()

    assert len({row["record_id"] for row in exported}) == PARTICIPANTS
    assert len(exported) == sum(len(rec.slots) for rec in sb.store.records.values())
    assert len(sb.request_log.exports()) == 1 + PARTICIPANTS // BATCH
    assert all(entry.ok for entry in sb.request_log)
    with capsys.disabled():
        print(
            f"\n[sandbox scale] {PARTICIPANTS} participants from {source}: "
            f"load {loaded - started:.2f} s, export of {len(exported)} rows in "
            f"{PARTICIPANTS // BATCH} batches {done - loaded:.2f} s"
        )
