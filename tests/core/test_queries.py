"""Query reconciliation: the lifecycle of a finding's query, as a pure plan of writes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.projects import demo_schema
from tests.support.queries import finding
from worker.core.findings import Kind, Severity
from worker.core.mapping import load_mapping
from worker.core.queries import Action, QueryBook, fingerprint, query_id
from worker.core.records import RecordData, group_rows

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 26, 8, 30, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 27, 8, 30, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def book() -> QueryBook:
    schema = demo_schema()
    spec = load_mapping(REPO / "mappings" / "nk_trial.toml").queries
    assert spec is not None
    return QueryBook(spec, schema)


def apply(book: QueryBook, record: RecordData, plan) -> RecordData:
    """What REDCap holds after importing the plan's rows (blank values erase: overwrite)."""
    rows = [
        {
            "record_id": record.record_id,
            "redcap_event_name": key.event,
            "redcap_repeat_instrument": key.repeat_instrument,
            "redcap_repeat_instance": key.instance or "",
            **values,
        }
        for key, values in record.rows.items()
    ]
    for change in plan.changes:
        target = next(
            (
                r
                for r in rows
                if r["redcap_repeat_instrument"] == change.row["redcap_repeat_instrument"]
                and r["redcap_repeat_instance"] == change.row["redcap_repeat_instance"]
            ),
            None,
        )
        if target is None:
            rows.append(dict(change.row))
        else:
            target.update(change.row)
    return group_rows(book.schema, rows)[record.record_id]


def empty() -> RecordData:
    return RecordData("4")


def ran(rule: str) -> bool:
    return True


def sync(book: QueryBook, record: RecordData, findings, now=NOW, ran=ran):
    plan = book.reconcile(record, findings, ran=ran, now=now)
    return plan, apply(book, record, plan)


def site_sets(book: QueryBook, record: RecordData, **values: str) -> RecordData:
    key = next(k for k in record.rows if k.repeat_instrument == "data_query")
    record.rows[key] |= {f"dq_{name}": v for name, v in values.items()}
    return record


def query_row(record: RecordData) -> dict[str, str]:
    return next(v for k, v in record.rows.items() if k.repeat_instrument == "data_query")


def test_identity_depends_only_on_check_record_event_instance_and_field() -> None:
    assert query_id(finding("48")) == query_id(finding("70", message="other"))
    assert query_id(finding()) != query_id(finding(field="mba_cycle_day"))
    assert query_id(finding()) != query_id(finding(record="5"))
    assert fingerprint(finding("48")) != fingerprint(finding("70"))


def test_a_new_finding_creates_one_open_query_with_an_explicit_instance(book) -> None:
    plan, record = sync(book, empty(), [finding()])
    assert [c.action for c in plan.changes] == [Action.CREATE]
    row = plan.changes[0].row
    assert row["redcap_repeat_instrument"] == "data_query"
    assert row["redcap_repeat_instance"] == 1
    assert row["dq_status"] == "1"
    assert row["dq_kind"] == "2"
    assert row["dq_severity"] == "2"
    assert row["dq_opened_at"] == "2026-11-26 08:30:00"
    assert "dq_response" not in row
    assert "dq_verified" not in row
    assert query_row(record)["dq_id"] == query_id(finding())


def test_a_rerun_plans_nothing(book) -> None:
    _, record = sync(book, empty(), [finding()])
    plan, _ = sync(book, record, [finding()], now=LATER)
    assert plan.changes == []
    assert plan.unchanged == 1


def test_a_finding_gone_resolves_its_query(book) -> None:
    _, record = sync(book, empty(), [finding()])
    plan, record = sync(book, record, [], now=LATER)
    assert [c.action for c in plan.changes] == [Action.RESOLVE]
    assert query_row(record)["dq_status"] == "2"
    assert query_row(record)["dq_closed_at"] == "2026-11-27 08:30:00"


def test_a_finding_back_reopens_its_query_and_counts_it(book) -> None:
    _, record = sync(book, empty(), [finding()])
    _, record = sync(book, record, [])
    plan, record = sync(book, record, [finding()], now=LATER)
    assert [c.action for c in plan.changes] == [Action.REOPEN]
    row = query_row(record)
    assert (row["dq_status"], row["dq_reopen_count"], row["dq_closed_at"]) == ("1", "1", "")
    assert record.instances("queries_arm_1", "data_query") == [1]


def test_a_verified_query_stays_closed_while_its_values_stay(book) -> None:
    _, record = sync(book, empty(), [finding()])
    record = site_sets(book, record, verified="1", response="Confirmed with source")
    plan, record = sync(book, record, [finding()])
    assert [c.action for c in plan.changes] == [Action.VERIFY]
    assert query_row(record)["dq_status"] == "3"
    plan, record = sync(book, record, [finding()], now=LATER)
    assert plan.changes == []
    assert query_row(record)["dq_response"] == "Confirmed with source"


