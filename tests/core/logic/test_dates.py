"""dates.py: datediff, calcdate and year/month/day, with 'today' and 'now'."""

from __future__ import annotations

import math
from datetime import date, datetime

import pytest

from worker.core.logic import MappingContext, Value, parse

TODAY = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, 14, 30, 15)
VALUES = {
    "[dob]": "2000-11-26",
    "[visit]": "2026-11-01",
    "[start]": "2026-11-01 08:00",
    "[end]": "2026-11-02 20:30",
    "[t1]": "08:15",
    "[t2]": "17:45",
    "[blank]": "",
    "[mdy]": "11-26-2000",
    "[bad]": "2026-02-30",
}
CTX = MappingContext(VALUES, today=TODAY, now=NOW)


def ev(logic: str) -> Value:
    return parse(logic).evaluate(CTX)


@pytest.mark.parametrize(
    ("logic", "expected"),
    [
        # d2 - d1, absolute unless returnSigned.
        ("datediff('2026-01-01', '2026-01-31', 'd')", 30.0),
        ("datediff('2026-01-31', '2026-01-01', 'd')", 30.0),
        ("datediff('2026-01-31', '2026-01-01', 'd', true)", -30.0),
        ("datediff('2026-01-31', '2026-01-01', 'd', 'true')", -30.0),
        ("datediff('2026-01-31', '2026-01-01', 'd', 1)", -30.0),
        ("datediff('2026-01-31', '2026-01-01', 'd', false)", 30.0),
        ("datediff('2026-01-01', '2026-01-31', 'd', true)", 30.0),
        # Legacy 4th argument (a date format) is skipped; returnSigned is then 5th.
        ("datediff('2026-01-31', '2026-01-01', 'd', 'ymd')", 30.0),
        ("datediff('2026-01-31', '2026-01-01', 'd', 'mdy', true)", -30.0),
        # Units: y = 365.2425 days, M = 30.44 days; fractional results.
        ("datediff('2026-01-01', '2026-01-02', 'h')", 24.0),
        ("datediff('2026-01-01', '2026-01-02', 'm')", 1440.0),
        ("datediff('2026-01-01', '2026-01-02', 's')", 86400.0),
        ("datediff('2026-01-01', '2026-01-02', 'y')", 1 / 365.2425),
        ("datediff('2026-01-01', '2026-01-02', 'M')", 1 / 30.44),
        ("datediff([start], [end], 'h')", 36.5),
        ("datediff([start], [end], 'd')", 36.5 / 24),
        # A date against a datetime: the date is midnight.
        ("datediff('2026-11-01', [start], 'h')", 8.0),
        ("datediff([t1], [t2], 'm')", 570.0),
        # 'today' and 'now' (any case).
        ("datediff([visit], 'today', 'd')", 25.0),
        ("datediff([visit], 'TODAY', 'd')", 25.0),
        ("datediff('today', [visit], 'd', true)", -25.0),
        ("datediff('today', 'now', 'h')", 14.5 + 15 / 3600),
        ("datediff([dob], 'today', 'y')", (TODAY - date(2000, 11, 26)).days / 365.2425),
        # Not dates: NaN (blank).
        ("datediff([blank], 'today', 'd')", math.nan),
        ("datediff([dob], [blank], 'y')", math.nan),
        ("datediff([mdy], 'today', 'd')", math.nan),
        ("datediff([bad], 'today', 'd')", math.nan),
        ("datediff('abc', 'today', 'd')", math.nan),
        ("datediff(5, 'today', 'd')", math.nan),
        ("datediff([t1], 'today', 'd')", math.nan),
        ("datediff([visit], 'today', [blank])", math.nan),
    ],
)
def test_datediff(logic: str, expected: float) -> None:
    result = ev(logic)
    assert isinstance(result, float)
    if math.isnan(expected):
        assert math.isnan(result)
    else:
        assert result == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("logic", "expected"),
    [
        ("datediff([dob], 'today', 'y') >= 18", True),
        ("datediff([dob], 'today', 'y') < 18", False),
        # Blank dates give NaN, so every comparison but <> is false.
        ("datediff([blank], 'today', 'y') >= 18", False),
        ("datediff([blank], 'today', 'y') < 18", False),
        ("datediff([blank], 'today', 'y') = 0", False),
        ("datediff([blank], 'today', 'y') <> 0", True),
        ("datediff([blank], 'today', 'y') = ''", True),
        ("datediff([visit], [blank], 'd', true) < 0", False),
    ],
)
def test_datediff_in_conditions(logic: str, expected: bool) -> None:
    assert ev(logic) is expected


@pytest.mark.parametrize(
    ("logic", "expected"),
    [
        ("calcdate('2026-01-31', 1, 'd')", "2026-02-01"),
        ("calcdate([visit], -7, 'd')", "2026-10-25"),
        ("calcdate([visit], 12, 'h')", "2026-11-01 12:00"),
        ("calcdate([start], 90, 'm')", "2026-11-01 09:30"),
        ("calcdate('2026-11-01 08:00:00', 1, 's')", "2026-11-01 08:00:01"),
        ("calcdate('today', 1, 'd')", "2026-11-27"),
        ("calcdate([blank], 1, 'd')", ""),
        ("calcdate([visit], [blank], 'd')", ""),
        ("calcdate([visit], 1e12, 'y')", ""),
    ],
)
def test_calcdate(logic: str, expected: str) -> None:
    assert ev(logic) == expected


@pytest.mark.parametrize(
    ("logic", "expected"),
    [
        ("year([dob])", 2000.0),
        ("month([start])", 11.0),
        ("day([end])", 2.0),
        ("year('today')", 2026.0),
        ("day('now')", 26.0),
        ("year([blank])", math.nan),
        ("month([t1])", math.nan),
    ],
)
def test_date_parts(logic: str, expected: float) -> None:
    result = ev(logic)
    assert isinstance(result, float)
    assert (math.isnan(result) and math.isnan(expected)) or result == expected


def test_now_defaults_to_midnight_of_today() -> None:
    ctx = MappingContext(today=TODAY)
    assert parse("datediff('today', 'now', 's')").evaluate(ctx) == 0.0
