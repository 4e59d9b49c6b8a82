"""Delivering the outbox: sent once, kept when the relay is down, files when no relay."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from tests.support.notify import email_settings, message
from tests.support.smtpd import free_port, smtp_server
from worker.errors import ConfigError
from worker.notify.delivery import deliver
from worker.notify.outbox import Outbox


@dataclass
class Report:
    sent: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def queue(state, key="critical-study-abc", recipients=("pi@example.org",)) -> Outbox:
    outbox = Outbox(state)
    msg = message(recipients=recipients)
    del msg["X-REDCap-Worker-Summary"]
    msg["X-REDCap-Worker-Summary"] = key
    outbox.queue(key, msg)
    return outbox


def test_with_no_smtp_host_summaries_are_written_as_files(state) -> None:
    outbox = queue(state)
    report = Report()
    deliver(outbox, state, email_settings(), report)
    target = state.outbox / "sent" / "critical-study-abc.eml"
    assert report.written == [f"summary written to {target} (no SMTP host configured)"]
    assert target.is_file()
    assert outbox.queued() == []
    assert report.failed == []


def test_a_sent_summary_is_marked_removed_and_not_sent_again(state, smtpd) -> None:
    outbox = queue(state)
    email = email_settings(smtp_host="127.0.0.1", smtp_port=smtpd.port)
    report = Report()
    deliver(outbox, state, email, report)
    assert report.sent == ["summary sent: critical-study-abc to pi@example.org"]
    assert "critical-study-abc" in state.sent_keys()
    assert outbox.queued() == []
    deliver(outbox, state, email, Report())
    assert len(smtpd.messages) == 1


def test_with_the_relay_down_every_summary_is_kept_and_reported(state) -> None:
    outbox = queue(state, "critical-study-abc")
    queue(state, "digest-study-def")
    report = Report()
    email = email_settings(smtp_host="127.0.0.1", smtp_port=free_port())
    deliver(outbox, state, email, report)
    assert len(report.failed) == 2
    assert all("kept in" in line and "next run sends it" in line for line in report.failed)
    assert "ConnectionRefusedError" in report.failed[0]
    assert len(outbox.queued()) == 2
    assert state.sent_keys() == set()


def test_a_summary_already_marked_sent_is_removed_not_resent(state, smtpd) -> None:
    # The run that sent it died between marking it and removing the file.
    outbox = queue(state)
    state.mark_sent("critical-study-abc")
    deliver(outbox, state, email_settings(smtp_host="127.0.0.1", smtp_port=smtpd.port), Report())
    assert smtpd.messages == []
    assert outbox.queued() == []


def test_recipients_are_those_configured_when_it_is_sent(state, smtpd) -> None:
    outbox = queue(state, recipients=("old@example.org",))
    email = email_settings(smtp_host="127.0.0.1", smtp_port=smtpd.port, critical=["new@x.org"])
    deliver(outbox, state, email, Report())
    [received] = smtpd.messages
    assert received.rcpt_tos == ["new@x.org"]
    assert received.message["To"] == "new@x.org"


def test_a_summary_nobody_is_configured_to_get_is_filed_not_lost(state, smtpd) -> None:
    outbox = queue(state)
    email = email_settings(smtp_host="127.0.0.1", smtp_port=smtpd.port, critical=[])
    report = Report()
    deliver(outbox, state, email, report)
    assert smtpd.messages == []
    assert report.written == [
        f"summary written to {state.outbox / 'sent' / 'critical-study-abc.eml'} "
        "(no recipients configured for it)"
    ]


def test_a_refused_setting_keeps_the_summary_and_is_a_config_error(state) -> None:
    outbox = queue(state)
    with pytest.raises(ConfigError):
        deliver(outbox, state, email_settings(smtp_host="smtp.example.org"), Report())
    assert len(outbox.queued()) == 1


@pytest.mark.e2e
def test_the_next_run_sends_what_the_last_one_kept(state) -> None:
    port = free_port()
    outbox = queue(state)
    email = email_settings(smtp_host="127.0.0.1", smtp_port=port)
    deliver(outbox, state, email, Report())
    with smtp_server(port) as server:
        report = Report()
        deliver(outbox, state, email, report)
    assert len(server.messages) == 1
    assert report.failed == []
    assert outbox.queued() == []
