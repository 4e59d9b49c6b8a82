"""Delivering the outbox: each queued summary sent once, or kept for the next run.

Order for each message: it is already in the outbox (written before anything is tried);
send it; record its key with ``mark_sent``; remove it from the outbox. A message whose key
is already recorded is only removed (the run that sent it died before removing it).

So a summary is never lost: until the relay has accepted it, it stays in the outbox. The
one way to send one twice is a crash in the instant between the relay accepting it and
its key being recorded; then the next run sends it again, with the same Message-ID, which
lets mail systems drop the copy. For deviation alerts a rare duplicate is the lesser harm;
marking before sending would instead lose the summary to a crash in that instant.
"""

from __future__ import annotations

import ssl
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import structlog

from worker.config import EmailSettings
from worker.notify.message import AUDIENCE_HEADER, recipients_of, set_recipients
from worker.notify.outbox import Outbox
from worker.notify.plan import recipients_for
from worker.notify.smtp import SendError, SmtpSender, check_transport
from worker.state import StateDir

log = structlog.get_logger(__name__)


class Report(Protocol):
    sent: list[str]
    written: list[str]
    failed: list[str]


def deliver(
    outbox: Outbox,
    state: StateDir,
    email: EmailSettings,
    report: Report,
    *,
    context: ssl.SSLContext | None = None,
) -> None:
    queued = outbox.queued()
    if not queued:
        return
    if email.smtp_host is None:
        for path in queued:
            _file_away(outbox, state, path, report, "no SMTP host configured")
        return
    check_transport(email)  # a refused setting is a config error; the outbox keeps the mail
    sent_before = state.sent_keys()
    remaining = list(queued)
    try:
        with SmtpSender(email, context=context) as smtp:
            while remaining:
                _send_one(smtp, outbox, state, remaining[0], sent_before, report, email)
                remaining.pop(0)
    except SendError as exc:
        # The relay could not be reached, refused the login or dropped the connection:
        # nothing more can go in this run.
        for path in remaining:
            _keep(path, str(exc), report)


def _send_one(
    smtp: SmtpSender,
    outbox: Outbox,
    state: StateDir,
    path: Path,
    sent_before: set[str],
    report: Report,
    email: EmailSettings,
) -> None:
    msg = outbox.load(path)
    key = outbox.key_of(path, msg)
    if key in sent_before:
        outbox.remove(path)
        return
    _address(msg, email)
    to = recipients_of(msg)
    if not to:
        _file_away(outbox, state, path, report, "no recipients configured for it")
        return
    try:
        refused = smtp.send(msg)
    except SendError as exc:
        if not smtp.connected:
            raise
        _keep(path, str(exc), report)
        return
    state.mark_sent(key)
    outbox.remove(path)
    accepted = [a for a in to if a not in refused]
    report.sent.append(f"summary sent: {key} to {', '.join(accepted)}")
    log.info("summary sent", key=key, recipients=len(accepted))
    if refused:
        # The others have it: sending again would duplicate theirs, so it is not kept.
        report.failed.append(
            f"summary {key}: the relay refused {', '.join(sorted(refused))} (not retried)"
        )


def _address(msg: EmailMessage, email: EmailSettings) -> None:
    """Address the message to the recipients the settings name now."""
    audience = msg.get(AUDIENCE_HEADER)
    if audience:
        set_recipients(msg, recipients_for(str(audience), email))


def _file_away(outbox: Outbox, state: StateDir, path: Path, report: Report, reason: str) -> None:
    msg = outbox.load(path)
    key = outbox.key_of(path, msg)
    target = outbox.file_away(path)
    state.mark_sent(key)
    report.written.append(f"summary written to {target} ({reason})")


def _keep(path: Path, reason: str, report: Report) -> None:
    report.failed.append(
        f"summary not sent: {path.stem} ({reason}); kept in {path}, the next run sends it"
    )
    log.error("summary not sent", key=path.stem, error=reason)
