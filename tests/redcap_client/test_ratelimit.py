"""The limiter allows at most k request starts in any window of w seconds, where
k = max(1, floor(rate)) and w = k / rate + margin (0.06 s by default; these tests mostly
set 0.05 s, so their windows read 1.05 s). Tests drive it
with a fake clock: nothing sleeps for real and no assertion depends on timing."""

from __future__ import annotations

import bisect
import math
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.examples import examples
from tests.support.redcap_client import FakeTime
from worker.errors import ConfigError
from worker.redcap_client import RateLimiter
from worker.redcap_client.ratelimit import JITTER_MARGIN_S

# Fake times are sums of floats: allow for rounding, nothing more.
EPS = 1e-9


def limiter_on(fake_time: FakeTime, rate: float, *, margin: float = 0.05) -> RateLimiter:
    return RateLimiter(rate, clock=fake_time.clock, sleep=fake_time.sleep, margin=margin)


def run(limiter: RateLimiter, fake_time: FakeTime, durations: list[float]) -> list[float]:
    """Make one request per duration, back to back; return when each one started."""
    starts = []
    for duration in durations:
        limiter.acquire()
        starts.append(fake_time.now)
        fake_time.now += duration
    return starts


@pytest.mark.parametrize(
    ("rate", "margin", "burst", "window"),
    [
        (5.0, 0.05, 5, 1.05),
        (10.0, 0.05, 10, 1.05),
        (50.0, 0.05, 50, 1.05),
        (1.0, 0.05, 1, 1.05),
        (2.5, 0.05, 2, 0.85),  # floor: 2 starts per 0.8 s, never 3 per 1.2 s
        (0.5, 0.05, 1, 2.05),  # below 1/s: one start at a time, 2 s apart
        (1.9, 0.05, 1, 1 / 1.9 + 0.05),
        (49.9, 0.05, 49, 49 / 49.9 + 0.05),
        (5.0, 0.0, 5, 1.0),
        (5.0, 0.2, 5, 1.2),
    ],
)
def test_the_window_follows_from_the_rate_and_margin(
    rate: float, margin: float, burst: int, window: float
) -> None:
    limiter = RateLimiter(rate, margin=margin)
    assert limiter.burst == burst
    assert limiter.window == pytest.approx(window)


def test_the_default_margin_is_60_ms() -> None:
    """Three times the start-to-arrival jitter measured on a busy 2-core machine."""
    assert pytest.approx(0.06) == JITTER_MARGIN_S
    assert RateLimiter(5.0).window == pytest.approx(1.06)


def test_first_k_go_at_once_and_the_next_waits_until_a_window_after_the_first(
    fake_time: FakeTime,
) -> None:
    limiter = limiter_on(fake_time, 5.0)
    waits = [limiter.acquire() for _ in range(11)]
    # Instant requests: five at once, then five more 1.05 s after the first five, and so on.
    assert waits == pytest.approx([0.0] * 5 + [1.05] + [0.0] * 4 + [1.05])
    assert fake_time.sleeps == pytest.approx([1.05, 1.05])
    assert fake_time.now == pytest.approx(1000.0 + 2.1)


