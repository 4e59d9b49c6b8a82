"""When the digest is due: every run, or once the last one is a day or a week old.

"A day old" is counted in calendar days in the schedule's timezone, not in hours: a daily
sync at 02:00 whose last digest went out at 02:00:05 yesterday must send today's, although
slightly less than 24 hours have passed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

Cadence = Literal["every_run", "daily", "weekly"]

_DAYS = {"daily": 1, "weekly": 7}


def digest_due(cadence: Cadence, last: datetime | None, now: datetime, timezone: str) -> bool:
    if cadence == "every_run" or last is None:
        return True
    zone = ZoneInfo(timezone)
    elapsed = (now.astimezone(zone).date() - last.astimezone(zone).date()).days
    return elapsed >= _DAYS[cadence]
