"""How often and how patiently a failed request is tried again."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from worker.errors import ConfigError


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with jitter.

    ``attempts`` counts every try, the first included (5 = 1 try + 4 retries). The n-th retry
    waits ``base_delay * 2**(n-1)`` capped at ``max_delay``, scaled by a random factor in
    [0.5, 1] ("equal jitter": spreads retries out but never collapses to a tight loop). A
    server's ``Retry-After`` raises the wait to what it asked for, up to ``retry_after_max``.
    """

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    retry_after_max: float = 120.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ConfigError(f"retry attempts must be at least 1, not {self.attempts}")
        for name in ("base_delay", "max_delay", "retry_after_max"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ConfigError(f"retry {name} must be a non-negative number, not {value}")

    def delay(
        self,
        retry: int,
        *,
        retry_after: float | None = None,
        rng: Callable[[], float] = random.random,
    ) -> float:
        """Seconds to wait before retry number ``retry`` (1 = the first retry)."""
        exponential = min(self.max_delay, self.base_delay * 2.0 ** max(0, retry - 1))
        wait = exponential * (0.5 + 0.5 * rng())
        if retry_after is not None:
            wait = max(wait, min(max(retry_after, 0.0), self.retry_after_max))
        return wait


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date; None if absent/bad."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # RFC 9110 dates are GMT
            return None
        seconds = when.timestamp() - now()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)
