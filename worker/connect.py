"""A REDCap client from the ``[redcap]`` settings.

What a command needs before its first request, and nothing of the checks: their machinery
is imported while REDCap answers the structure requests (``cli/check.py``)."""

from __future__ import annotations

from worker.config import RedcapSettings
from worker.errors import ConfigError
from worker.redcap_client import RedcapClient, RetryPolicy
from worker.stopping import StopCheck


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
