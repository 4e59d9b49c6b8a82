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

from worker.config import RedcapSettings, Settings
from worker.errors import ConfigError
from worker.redcap_client import RedcapClient, RetryPolicy
from worker.stopping import StopCheck

if TYPE_CHECKING:  # the email package is imported by the commands that send summaries only
    from worker.notify.snapshot import SummaryOptions
    from worker.sync_run import SyncOptions


def today_in(timezone: str) -> date:
    return datetime.now(ZoneInfo(timezone)).date()


def make_client(cfg: RedcapSettings, *, should_stop: StopCheck | None = None) -> RedcapClient:
    """A client from the ``[redcap]`` settings; URL and token must be set. With
    ``should_stop``, no request attempt starts after a stop and retry waits end at one."""
    if not cfg.url:
        raise ConfigError(
            "redcap.url is not set: set REDCAP_API_URL (or [redcap] url), "
            "or pass --sandbox to try the bundled sandbox"
        )
    token = cfg.resolved_token()
    if token is None:
        raise ConfigError("the REDCap API token is not set: set REDCAP_API_TOKEN or _TOKEN_FILE")
    return RedcapClient(
        cfg.url,
        token,
        timeout=(cfg.connect_timeout_s, cfg.timeout_s),
        verify_ssl=cfg.verify_ssl,
        retry=RetryPolicy(
            attempts=cfg.retry_attempts,
            base_delay=cfg.retry_base_delay_s,
            max_delay=cfg.retry_max_delay_s,
        ),
        max_requests_per_second=cfg.max_requests_per_second,
        batch_size=cfg.batch_size,
        max_concurrent_requests=cfg.max_concurrent_requests,
        allow_insecure_http=cfg.allow_insecure_http,
        should_stop=should_stop,
    )


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
