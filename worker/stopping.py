"""Stopping on SIGTERM or SIGINT, shared by ``run`` and ``sync``: warm, then cold, like rq's
worker.

A stop request is a flag that the work asks about at its safe points: the scheduler's loop,
the sync between export and write batches, and the REDCap client before each attempt of a
request and during its retry waits (``wait_unless_stopped``). So a stop waits at most for
the one request in flight (its connect and read timeouts), never for the retries after it.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType

StopCheck = Callable[[], bool]

# The longest a retry wait sleeps before it looks at the stop flag again.
STOP_POLL_S = 0.5


class Shutdown:
    """First SIGTERM/SIGINT: only record the request. The work sees it at its next safe point
    and ends there (``run``: the scheduler's loop returns within ``STOP_POLL_S``, ``serve``
    shuts the scheduler down and the running sync stops; ``sync``: the sync stops, its
    history line says so, the command exits 0). The handler raises nothing and takes no
    lock: a SystemExit raised wherever the main thread happens to be can land in one of
    APScheduler's ``except BaseException`` blocks (submitting a job, notifying a listener)
    and be swallowed, leaving the scheduler running (seen with a short interval);
    ``scheduler.shutdown()`` inside a handler can deadlock on the executor's lock; setting a
    ``threading.Event`` takes its lock too. Second signal: exit at once (safe: writes are
    idempotent batches with explicit instance numbers).
    """

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.requested = False
        self.signal_name: str | None = None

    def __call__(self) -> bool:
        """Has a stop been asked for? (Read by the scheduler's loop, the sync, the client.)"""
        return self.requested

    def install(self) -> None:
        # Also what makes SIGTERM work at all when Python is PID 1 in a container: the
        # kernel gives PID 1 no default action for it, only the handlers it installs.
        for sig in self.SIGNALS:
            signal.signal(sig, self._warm)

    def _warm(self, signum: int, frame: FrameType | None) -> None:
        self.signal_name = signal.Signals(signum).name
        self.requested = True
        for sig in self.SIGNALS:
            signal.signal(sig, self._cold)

    def _cold(self, signum: int, frame: FrameType | None) -> None:
        # Not through logging: the interrupted main thread may be inside its stream's write.
        line = {
            "event": "second signal: exiting without waiting for the running sync",
            "signal": signal.Signals(signum).name,
            "level": "warning",
            "logger": __name__,
            "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }
        os.write(1, (json.dumps(line) + "\n").encode())
        os._exit(128 + signum)


def wait_unless_stopped(
    seconds: float, should_stop: StopCheck, sleep: Callable[[float], None]
) -> bool:
    """Sleep ``seconds`` in slices of at most ``STOP_POLL_S``, looking at ``should_stop``
    before each; return False as soon as it says yes (the wait was cut short), else True."""
    remaining = seconds
    while remaining > 0:
        if should_stop():
            return False
        step = min(remaining, STOP_POLL_S)
        sleep(step)
        remaining -= step
    return not should_stop()
