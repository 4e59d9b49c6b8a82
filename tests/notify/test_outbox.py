"""The outbox folder and the ledger: atomic files, critical first, nothing half-written."""

from __future__ import annotations

import os
from datetime import timedelta

from tests.support.notify import NOW, message
from worker.notify.outbox import LEDGER_FILE, Outbox, load_ledger, save_ledger
from worker.notify.plan import Ledger


def test_the_ledger_round_trips_and_starts_empty(state) -> None:
    assert load_ledger(state) == Ledger()
    ledger = Ledger(announced=["a/1/0"], pending=["b/1/0"], last_digest_at=NOW)
    save_ledger(state, ledger)
    assert load_ledger(state) == ledger


def test_an_unreadable_ledger_costs_a_re_announcement_not_a_crash(state) -> None:
    (state.path / LEDGER_FILE).write_text("{not json")
    assert load_ledger(state) == Ledger()
    (state.path / LEDGER_FILE).write_text('{"last_digest_at": "yesterday"}')
    assert load_ledger(state).last_digest_at is None


def test_queued_messages_come_back_critical_first_then_oldest_first(state) -> None:
    outbox = Outbox(state)
    old = outbox.queue("digest-study-1", message())
    new = outbox.queue("digest-study-2", message())
    crit = outbox.queue("critical-study-3", message())
    stamp = (NOW - timedelta(days=1)).timestamp()
    os.utime(old, (stamp, stamp))
    assert outbox.queued() == [crit, old, new]
    assert not list(state.outbox.glob(".*.tmp"))  # no temporary file left behind


def test_a_queued_message_reads_back_with_its_key(state) -> None:
    outbox = Outbox(state)
    path = outbox.queue("critical-study-abc", message())
    msg = outbox.load(path)
    assert outbox.key_of(path, msg) == "critical-study-abc"
    assert msg["Subject"].startswith("[REDCap worker]")


def test_filed_away_and_dry_run_messages_are_not_queued(state) -> None:
    outbox = Outbox(state)
    filed = outbox.file_away(outbox.queue("critical-study-abc", message()))
    dry = outbox.write_dry_run("digest-study-def", message())
    assert filed == state.outbox / "sent" / "critical-study-abc.eml"
    assert dry == state.outbox / "dry-run" / "digest-study-def.eml"
    assert filed.is_file()
    assert dry.is_file()
    assert outbox.queued() == []
