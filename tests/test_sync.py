"""``run_sync`` (worker/sync.py) in-process against the demo sandbox: what a dry run plans is
what a sync writes, every change is announced, a stop before the first export writes nothing,
and the counts a summary shows. The query lifecycle across runs, refusals, bans and crashes:
tests/e2e/test_sync.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from tests.support.projects import AS_OF, REPO
from tests.support.worker_process import worker_env
from worker.config import Settings, load_settings
from worker.core.outcome import RunOutcome
from worker.core.queries import Action, Change
from worker.pipeline import make_client
from worker.redcap_client import RedcapClient
from worker.session import sync_options
from worker.sync import run_sync
from worker.sync_run import SyncStopped

pytestmark = pytest.mark.e2e

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture
def settings(demo_sandbox, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key, value in worker_env(demo_sandbox.url, demo_sandbox.token).items():
        monkeypatch.setenv(key, value)
    return load_settings(REPO / "config.example.toml")


def sync(settings: Settings, **options) -> RunOutcome:
    with make_client(settings.redcap) as client:
        return run_sync(client, sync_options(settings), as_of=AS_OF, now=NOW, **options)


def plan_of(result: RunOutcome) -> list[tuple[str, str, int]]:
    return sorted((c.record, c.rule, c.instance) for c in result.plan.changes)


def test_a_dry_run_plans_exactly_what_the_sync_then_writes(demo_sandbox, settings) -> None:
    dry = sync(settings, dry_run=True)
    assert dry.written == 0
    assert not list(demo_sandbox.request_log.imports())
    real = sync(settings)
    assert plan_of(real) == plan_of(dry)
    assert real.written == len(real.plan.changes)
    assert real.complete


def test_every_planned_change_is_announced(settings) -> None:
    announced: list[Change] = []
    result = sync(settings, dry_run=True, on_change=announced.append)
    assert sorted(announced, key=lambda c: (c.record, c.instance)) == sorted(
        result.plan.changes, key=lambda c: (c.record, c.instance)
    )


def test_a_stop_before_the_first_export_batch_writes_nothing(demo_sandbox, settings) -> None:
    with pytest.raises(SyncStopped, match="nothing written"):
        sync(settings, should_stop=lambda: True)
    assert not list(demo_sandbox.request_log.imports())


def test_the_counts_a_summary_shows(settings) -> None:
    first = sync(settings)
    counts = first.counts()
    assert counts["findings"] == len(first.findings)
    assert counts["created"] == first.plan.count(Action.CREATE) > 0
    assert counts["write_errors"] == 0
    again = sync(settings).counts()
    assert (again["created"], again["resolved"], again["unchanged"]) == (0, 0, counts["created"])


def test_a_first_sync_of_many_records_starts_the_existence_listing_before_planning(
    demo_sandbox, settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every record with a finding gets its first queries: more records than one request
    names, so the existence check will read the listing of every record, and it is started
    before the plan is made. A second sync, with the queries in place, starts none."""
    started: list[int] = []
    original = RedcapClient.existence_listing_started

    def spy(client: RedcapClient) -> Callable[[], set[str]]:
        started.append(len(list(demo_sandbox.request_log.imports())))
        return original(client)

    monkeypatch.setattr(RedcapClient, "existence_listing_started", spy)
    monkeypatch.setenv("WORKER_REDCAP__BATCH_SIZE", "2")
    settings = load_settings(REPO / "config.example.toml")
    first = sync(settings)
    assert first.written == len(first.plan.changes) > 0
    assert len({c.record for c in first.plan.changes}) > 2
    assert started == [0]  # once, before any write
    second = sync(settings)
    assert second.complete
    assert started == [0]
