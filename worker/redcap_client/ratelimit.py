"""Keep the request rate under a ceiling, so REDCap's per-IP limiter never bans us.

REDCap counts every request per client IP and, above ``page_hit_threshold_per_minute``
(600 by default), bans the IP permanently. What it measures is a count of hits in a window,
so that is what we limit: at most ``k`` request *starts* in any window of ``w`` seconds,
with ``k = max(1, floor(rate))`` and ``w = k / rate + margin``. A short job (an incremental
sync is three requests) then runs without artificial waits, while a long export still
averages no more than ``rate`` requests a second. Retries go through the same limiter, so
they count too.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections.abc import Callable

from worker.errors import ConfigError

# Seconds added to each window for the time between our start and the server's arrival
# stamp. The start is taken just before the connection sends (transport._PacedAdapter), after
# the request is built, so what remains is a thread waiting for the interpreter while others
# check or read a batch, and the server's own wait for its interpreter (the sandbox is a
# Python server). Both sides hand the interpreter over every 0.5 ms while requests are in
# flight (worker.handover); measured on a 2-core machine against the sandbox, a check at
# 50,000 participants with no added latency (the tightest pacing, the busiest server): 1 ms
# typical between a start and its arrival, 17 ms at most, and no five starts' window shrank
# by more than 18 ms on arrival. Before the hand-over, 82 ms at most, and a 60 ms margin let
# six requests arrive within one second there.
JITTER_MARGIN_S = 0.06


class RateLimiter:
    """Thread-safe sliding-window limit on request starts: at most ``burst`` starts in any
    window of ``window`` seconds.

    The ``margin`` (seconds) added to the window allows for network jitter between our start
    and the server's arrival stamp: as long as no request's trip takes more than ``margin``
    longer than another's, the server never sees ``burst + 1`` arrivals within
    ``burst / rate`` seconds.

    Each caller reserves its slot under a lock and then sleeps outside it, so waiting callers
    do not block each other's bookkeeping. A caller woken later than its slot records its real
    start, so later reservations count from that; one that reserved while the late caller was
    still asleep keeps its slot, and the margin is what absorbs such small lateness.

    ``clock`` must be monotonic; ``clock`` and ``sleep`` are injectable so tests need no real
    time.
    """

    def __init__(
        self,
        max_per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        margin: float = JITTER_MARGIN_S,
    ) -> None:
        if not max_per_second > 0:
            raise ConfigError(f"max requests per second must be positive, not {max_per_second}")
        if not math.isfinite(max_per_second):
            raise ConfigError(f"max requests per second must be finite, not {max_per_second}")
        if not (margin >= 0 and math.isfinite(margin)):
            raise ConfigError(f"rate limit margin must be a non-negative number, not {margin}")
        # A rate below 1/s still allows one request at a time, just a longer window apart.
        self.burst = max(1, math.floor(max_per_second))
        self.window = self.burst / max_per_second + margin
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        # The latest ``burst`` start times (reserved or real), ascending. Only the latest
        # matter: a new start is allowed once the earliest of them has left its window.
        # Kept sorted rather than in arrival order because a late wake-up can move an entry
        # past later reservations.
        self._starts: list[float] = []

    def acquire(self) -> float:
        """Block until this caller may start a request; return the seconds it waited."""
        with self._lock:
            now = self._clock()
            if len(self._starts) < self.burst:
                slot = now
            else:
                slot = max(now, self._starts[0] + self.window)
            self._record(slot)
        wait = slot - now
        if wait > 0:
            self._sleep(wait)
            # Woken late (a busy process, a garbage collection holding the interpreter), this
            # caller starts late: a later caller must count its window from the real start,
            # or the server could see more than ``burst`` arrivals in one window.
            woke = self._clock()
            if woke > slot:
                with self._lock:
                    if slot in self._starts:  # not yet pushed out by later reservations
                        self._starts.remove(slot)
                    self._record(woke)
        return wait

    def _record(self, start: float) -> None:
        bisect.insort(self._starts, start)
        if len(self._starts) > self.burst:
            del self._starts[0]
