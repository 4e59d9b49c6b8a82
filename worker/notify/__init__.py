"""Deviation summaries by email (issue: deviation summaries). Placeholder until built."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from worker.config import Settings
from worker.state import StateDir
from worker.sync import SyncResult


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
    settings: Settings,
    state: StateDir,
    result: SyncResult,
    *,
    as_of: date,
    now: datetime,
    dry_run: bool,
) -> NotifyOutcome:
    return NotifyOutcome()
