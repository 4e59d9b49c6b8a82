"""The sandbox's notion of "now", injectable so tests can move time without sleeping.

REDCap stamps changes in server-local time to the second; both clocks here return naive
datetimes and the store drops microseconds.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Wall-clock time, as a REDCap server would use."""

    def now(self) -> datetime:
        return datetime.now()


class FakeClock:
    """A clock that moves only when told to: ``clock.advance(minutes=5)``."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, 9, 0, 0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when

    def advance(
        self, *, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0
    ) -> datetime:
        with self._lock:
            self._now += timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
            return self._now
