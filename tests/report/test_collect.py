"""What the report takes from a run: deviations, open queries by record, timelines."""

from __future__ import annotations

import json

from tests.support.nk_trial import ruleset
from tests.support.projects import AS_OF, REPO
from tests.support.report import collect
from worker.config import load_settings
from worker.core.findings import Kind
from worker.pipeline import make_client
from worker.session import sync_options
from worker.sync import run_sync

SEEDED = json.loads((REPO / "demo" / "nk_trial" / "demo_findings.json").read_text())
CHECKS = {c.id: c for c in ruleset().checks}
DEVIATIONS = [f for f in SEEDED if f["rule"] in CHECKS and CHECKS[f["rule"]].kind is Kind.DEVIATION]


def where(rows) -> set[tuple[str, str]]:
    return {(r.record, r.rule) for r in rows}


def test_every_seeded_deviation_is_listed_before_any_sync(demo_rows) -> None:
    data = collect(demo_rows)
    assert where(data.deviations) == {(f["record"], f["rule"]) for f in DEVIATIONS}
    assert {d.query for d in data.deviations} == {"not written yet"}
    assert data.queries == []
    assert [d.severity.rank for d in data.deviations] == sorted(
        (d.severity.rank for d in data.deviations), reverse=True
    )


def test_one_timeline_per_treated_participant_with_every_window(demo_rows) -> None:
    data = collect(demo_rows)
    treated = dict(data.progress)["Treated (first infusion given)"]
    assert len(data.timelines) == treated
    assert all(len(t.rows) == 6 for t in data.timelines)
    assert data.wording.schedule_anchor == "the first infusion"
    assert data.failed_records == []


def test_messages_are_left_out_unless_values_are_allowed(demo_rows) -> None:
    assert all(d.message is None for d in collect(demo_rows).deviations)
    assert all(d.message for d in collect(demo_rows, include_values=True).deviations)


def test_open_queries_are_read_from_the_query_form(demo_sandbox, monkeypatch) -> None:
    monkeypatch.setenv("REDCAP_API_URL", demo_sandbox.url)
    monkeypatch.setenv("REDCAP_API_TOKEN", demo_sandbox.token)
    settings = load_settings(REPO / "config.example.toml")
    with make_client(settings.redcap) as client:
        run_sync(client, sync_options(settings), as_of=AS_OF)
    data = collect(demo_sandbox.rows())
    assert sum(len(r.queries) for r in data.queries) == len(SEEDED)
    assert {d.query for d in data.deviations} == {"open"}
    assert {d.days_open for d in data.deviations} == {0}
    by_record = {r.record: r for r in data.queries}
    assert by_record["18"].deviations == sum(f["record"] == "18" for f in DEVIATIONS)
    assert by_record["18"].oldest_days == 0