def test_a_verified_query_reopens_when_its_values_change_and_the_mark_is_cleared(book) -> None:
    _, record = sync(book, empty(), [finding("48")])
    record = site_sets(book, record, verified="1", response="ok")
    _, record = sync(book, record, [finding("48")])
    plan, record = sync(book, record, [finding("47")], now=LATER)
    assert [c.action for c in plan.changes] == [Action.REOPEN]
    row = query_row(record)
    assert (row["dq_status"], row["dq_verified"], row["dq_reopen_count"]) == ("1", "", "1")
    assert row["dq_response"] == "ok"


def test_an_open_query_follows_changed_values_without_a_transition(book) -> None:
    _, record = sync(book, empty(), [finding("48")])
    plan, record = sync(book, record, [finding("47")])
    assert [c.action for c in plan.changes] == [Action.UPDATE]
    assert set(plan.changes[0].row) >= {"dq_fingerprint", "dq_message"}
    assert "dq_status" not in plan.changes[0].row
    assert "day 47" in query_row(record)["dq_message"]


def test_queries_of_checks_that_did_not_run_are_left_alone(book) -> None:
    _, record = sync(book, empty(), [finding()])
    plan, _ = sync(book, record, [], ran=lambda rule: rule != "NK-WIN-01")
    assert plan.changes == []
    assert plan.not_run == 1


def test_new_queries_take_the_next_free_instances(book) -> None:
    _, record = sync(book, empty(), [finding()])
    plan, record = sync(book, record, [finding(), finding(field="mba_cycle_day")])
    assert [(c.action, c.instance) for c in plan.changes] == [(Action.CREATE, 2)]


def test_the_worker_never_writes_the_sites_fields_but_to_clear_a_verified_mark(book) -> None:
    _, record = sync(book, empty(), [finding("48")])
    record = site_sets(book, record, verified="1", response="ok")
    plans = []
    for value in ("48", "48", "47", "46"):
        plan, record = sync(book, record, [finding(value)])
        plans.append(plan)
    _, record = sync(book, record, [])
    written = [c.row for p in plans for c in p.changes]
    assert all("dq_response" not in row for row in written)
    assert all(row.get("dq_verified", "") == "" for row in written)


# --- Queries as summaries read them -------------------------------------------------------


def test_a_query_reads_back_where_it_is_what_it_is_and_when_it_was_opened(book) -> None:
    _, record = sync(book, empty(), [finding(instance=None)])
    [query] = book.read(record)
    assert (query.kind, query.severity) == (Kind.DEVIATION, Severity.MAJOR)
    assert (query.event, query.form, query.form_instance, query.field) == (
        "fu_m2_arm_1",
        "menstrual_blood_analysis",
        None,
        "mba_date",
    )
    assert query.opened_at == NOW
    assert query.is_open


def test_after_gives_the_queries_as_they_stand_once_the_plan_is_written(book) -> None:
    plan, written = sync(book, empty(), [finding()])
    assert book.after(empty(), plan.changes) == book.read(written)
    resolve = book.reconcile(written, [], ran=ran, now=LATER)
    [resolved] = book.after(written, resolve.changes)
    assert not resolved.is_open
    assert book.read(written)[0].is_open  # the record itself is left as it was


def test_a_query_this_run_describes_keeps_its_findings_kind_and_severity(book) -> None:
    """Within one run kind and severity stay typed: only rows read from REDCap are decoded."""
    plan = book.reconcile(empty(), [finding(severity=Severity.CRITICAL)], ran=ran, now=NOW)
    [create] = plan.changes
    assert (create.kind, create.severity) == (Kind.DEVIATION, Severity.CRITICAL)
    # Were the codes written for REDCap read back, this row would say nothing.
    unreadable = replace(create, row=create.row | {"dq_kind": "9", "dq_severity": "9"})
    [query] = book.after(empty(), [unreadable])
    assert (query.kind, query.severity) == (Kind.DEVIATION, Severity.CRITICAL)
    _, written = sync(book, empty(), [finding()])
    site_sets(book, written, kind="9")
    [resolve] = book.reconcile(written, [], ran=ran, now=LATER).changes
    assert resolve.kind is None  # a resolution describes no finding: the stored row is read
    [resolved] = book.after(written, [resolve])
    assert resolved.kind is None


def test_a_reopened_query_is_a_new_occurrence(book) -> None:
    _, record = sync(book, empty(), [finding()])
    [first] = book.read(record)
    _, record = sync(book, record, [], now=LATER)
    _, record = sync(book, record, [finding()], now=LATER)
    [reopened] = book.read(record)
    assert reopened.query_id == first.query_id
    assert reopened.occurrence != first.occurrence
    assert first.occurrence == f"{first.query_id}/20261126T083000/0"


def test_unreadable_stamps_and_codes_read_as_unknown(book) -> None:
    _, record = sync(book, empty(), [finding()])
    site_sets(book, record, opened_at="yesterday", kind="9", severity="")
    [query] = book.read(record)
    assert (query.opened_at, query.kind, query.severity) == (None, None, None)
