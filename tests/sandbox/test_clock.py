"""The sandbox's notion of "now" (worker/sandbox/clock.py): a fake clock moves only when told."""

from __future__ import annotations

from datetime import datetime

from worker.sandbox.clock import FakeClock, SystemClock


def test_a_fake_clock_stands_still_until_advanced() -> None:
    clock = FakeClock(datetime(2026, 3, 1, 8, 0, 0))
    assert clock.now() == clock.now() == datetime(2026, 3, 1, 8, 0, 0)
    assert clock.advance(days=1, hours=2, minutes=3, seconds=4) == datetime(2026, 3, 2, 10, 3, 4)
    assert clock.now() == datetime(2026, 3, 2, 10, 3, 4)


def test_a_fake_clock_can_be_set_to_any_moment() -> None:
    clock = FakeClock()
    clock.set(datetime(2025, 12, 31, 23, 59, 59))
    assert clock.now() == datetime(2025, 12, 31, 23, 59, 59)


def test_the_system_clock_is_naive_server_local_time() -> None:
    before = datetime.now()
    now = SystemClock().now()
    assert now.tzinfo is None
    assert before <= now <= datetime.now()
