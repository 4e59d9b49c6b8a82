"""The limiter spaces request starts by 1/rate; tests drive it with a fake clock."""

from __future__ import annotations

import threading

import pytest

from tests.redcap_client.support import FakeTime
from worker.redcap_client import RateLimiter


def test_first_request_goes_at_once_then_starts_are_spaced(fake_time: FakeTime) -> None:
    limiter = RateLimiter(5.0, clock=fake_time.clock, sleep=fake_time.sleep)
    waits = [limiter.acquire() for _ in range(4)]
    assert waits == pytest.approx([0.0, 0.2, 0.2, 0.2])
    assert fake_time.sleeps == pytest.approx([0.2, 0.2, 0.2])


def test_time_spent_elsewhere_counts_towards_the_spacing(fake_time: FakeTime) -> None:
    limiter = RateLimiter(2.0, clock=fake_time.clock, sleep=fake_time.sleep)
    limiter.acquire()
    fake_time.now += 0.3  # the request itself took 0.3 s
    assert limiter.acquire() == pytest.approx(0.2)
    fake_time.now += 5.0  # idle: no debt, no credit
    assert limiter.acquire() == 0.0
    assert limiter.acquire() == pytest.approx(0.5)


def test_threads_each_get_their_own_slot() -> None:
    """Concurrent callers reserve distinct slots 1/rate apart, however they interleave."""
    now = [0.0]  # a clock that never moves: every wait is pure spacing
    waits: list[float] = []
    lock = threading.Lock()

    def record(seconds: float) -> None:
        with lock:
            waits.append(seconds)

    limiter = RateLimiter(10.0, clock=lambda: now[0], sleep=record)
    threads = [threading.Thread(target=limiter.acquire) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # One caller went at once (no sleep); the others waited 0.1, 0.2, ... 1.9 s.
    assert sorted(waits) == pytest.approx([0.1 * n for n in range(1, 20)])


def test_a_late_wake_up_pushes_the_next_start_back() -> None:
    """A caller that wakes 0.1 s after its slot (e.g. the process was busy) starts late; the
    next one still waits the full interval after it, not just until the planned next slot."""
    now = [0.0]

    def oversleep(seconds: float) -> None:
        now[0] += seconds + 0.1

    limiter = RateLimiter(5.0, clock=lambda: now[0], sleep=oversleep)
    assert limiter.acquire() == 0.0  # starts at 0.0
    assert limiter.acquire() == pytest.approx(0.2)  # planned 0.2, starts at 0.3
    assert limiter.acquire() == pytest.approx(0.2)  # not 0.1: starts 0.2 after 0.3
    assert now[0] == pytest.approx(0.6)
