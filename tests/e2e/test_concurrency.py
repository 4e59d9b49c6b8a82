"""Several requests at once (``redcap.max_concurrent_requests``), through PyCap against the
sandbox: the same findings and the same query writes as one request after another, never
above the rate ceiling nor the bound on requests in flight, and a failed batch retried
alone."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bench.sandbox import max_in_window
from tests.conftest import AS_OF, DEMO_PROJECT, REPO, run_worker, worker_env
from worker import sync as sync_module
from worker.config import Settings, load_settings
from worker.core.outcome import RunOutcome
from worker.pipeline import make_client
from worker.sandbox import DEMO_TOKEN, Sandbox
from worker.sandbox.reqlog import RequestEntry
from worker.session import sync_options
from worker.sync import run_sync

pytestmark = pytest.mark.e2e

CONFIG = REPO / "config.example.toml"
SEEDED = json.loads((REPO / "demo" / "nk_trial" / "demo_findings.json").read_text())
NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
# Small batches, so a run of the demo makes many of them and they overlap.
BATCH_SIZE = "3"
WRITE_BATCH_ROWS = 10


@pytest.fixture
def fresh_sandbox() -> Iterator[Sandbox]:
    with Sandbox.from_folder(
        project_dir=DEMO_PROJECT, data="demo", as_of=AS_OF, token=DEMO_TOKEN
    ) as sandbox:
        yield sandbox


def settings_for(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, *, at_once: int, **extra: str
) -> Settings:
    env = worker_env(
        sandbox.url,
        sandbox.token,
        WORKER_REDCAP__BATCH_SIZE=BATCH_SIZE,
        WORKER_REDCAP__MAX_CONCURRENT_REQUESTS=str(at_once),
        **extra,
    )
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return load_settings(CONFIG)


def first_sync(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, *, at_once: int) -> RunOutcome:
    settings = settings_for(sandbox, monkeypatch, at_once=at_once)
    monkeypatch.setattr(sync_module, "WRITE_BATCH_ROWS", WRITE_BATCH_ROWS)
    with make_client(settings.redcap) as client:
        return run_sync(client, sync_options(settings), as_of=AS_OF, now=NOW)


def batch_exports(entries: list[RequestEntry]) -> list[tuple[str, ...]]:
    return [
        e.records_requested
        for e in entries
        if e.content == "record" and e.action == "export" and e.records_requested
    ]


def test_concurrent_and_sequential_checks_print_the_same_findings_byte_for_byte(
    fresh_sandbox: Sandbox,
) -> None:
    # The first batches answer last: the results still come in the batches' order.
    fresh_sandbox.faults.plan_batch_exports("latency:400", "latency:200")
    printed = {}
    for at_once in (3, 1):
        env = worker_env(
            fresh_sandbox.url,
            fresh_sandbox.token,
            WORKER_REDCAP__BATCH_SIZE=BATCH_SIZE,
            WORKER_REDCAP__MAX_CONCURRENT_REQUESTS=str(at_once),
        )
        run = run_worker(
            "check", "--config", str(CONFIG), "--as-of", AS_OF.isoformat(), "--format", "json",
            env=env,
        )  # fmt: skip
        assert run.returncode in (0, 1), run.stderr
        printed[at_once] = run.stdout
    assert len(json.loads(printed[1])["findings"]) == len(SEEDED)
    assert printed[3] == printed[1]


def test_concurrent_and_sequential_syncs_write_the_same_queries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    outcomes = {}
    for at_once in (1, 3):
        with Sandbox.from_folder(
            project_dir=DEMO_PROJECT, data="demo", as_of=AS_OF, token=DEMO_TOKEN
        ) as sandbox:
            sandbox.faults.plan_imports("latency:300")  # the first batch is written last
            result = first_sync(sandbox, monkeypatch, at_once=at_once)
            imports = sandbox.request_log.imports()
            outcomes[at_once] = {
                "findings": result.findings,
                "written": result.written,
                "stored": sandbox.rows(),
                "imports": Counter((e.records_written, e.rows_sent, e.status) for e in imports),
                "exports": Counter(batch_exports(list(sandbox.request_log))),
            }
    sequential, concurrent = outcomes[1], outcomes[3]
    assert sequential["written"] == len(SEEDED)
    assert len(sequential["imports"]) > 3  # several batches, so several at once
    assert concurrent == sequential


def test_the_rate_ceiling_and_the_bound_on_requests_in_flight_hold_with_concurrency(
    fresh_sandbox: Sandbox, tmp_path
) -> None:
    # Every request takes a while, so several are in flight together.
    fresh_sandbox.faults.configure(latency_ms=300)
    env = worker_env(
        fresh_sandbox.url,
        fresh_sandbox.token,
        WORKER_STATE_DIR=str(tmp_path / "state"),
        WORKER_REDCAP__BATCH_SIZE="2",
        WORKER_REDCAP__MAX_REQUESTS_PER_SECOND="5",
        WORKER_REDCAP__MAX_CONCURRENT_REQUESTS="3",
    )
    run = run_worker("sync", "--config", str(CONFIG), "--as-of", AS_OF.isoformat(), env=env)
    assert run.returncode == 0, run.stderr
    entries = fresh_sandbox.request_log
    arrivals = [e.received for e in entries if e.received is not None]
    assert len(batch_exports(list(entries))) > 5
    assert max_in_window(arrivals, 1.0) <= 5
    assert max_in_window(arrivals, 60.0) <= 300
    assert 1 < entries.most_at_once() <= 3


def test_a_failed_export_batch_among_concurrent_ones_is_retried_alone(
    fresh_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh_sandbox.faults.plan_batch_exports("ok", "500")  # the second batch to arrive
    result = first_sync(fresh_sandbox, monkeypatch, at_once=3)
    asked = Counter(batch_exports(list(fresh_sandbox.request_log)))
    [faulted] = fresh_sandbox.request_log.faulted()
    assert faulted.fault == "500"
    assert asked.pop(faulted.records_requested) == 2
    assert set(asked.values()) == {1}
    assert len(result.findings) == len(SEEDED)
    assert result.written == len(SEEDED)


def test_a_failed_import_batch_among_concurrent_ones_is_retried_alone(
    fresh_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh_sandbox.faults.plan_imports("ok", "500")
    result = first_sync(fresh_sandbox, monkeypatch, at_once=3)
    imports = fresh_sandbox.request_log.imports()
    [faulted] = imports.faulted()
    assert faulted.fault == "500"
    written = [e for e in imports if e.ok]
    # One request more than batches, and every row sent in exactly one written batch: the
    # failed batch alone was sent again, once.
    assert len(written) == len(imports) - 1
    assert sum(e.rows_sent for e in written) == len(SEEDED)
    assert len({e.records_written for e in written}) == len(written)
    assert result.written == len(SEEDED)
    stored = [r for r in fresh_sandbox.rows() if r.get("redcap_repeat_instrument") == "data_query"]
    assert len(stored) == len(SEEDED)
