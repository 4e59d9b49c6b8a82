"""One run's summaries end to end, in process: queue, ledger, delivery, dry run."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.notify import AS_OF, NOW, settings_for, stored_query, sync_result
from tests.support.smtpd import free_port, smtp_server
from worker.core.findings import Severity
from worker.errors import ConfigError
from worker.notify import after_sync
from worker.notify.outbox import LEDGER_FILE, Outbox
from worker.session import summary_options
from worker.state import StateDir


def result():
    return sync_result(
        {
            "8": [stored_query(1)],
            "9": [stored_query(1, rule="NK-TRT-04", severity=Severity.MAJOR)],
        }
    )


def run(settings, *, dry_run=False, now=NOW, sync=None):
    state = StateDir(settings.state_dir)
    options = summary_options(settings)
    return after_sync(options, state, sync or result(), as_of=AS_OF, now=now, dry_run=dry_run)


def test_with_no_smtp_host_the_summaries_are_eml_files_and_their_paths_reported(tmp_path):
    settings = settings_for(tmp_path)
    outcome = run(settings)
    assert outcome.ok
    assert outcome.sent == []
    assert len(outcome.written) == 2  # the critical alert and the first digest
    sent = settings.state_dir / "outbox" / "sent"
    for line in outcome.written:
        assert str(sent) in line
    assert sorted(p.name.split("-")[0] for p in sent.glob("*.eml")) == ["critical", "digest"]


def test_a_second_run_with_nothing_new_sends_nothing(tmp_path, smtpd):
    settings = settings_for(tmp_path, smtp_host="127.0.0.1", smtp_port=smtpd.port)
    first = run(settings)
    second = run(settings, now=NOW + timedelta(days=2))
    assert len(first.sent) == 2
    assert second.sent == second.written == second.failed == []
    assert len(smtpd.messages) == 2


def test_a_dry_run_writes_what_it_would_send_and_remembers_nothing(tmp_path, smtpd):
    settings = settings_for(tmp_path, smtp_host="127.0.0.1", smtp_port=smtpd.port)
    outcome = run(settings, dry_run=True)
    assert len(outcome.written) == 2
    assert all("dry run: not sent" in line for line in outcome.written)
    assert smtpd.messages == []
    assert not (settings.state_dir / LEDGER_FILE).exists()
    assert Outbox(StateDir(settings.state_dir)).queued() == []
    assert len(list((settings.state_dir / "outbox" / "dry-run").glob("*.eml"))) == 2
    assert len(run(settings).sent) == 2  # the real run still announces everything


@pytest.mark.e2e
def test_relay_down_then_up_sends_each_summary_exactly_once(tmp_path):
    port = free_port()
    settings = settings_for(tmp_path, smtp_host="127.0.0.1", smtp_port=port)
    down = run(settings)
    assert not down.ok
    assert len(down.failed) == 2
    with smtp_server(port) as server:
        up = run(settings, now=NOW + timedelta(hours=1))
        again = run(settings, now=NOW + timedelta(hours=2))
    assert up.ok
    assert len(up.sent) == 2
    assert again.sent == []
    # With no study_name set, subjects name the study by its REDCap project title.
    study = "[REDCap worker: dNK intrauterine infusion for uterine NK dysfunction]"
    assert sorted(m.subject for m in server.messages) == [
        f"{study} CRITICAL: 1 new protocol deviation",
        f"{study} Deviation digest: 1 new, 2 open",
    ]


def test_a_refused_transport_is_a_config_error_and_the_summaries_wait(tmp_path):
    settings = settings_for(tmp_path, smtp_host="smtp.example.org", security="none")
    with pytest.raises(ConfigError, match="loopback"):
        run(settings)
    assert len(Outbox(StateDir(settings.state_dir)).queued()) == 2
    assert (settings.state_dir / LEDGER_FILE).exists()


def test_a_crash_before_the_ledger_was_saved_queues_the_same_files_again(tmp_path, monkeypatch):
    settings = settings_for(tmp_path, smtp_host="127.0.0.1", smtp_port=free_port())
    import worker.notify as notify

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(notify, "save_ledger", crash)
    with pytest.raises(KeyboardInterrupt):
        run(settings)
    queued = {p.name for p in Outbox(StateDir(settings.state_dir)).queued()}
    monkeypatch.undo()
    run(settings)
    assert {p.name for p in Outbox(StateDir(settings.state_dir)).queued()} == queued
