"""The one run every command makes: what its outcome holds besides the findings, so that
``check``, ``sync``, ``report``, ``visits``, ``doctor`` and the emails read it instead of
going over the records again; and ``read_ahead``, which exports the next batch on a helper
thread while this one is checked (to the consumer the same sequence, errors in place), unless
the source reads ahead itself."""

from __future__ import annotations

import contextvars
import dataclasses
import sys
import threading
from collections.abc import Iterator
from typing import Any, cast

import pytest

from tests.support.nk_trial import (
    AS_OF,
    mapping,
    ruleset,
    schema,
    screened,
    study,
    treated,
)
from tests.support.schedules import schedule_failing_for
from worker.core.findings import Kind, Severity
from worker.core.queries import QueryBook
from worker.core.rules.tally import keep_every_visit
from worker.pipeline import check_batches, check_project, read_ahead
from worker.redcap_client import RedcapClient

QUERY_ROW = {
    "record_id": "1",
    "redcap_event_name": "queries_arm_1",
    "redcap_repeat_instrument": "data_query",
    "redcap_repeat_instance": "1",
    "dq_id": "NK-WIN-01:1:fu_m2_arm_1::mba_date",
    "dq_rule": "NK-WIN-01",
    "dq_kind": "2",
    "dq_severity": "2",
    "dq_status": "1",
    "dq_opened_at": "2026-11-20 08:30:00",
}


def book() -> QueryBook:
    spec = mapping().queries
    assert spec is not None
    return QueryBook(spec, schema())


def rows() -> list[dict]:
    first = list(treated("1").rows.values())
    first[0] = first[0] | {"redcap_data_access_group": "site_a"}
    return [*first, QUERY_ROW, *screened("2").rows.values()]


def test_one_run_keeps_each_records_queries_its_site_and_the_studys_tally() -> None:
    outcome = check_batches(study(), [rows()], as_of=AS_OF, queries=book(), visits=keep_every_visit)
    assert outcome.records_checked == 2
    [query] = outcome.queries["1"]
    assert (query.rule, query.kind, query.severity) == ("NK-WIN-01", Kind.DEVIATION, Severity.MAJOR)
    assert "2" not in outcome.queries  # a record with no query has no entry
    assert set(outcome.query_rows) == {"1", "2"}  # but its (empty) query rows are kept
    assert outcome.groups == {"1": "site_a"}
    assert outcome.tally is not None
    assert outcome.tally.participants == 2  # each participant observed once
    assert {row.record for row in outcome.tally.visits} == {"1"}  # only "1" was treated
    assert outcome.titles == {c.id: c.title for c in ruleset().checks}
    assert outcome.schema == schema()


def test_a_plain_check_keeps_no_query_rows_and_no_tally() -> None:
    outcome = check_batches(study(), [rows()], as_of=AS_OF)
    assert (outcome.query_rows, outcome.queries, outcome.tally) == ({}, {}, None)
    assert outcome.groups == {"1": "site_a"}


def test_the_checks_that_failed_on_a_participant_are_named_with_its_record() -> None:
    broken = dataclasses.replace(study(), ruleset=schedule_failing_for(ruleset(), "2"))
    batches = [[*treated("1").rows.values(), *treated("2").rows.values()]]
    outcome = check_batches(broken, batches, as_of=AS_OF, visits=keep_every_visit)
    assert ruleset().visit_schedule is not None
    schedule_checks = {c.info.id for c in ruleset().visit_schedule.checks.values()}
    assert outcome.failed == {"2": schedule_checks}
    assert {check for check, _ in outcome.check_failures} == schedule_checks
    assert all(records == ["2"] for records in outcome.check_failures.values())
    assert outcome.tally is not None
    assert outcome.tally.schedule_errors == ["2"]
    assert outcome.check_errors == len(schedule_checks)


WHO = contextvars.ContextVar("WHO", default="nobody")


def test_items_come_in_order_and_all_of_them() -> None:
    assert list(read_ahead(iter(range(100)))) == list(range(100))
    assert list(read_ahead(x for x in ())) == []


def test_an_error_is_raised_in_its_place_after_the_items_before_it() -> None:
    boom = RuntimeError("REDCap went away")

    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise boom

    seen: list[int] = []

    def consume() -> None:
        for item in read_ahead(source()):
            seen.append(item)

    with pytest.raises(RuntimeError) as caught:
        consume()
    assert seen == [1, 2]
    assert caught.value is boom
    assert caught.value.__context__ is None  # nothing chained on the way