def test_a_small_job_needs_no_waits(fake_time: FakeTime) -> None:
    """An incremental sync makes three requests: under the burst, so none waits."""
    limiter = limiter_on(fake_time, 5.0)
    assert [limiter.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert fake_time.sleeps == []


def test_a_fractional_rate_is_floored_to_whole_starts_per_window(fake_time: FakeTime) -> None:
    limiter = limiter_on(fake_time, 2.5)  # 2 starts per 0.8 s + 0.05 s margin
    waits = [limiter.acquire() for _ in range(6)]
    assert waits == pytest.approx([0.0, 0.0, 0.85, 0.0, 0.85, 0.0])


def test_a_rate_below_one_per_second_allows_one_start_per_window(fake_time: FakeTime) -> None:
    limiter = limiter_on(fake_time, 0.5)  # 1 start per 2 s + 0.05 s margin
    assert [limiter.acquire() for _ in range(3)] == pytest.approx([0.0, 2.05, 2.05])


def test_the_margin_is_a_keyword_argument(fake_time: FakeTime) -> None:
    limiter = limiter_on(fake_time, 5.0, margin=0.0)
    assert [limiter.acquire() for _ in range(6)] == pytest.approx([0.0] * 5 + [1.0])


def test_time_spent_elsewhere_counts_and_idle_time_gives_no_extra_credit(
    fake_time: FakeTime,
) -> None:
    limiter = limiter_on(fake_time, 2.0)  # 2 starts per 1.05 s
    assert limiter.acquire() == 0.0
    fake_time.now += 0.3  # the request itself took 0.3 s
    assert limiter.acquire() == 0.0  # second start in the window: no wait
    fake_time.now += 0.3
    assert limiter.acquire() == pytest.approx(0.45)  # 1.05 after the first, 0.6 elapsed
    fake_time.now += 5.0  # idle for several windows: credit for one burst only, not more
    assert [limiter.acquire() for _ in range(3)] == pytest.approx([0.0, 0.0, 1.05])


def test_a_long_export_averages_at_most_the_ceiling(fake_time: FakeTime) -> None:
    """REDCap counts hits per minute: 1000 instant requests at 5/s never put more than
    60 x 5 = 300 starts in one minute (groups of 5 every 1.05 s: at most 58 groups)."""
    limiter = limiter_on(fake_time, 5.0)
    starts = run(limiter, fake_time, [0.0] * 1000)
    assert starts == pytest.approx([1000.0 + (i // 5) * 1.05 for i in range(1000)])
    per_minute = max(bisect.bisect_left(starts, s + 60.0) - i for i, s in enumerate(starts))
    assert per_minute == 58 * 5


@examples(100)
@given(
    rate=st.floats(min_value=0.1, max_value=50.0, exclude_min=True, allow_nan=False),
    n=st.integers(min_value=1, max_value=200),
)
def test_instant_requests_go_in_bursts_of_k_one_window_apart(rate: float, n: int) -> None:
    fake_time = FakeTime()
    k = max(1, math.floor(rate))
    w = k / rate + 0.05
    starts = run(limiter_on(fake_time, rate), fake_time, [0.0] * n)
    assert starts == pytest.approx([1000.0 + (i // k) * w for i in range(n)], abs=EPS)


@examples(200)
@given(
    rate=st.floats(min_value=0.1, max_value=50.0, exclude_min=True, allow_nan=False),
    margin=st.floats(min_value=0.0, max_value=0.5, allow_nan=False),
    durations=st.lists(
        # Mostly short requests, so windows fill up; sometimes long ones, so they drain.
        st.one_of(st.just(0.0), st.floats(0.0, 0.2), st.floats(0.0, 3.0)),
        max_size=80,
    ),
)
def test_no_window_ever_holds_more_than_k_starts_and_no_start_waits_needlessly(
    rate: float, margin: float, durations: list[float]
) -> None:
    fake_time = FakeTime()
    limiter = limiter_on(fake_time, rate, margin=margin)
    k = max(1, math.floor(rate))
    w = k / rate + margin
    ready: list[float] = []  # when each caller asked
    starts: list[float] = []
    for duration in durations:
        ready.append(fake_time.now)
        waited = limiter.acquire()
        starts.append(fake_time.now)
        assert waited == pytest.approx(starts[-1] - ready[-1], abs=EPS)
        fake_time.now += duration
    for i in range(len(starts) - k):
        assert starts[i + k] - starts[i] >= w - EPS
    # ... and no more waiting than that takes: a start is when its caller asked or when the
    # k-th start before it leaves its window, whichever is later.
    for j, start in enumerate(starts):
        earliest = ready[j] if j < k else max(ready[j], starts[j - k] + w)
        assert start == pytest.approx(earliest, abs=EPS)


def test_concurrent_callers_each_get_their_own_slot() -> None:
    """25 threads at 10/s on a clock that never moves: every wait is pure limiting. Ten go
    at once, ten wait one window (1.05 s), five wait two, however the threads interleave."""
    limiter = RateLimiter(10.0, clock=lambda: 0.0, sleep=lambda seconds: None, margin=0.05)
    start_together = threading.Barrier(25)
    waits: list[float] = []
    lock = threading.Lock()

    def caller() -> None:
        start_together.wait()
        waited = limiter.acquire()
        with lock:
            waits.append(waited)

    threads = [threading.Thread(target=caller) for _ in range(25)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(waits) == pytest.approx([0.0] * 10 + [1.05] * 10 + [2.1] * 5)


def test_a_late_wake_up_pushes_later_starts_back() -> None:
    """A caller woken 0.1 s after its slot (the process was busy) started late; the caller
    k starts after it must wait a full window after its real start, not its planned one."""
    now = [0.0]

    def oversleep(seconds: float) -> None:
        now[0] += seconds + 0.1

    limiter = RateLimiter(2.0, clock=lambda: now[0], sleep=oversleep, margin=0.05)  # 2 per 1.05 s
    assert limiter.acquire() == 0.0  # starts at 0.0
    assert limiter.acquire() == 0.0  # starts at 0.0
    assert limiter.acquire() == pytest.approx(1.05)  # planned 1.05, starts at 1.15
    assert limiter.acquire() == 0.0  # starts at 1.15: 1.05 after the second
    assert limiter.acquire() == pytest.approx(1.05)  # not 0.95: 1.05 after 1.15
    assert now[0] == pytest.approx(2.3)


def test_a_late_wake_up_counts_even_after_others_reserved_behind_it() -> None:
    """While C sleeps towards its slot (1.05), two other threads reserve theirs: D at 1.05 and
    E at 2.1. C then wakes late, at 1.3, between them. The next caller, F, must count from C's
    real start: 1.05 after 1.3, not after C's planned 1.05 (too soon: the server would see
    C, E and F within one window), nor after E's 2.1 (needlessly late)."""
    now = [0.0]  # moves only when the test says so
    starts: dict[str, float] = {}

    def acquire(name: str) -> None:
        asked = now[0]
        waited = limiter.acquire()
        # A caller starts at its slot, or when it woke if the clock says that was later.
        starts[name] = max(asked + waited, now[0])

    c_asleep = []

    def sleep(seconds: float) -> None:
        if not c_asleep:  # the first to sleep is C
            c_asleep.append(True)
            acquire("D")  # other threads reserving while C sleeps
            acquire("E")
            now[0] = 1.3  # C wakes 0.25 s after its slot

    limiter = RateLimiter(2.0, clock=lambda: now[0], sleep=sleep, margin=0.05)  # 2 per 1.05 s
    for name in "ABCF":
        acquire(name)
    assert starts == pytest.approx({"A": 0.0, "B": 0.0, "D": 1.05, "C": 1.3, "E": 2.1, "F": 2.35})


@pytest.mark.parametrize("rate", [0.0, -1.0, float("nan")])
def test_a_non_positive_rate_is_a_config_error(rate: float) -> None:
    with pytest.raises(ConfigError, match="max requests per second must be positive"):
        RateLimiter(rate)


def test_an_infinite_rate_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="max requests per second must be finite"):
        RateLimiter(float("inf"))


@pytest.mark.parametrize("margin", [-0.01, float("nan"), float("inf")])
def test_a_negative_or_non_finite_margin_is_a_config_error(margin: float) -> None:
    with pytest.raises(ConfigError, match="rate limit margin must be a non-negative number"):
        RateLimiter(5.0, margin=margin)
