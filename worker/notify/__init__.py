"""Deviation summaries by email, after each sync.

One run: take what the run's outcome knows (``snapshot``), decide against the ledger which summaries
are due and for whom (``plan``), render each as text and HTML (``summary``, ``render``,
``message``), queue them in the state folder's outbox and save the ledger (``outbox``),
then deliver the outbox: send by SMTP, or write ``.eml`` files when no SMTP host is set
(``delivery``, ``smtp``). A dry run writes what it would send to ``outbox/dry-run/`` and
changes nothing else.

Queued summaries are written before the ledger records their deviations as announced, and
the ledger before anything is sent: a crash at any point leaves either the summary in the
outbox or its deviations still unannounced (to be queued again under the same key), never
neither. Delivery's own reasoning is in ``delivery.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import structlog

from worker.core.outcome import RunOutcome
from worker.notify.delivery import deliver
from worker.notify.message import build_message
from worker.notify.outbox import Outbox, load_ledger, save_ledger
from worker.notify.plan import plan_summaries, recipients_for
from worker.notify.quarantine import AUDIENCE as DATA_MANAGER
from worker.notify.quarantine import quarantine_notice
from worker.notify.render import render as render_summary
from worker.notify.snapshot import SummaryOptions, build_snapshot
from worker.state import StateDir

log = structlog.get_logger(__name__)


@dataclass
class NotifyOutcome:
    """What happened to the summaries of one run."""

    sent: list[str] = field(default_factory=list)  # one line each: key, recipients
    written: list[str] = field(default_factory=list)  # .eml files (dry run or no SMTP host)
    failed: list[str] = field(default_factory=list)  # one line each, kept for the next run

    @property
    def ok(self) -> bool:
        return not self.failed


def after_sync(
    options: SummaryOptions,
    state: StateDir,
    result: RunOutcome,
    *,
    as_of: date,
    now: datetime,
    dry_run: bool,
) -> NotifyOutcome:
    """Queue and deliver the summaries due after a sync whose outcome is ``result``."""
    outcome = NotifyOutcome()
    email = options.email
    snapshot = build_snapshot(result, options, as_of=as_of, now=now)
    planned = plan_summaries(
        snapshot, load_ledger(state), email, now=now, timezone=options.timezone
    )
    outbox = Outbox(state)
    for out in planned.outgoing:
        msg = build_message(
            key=out.key,
            audience=out.audience,
            subject=out.summary.subject,
            rendered=render_summary(out.summary, report_url=email.report_url),
            sender=email.sender,
            recipients=recipients_for(out.audience, email),
            now=now,
        )
        if dry_run:
            path = outbox.write_dry_run(out.key, msg)
            outcome.written.append(f"summary written to {path} (dry run: not sent)")
        else:
            outbox.queue(out.key, msg)
            log.info("summary queued", key=out.key, new=len(out.summary.new))
    notice, told = quarantine_notice(result.quarantined, result.titles, planned.ledger.quarantines)
    if notice is not None:
        msg = build_message(
            key=notice.key,
            audience=DATA_MANAGER,
            subject=notice.subject,
            rendered=notice.rendered,
            sender=email.sender,
            recipients=recipients_for(DATA_MANAGER, email),
            now=now,
        )
        if dry_run:
            path = outbox.write_dry_run(notice.key, msg)
            outcome.written.append(f"quarantine notice written to {path} (dry run: not sent)")
        else:
            outbox.queue(notice.key, msg)
            log.info("quarantine notice queued", key=notice.key)
    planned.ledger.quarantines = told
    if dry_run:
        return outcome
    save_ledger(state, planned.ledger)
    deliver(outbox, state, email, outcome)
    return outcome
