"""What one command run, or one scheduled run, works with: the settings, a REDCap client and
the as-of date; and the options the library takes, built from the settings.

Opened by the command line (``worker.cli.common``) and the scheduler. Only they, the jobs
that glue a sync to both, and this module read the whole settings; every library call gets
the section, or the small options, it needs.

A session opens before the checks' machinery is imported (a command's first requests go
out while it is): this module imports the settings and the client, nothing of the checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from worker.config import Settings
from worker.redcap_client import RedcapClient

if TYPE_CHECKING:  # the email package is imported by the commands that send summaries only
    from worker.notify.snapshot import SummaryOptions
    from worker.sync_run import SyncOptions


def today_in(timezone: str) -> date:
    return datetime.now(ZoneInfo(timezone)).date()


@dataclass
class Session:
    settings: Settings
    client: RedcapClient
    as_of: date


def sync_options(settings: Settings) -> SyncOptions:
    """What a sync needs of the settings."""
    from worker.sync_run import SyncOptions

    return SyncOptions(
        study=settings.study,
        queries=settings.queries,
        state_dir=settings.state_dir,
        server_timezone=settings.redcap.server_timezone,
        max_error_share=settings.check.max_error_share,
    )


def summary_options(settings: Settings) -> SummaryOptions:
    """What the deviation summaries need of the settings."""
    from worker.notify.snapshot import SummaryOptions

    return SummaryOptions(
        email=settings.email,
        redcap_url=settings.redcap.url,
        timezone=settings.schedule.timezone,
    )