def test_a_consumer_that_stops_early_stops_the_reading_and_closes_the_source() -> None:
    pulled: list[int] = []
    closed = threading.Event()

    def source() -> Iterator[int]:
        try:
            for n in range(1000):
                pulled.append(n)
                yield n
        finally:
            closed.set()

    for item in read_ahead(source()):
        if item == 3:
            break
    assert closed.wait(5)
    assert len(pulled) <= 3 + 1 + 2  # consumed, one in the queue, one being handed over


def test_the_source_runs_on_a_helper_thread_with_the_callers_context_variables() -> None:
    seen: list[tuple[str, bool]] = []

    def source() -> Iterator[int]:
        seen.append((WHO.get(), threading.current_thread() is threading.main_thread()))
        yield 1

    token = WHO.set("the scheduler's run")
    try:
        assert list(read_ahead(source())) == [1]
    finally:
        WHO.reset(token)
    assert seen == [("the scheduler's run", False)]


def test_lists_are_not_read_ahead() -> None:
    batches = [[{"a": "1"}], [{"a": "2"}]]
    assert list(read_ahead(batches)) == batches
    assert list(read_ahead(tuple(batches))) == batches


def test_the_gil_switch_interval_is_restored_afterwards() -> None:
    before = sys.getswitchinterval()
    during = []
    for _ in read_ahead(iter(range(3))):
        during.append(sys.getswitchinterval())
    assert max(during) <= 0.0005 < before
    assert sys.getswitchinterval() == before

    def fail_while_consuming() -> None:
        for _ in read_ahead(iter(range(3))):
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        fail_while_consuming()
    assert sys.getswitchinterval() == before


class PulledBatches:
    """A batch source that notes how many batches were pulled and on which threads."""

    def __init__(self, batches: list[list[dict]]) -> None:
        self.batches = batches
        self.pulled = 0
        self.threads: set[threading.Thread] = set()

    def __iter__(self) -> Iterator[list[dict]]:
        for batch in self.batches:
            self.pulled += 1
            self.threads.add(threading.current_thread())
            yield batch


def one_record_per_batch() -> list[list[dict]]:
    return [list(treated(str(n)).rows.values()) for n in range(1, 6)]


def test_a_source_that_reads_ahead_itself_is_pulled_by_the_run_one_batch_at_a_time() -> None:
    source = PulledBatches(one_record_per_batch())
    checked: list[tuple[str, int]] = []
    check_batches(
        study(),
        iter(source),
        as_of=AS_OF,
        source_reads_ahead=True,
        on_record=lambda record, _: checked.append((record.record_id, source.pulled)),
    )
    # While each batch is checked, no batch after it has been pulled: the source's own
    # window is all that is held.
    assert checked == [(str(n), n) for n in range(1, 6)]
    assert source.threads == {threading.current_thread()}


def test_a_lazy_source_that_does_not_read_ahead_is_read_ahead_on_a_helper_thread() -> None:
    source = PulledBatches(one_record_per_batch())
    outcome = check_batches(study(), iter(source), as_of=AS_OF)
    assert outcome.records_checked == 5
    assert threading.current_thread() not in source.threads


class ExportingClient:
    """What ``check_project`` asks of the client: its export batches and its window."""

    def __init__(self, max_concurrent_requests: int) -> None:
        self.max_concurrent_requests = max_concurrent_requests
        self.source = PulledBatches(one_record_per_batch())

    def iter_record_batches(self, **_: Any) -> Iterator[list[dict]]:
        return iter(self.source)


@pytest.mark.parametrize(
    ("max_concurrent_requests", "read_ahead_by_the_run"), [(1, True), (2, False), (3, False)]
)
def test_a_check_reads_ahead_only_when_the_client_exports_one_batch_at_a_time(
    max_concurrent_requests: int, read_ahead_by_the_run: bool
) -> None:
    client = ExportingClient(max_concurrent_requests)
    outcome = check_project(cast(RedcapClient, client), study(), as_of=AS_OF)
    assert outcome.records_checked == 5
    pulled_here = client.source.threads == {threading.current_thread()}
    assert pulled_here is not read_ahead_by_the_run
