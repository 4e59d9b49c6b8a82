"""When the digest is due: calendar days in the schedule's timezone, not hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from worker.notify.schedule import digest_due

NOW = datetime(2026, 11, 26, 2, 0, 3, tzinfo=UTC)


def test_every_run_is_always_due() -> None:
    assert digest_due("every_run", NOW, NOW, "UTC")


@pytest.mark.parametrize("cadence", ["daily", "weekly"])
def test_the_first_digest_is_due_at_once(cadence) -> None:
    assert digest_due(cadence, None, NOW, "UTC")


def test_daily_counts_calendar_days_so_a_slightly_earlier_run_still_sends() -> None:
    yesterday_a_bit_later = NOW - timedelta(days=1) + timedelta(seconds=2)
    assert digest_due("daily", yesterday_a_bit_later, NOW, "UTC")
    assert not digest_due("daily", NOW - timedelta(hours=2), NOW, "UTC")


def test_the_day_is_the_schedule_timezones_day() -> None:
    # 23:30 UTC is already the next day in Shanghai (UTC+8): a new day there, not in UTC.
    last = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
    now = datetime(2026, 11, 25, 16, 30, tzinfo=UTC)  # 00:30 the next day in Shanghai
    assert digest_due("daily", last, now, "Asia/Shanghai")
    assert not digest_due("daily", last, now, "UTC")


def test_weekly_waits_seven_calendar_days() -> None:
    assert not digest_due("weekly", NOW - timedelta(days=6), NOW, "UTC")
    assert digest_due("weekly", NOW - timedelta(days=7) + timedelta(hours=1), NOW, "UTC")
