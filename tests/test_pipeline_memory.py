"""The check path keeps no participant's data: after a run only its findings are held
(compactly), and the memory it works in does not grow with the project."""

from __future__ import annotations

import gc
import tracemalloc
import weakref
from dataclasses import dataclass
from functools import cache

from tests.support.projects import AS_OF, DEMO_PROJECT, REPO, demo_schema
from worker.config import load_settings
from worker.core.findings import Finding
from worker.core.records import RecordData
from worker.pipeline import Study, check_batches, load_study
from worker.sandbox.seed import demo_rows

SMALL, LARGE = 40, 400  # participants: ten times as many
BATCH = 20  # records per batch


@cache
def study() -> Study:
    return load_study(load_settings(REPO / "config.example.toml").study, demo_schema())


def batches(participants: int) -> list[list[dict]]:
    """The demo project's rows for ``participants`` participants, ``BATCH`` records a batch."""
    by_record: dict[str, list[dict]] = {}
    for row in demo_rows(DEMO_PROJECT, AS_OF, participants):
        by_record.setdefault(row["record_id"], []).append(row)
    records = list(by_record.values())
    return [
        [row for rows in records[i : i + BATCH] for row in rows]
        for i in range(0, len(records), BATCH)
    ]


@dataclass(frozen=True)
class Traced:
    findings: int
    held: int  # bytes allocated during the run and still held with its result
    working: int  # the run's peak above what its result holds
    left: int  # bytes still held once the result is dropped


def renamed(source: list[list[dict]], prefix: str) -> list[list[dict]]:
    """The same rows under other record IDs."""
    return [[{**row, "record_id": prefix + row["record_id"]} for row in batch] for batch in source]


def traced_check(participants: int) -> Traced:
    source = batches(participants)  # allocated before tracing: REDCap's side of the run
    # The study is loaded, and its bounded memos of parsed values and verdicts filled with
    # these values, by a run before tracing, so what other tests left in them does not
    # count. Under other record IDs: anything kept per participant still shows.
    check_batches(study(), renamed(source, "warm-up-"), as_of=AS_OF)
    gc.collect()
    tracemalloc.start()
    try:
        result = check_batches(study(), source, as_of=AS_OF)
        gc.collect()
        held, peak = tracemalloc.get_traced_memory()
        findings = len(result.findings)
        del result
        gc.collect()
        left, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return Traced(findings=findings, held=held - left, working=peak - held, left=left)


@cache
def small_and_large() -> tuple[Traced, Traced]:
    return traced_check(SMALL), traced_check(LARGE)


def test_ten_times_the_participants_give_ten_times_the_findings() -> None:
    small, large = small_and_large()
    assert small.findings > 50
    assert 8 * small.findings <= large.findings <= 12 * small.findings


def test_after_a_run_nothing_of_the_participants_is_left_but_the_findings() -> None:
    small, large = small_and_large()
    # No cache, list or key per participant survives the run outside its result: what is
    # left (the interpreter's own bookkeeping) does not grow with ten times the project.
    assert large.left - small.left < 64 * 1024


def test_findings_are_compact() -> None:
    _, large = small_and_large()
    # A finding's own object, its evidence and its share of the texts, not a model with a
    # dict per finding (which took over 1.7 KB each).
    assert large.held / large.findings < 400


def test_the_memory_a_run_works_in_does_not_grow_with_the_project() -> None:
    small, large = small_and_large()
    # Beyond the findings themselves (the sorted batches and the merged list: a pointer
    # each, and the texts they share), ten times the participants need no more working
    # memory than a batch does. Sorting every finding at once (a key each, ~200 bytes)
    # would not fit.
    assert large.working <= small.working + 96 * large.findings + 64 * 1024


def test_no_record_outlives_its_batch() -> None:
    seen: list[weakref.ref[RecordData]] = []

    def keep(record: RecordData, found: list[Finding]) -> None:
        seen.append(weakref.ref(record))

    result = check_batches(study(), iter(batches(SMALL)), as_of=AS_OF, on_record=keep)
    gc.collect()
    assert len(seen) == result.records_checked == SMALL
    assert [ref for ref in seen if ref() is not None] == []
