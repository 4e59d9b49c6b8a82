"""Keep the request rate under a ceiling, so REDCap's per-IP limiter never bans us.

REDCap counts every request per client IP and, above ``page_hit_threshold_per_minute``
(600 by default), bans the IP permanently. We space the *starts* of requests by at least
``1 / rate`` seconds; that also covers retries, which go through the same limiter.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from worker.errors import ConfigError


class RateLimiter:
    """Thread-safe spacing of request starts. Each caller reserves the next free slot under a
    lock and then sleeps outside it, so waiting callers do not block each other's bookkeeping.

    ``clock`` must be monotonic; ``clock`` and ``sleep`` are injectable so tests need no real
    time.
    """

    def __init__(
        self,
        max_per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not max_per_second > 0:
            raise ConfigError(f"max requests per second must be positive, not {max_per_second}")
        self.interval = 1.0 / max_per_second
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_slot: float | None = None

    def acquire(self) -> float:
        """Block until this caller may start a request; return the seconds it waited."""
        with self._lock:
            now = self._clock()
            slot = now if self._next_slot is None else max(now, self._next_slot)
            self._next_slot = slot + self.interval
        wait = slot - now
        if wait > 0:
            self._sleep(wait)
            # Woken late (a busy process, a garbage collection holding the interpreter), this
            # caller starts late: the next may not follow it sooner than the interval, as it
            # could if the next slot still counted from the planned one.
            woke = self._clock()
            if woke > slot:
                with self._lock:
                    self._next_slot = max(self._next_slot, woke + self.interval)
        return wait
