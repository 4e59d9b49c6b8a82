"""The worker's REDCap client: PyCap 2.7.0 with timeouts, a rate ceiling, bounded retries
and a token that never leaks. See ``RedcapClient``."""

from worker.redcap_client.client import RedcapClient
from worker.redcap_client.failures import RedcapRequestFailed, RedcapRequestRefused
from worker.redcap_client.policy import RetryPolicy
from worker.redcap_client.ratelimit import RateLimiter
from worker.redcap_client.transport import retry_log_level

__all__ = [
    "RateLimiter",
    "RedcapClient",
    "RedcapRequestFailed",
    "RedcapRequestRefused",
    "RetryPolicy",
    "retry_log_level",
]
