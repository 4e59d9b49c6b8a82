"""Dates inside logic: reading REDCap's stored formats, ``datediff`` and ``calcdate``.

Stored dates are always ``YYYY-MM-DD`` (plus `` HH:MM`` or `` HH:MM:SS``), whatever the
display format, so only dash-separated year-first values are read; anything else is not a
date and gives NaN, as in REDCap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from worker.core.logic.protocol import LogicContext
from worker.core.logic.values import NAN, Value

_DATETIME = re.compile(
    r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})"  # date
    r"(?:[ T]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?)?"  # optional time
)
_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?")
# A time with no date is placed on one fixed day so two times can be subtracted.
_TIME_ONLY_DAY = date(2000, 1, 1)

# Seconds per unit, as REDCap defines them (a year is 365.2425 days, a month 30.44 days).
UNIT_SECONDS: dict[str, float] = {
    "y": 31556952.0,
    "M": 2630016.0,
    "d": 86400.0,
    "h": 3600.0,
    "m": 60.0,
    "s": 1.0,
}
# Legacy 4th argument of datediff, naming the display format; ignored since stored values
# are always year-first.
DATE_FORMATS = frozenset({"ymd", "mdy", "dmy"})


@dataclass(frozen=True, slots=True)
class Moment:
    at: datetime
    kind: str  # "date", "datetime" (HH:MM), "datetime_seconds" or "time"


def read_moment(value: Value, ctx: LogicContext) -> Moment | None:
    """A date, datetime or time value, or ``'today'``/``'now'``; ``None`` if not one."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    keyword = text.lower()
    if keyword == "today":
        return Moment(datetime.combine(ctx.today, datetime.min.time()), "date")
    if keyword == "now":
        return Moment(ctx.now.replace(microsecond=0, tzinfo=None), "datetime_seconds")
    try:
        if match := _DATETIME.fullmatch(text):
            year, month, day, hour, minute, second = match.groups()
            at = datetime(
                int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
            )
            kind = "date" if hour is None else "datetime" if second is None else "datetime_seconds"
            return Moment(at, kind)
        if match := _TIME.fullmatch(text):
            hour, minute, second = match.groups()
            at = datetime.combine(_TIME_ONLY_DAY, datetime.min.time()).replace(
                hour=int(hour), minute=int(minute), second=int(second or 0)
            )
            return Moment(at, "time")
    except ValueError:  # 2021-02-30, 25:00 ...
        return None
    return None


def is_signed(flag: Value) -> bool:
    """datediff's returnSigned: true, 'true' or 1."""
    if isinstance(flag, bool):
        return flag
    if isinstance(flag, str):
        return flag.strip().lower() in ("true", "1")
    return flag == 1


def datediff(args: list[Value], ctx: LogicContext) -> float:
    """``datediff(d1, d2, unit[, 'ymd'][, returnSigned])``: d2 - d1 in ``unit``, fractional,
    absolute unless returnSigned; NaN when either side is not a date."""
    first, second, unit, *rest = args
    if rest and isinstance(rest[0], str) and rest[0].strip().lower() in DATE_FORMATS:
        rest = rest[1:]
    signed = bool(rest) and is_signed(rest[0])
    if not isinstance(unit, str) or unit not in UNIT_SECONDS:
        return NAN
    start, end = read_moment(first, ctx), read_moment(second, ctx)
    if start is None or end is None or (start.kind == "time") != (end.kind == "time"):
        return NAN
    difference = (end.at - start.at).total_seconds() / UNIT_SECONDS[unit]
    if unit == "d" and start.kind == end.kind == "date":
        difference = float(round(difference))
    return difference if signed else abs(difference)


def calcdate(start: Value, offset: float, unit: Value, ctx: LogicContext) -> str:
    """``calcdate(date, offset, unit)``: the date moved by ``offset`` units, written in the
    start value's own format (a date stays a date unless the move lands off midnight)."""
    moment = read_moment(start, ctx)
    if moment is None or moment.kind == "time" or not isinstance(unit, str):
        return ""
    seconds = UNIT_SECONDS.get(unit)
    if seconds is None:
        return ""
    try:
        moved = moment.at + timedelta(seconds=offset * seconds)
    except (OverflowError, ValueError):
        return ""
    day = f"{moved.year:04d}-{moved.month:02d}-{moved.day:02d}"
    if moment.kind == "datetime_seconds" or moved.second:
        return f"{day} {moved.hour:02d}:{moved.minute:02d}:{moved.second:02d}"
    if moment.kind == "datetime" or moved.hour or moved.minute:
        return f"{day} {moved.hour:02d}:{moved.minute:02d}"
    return day


def date_part(value: Value, part: str, ctx: LogicContext) -> float:
    """``year``/``month``/``day`` of a date, datetime, ``'today'`` or ``'now'``."""
    moment = read_moment(value, ctx)
    if moment is None or moment.kind == "time":
        return NAN
    return float(getattr(moment.at, part))
