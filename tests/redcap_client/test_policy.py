"""Backoff: exponential, capped, jittered, and stretched to a server's Retry-After."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from worker.errors import ConfigError
from worker.redcap_client.policy import RetryPolicy, parse_retry_after


def test_delays_double_from_the_base_up_to_the_cap() -> None:
    policy = RetryPolicy(attempts=10, base_delay=0.5, max_delay=4.0)
    no_jitter = [policy.delay(n, rng=lambda: 1.0) for n in range(1, 7)]
    assert no_jitter == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_jitter_keeps_at_least_half_the_delay() -> None:
    """Jitter spreads clients out but never turns backoff into a tight loop."""
    policy = RetryPolicy(base_delay=2.0)
    assert policy.delay(1, rng=lambda: 0.0) == 1.0
    assert policy.delay(1, rng=lambda: 0.5) == 1.5
    assert policy.delay(1, rng=lambda: 0.999) == pytest.approx(2.0, abs=0.01)


def test_retry_after_raises_the_delay_up_to_its_cap() -> None:
    policy = RetryPolicy(base_delay=0.5, retry_after_max=60.0)
    assert policy.delay(1, retry_after=7.0, rng=lambda: 1.0) == 7.0
    assert policy.delay(1, retry_after=3600.0, rng=lambda: 1.0) == 60.0
    # A Retry-After shorter than the backoff does not shorten it.
    assert policy.delay(4, retry_after=0.1, rng=lambda: 1.0) == 4.0


@pytest.mark.parametrize(
    "kwargs",
    [{"attempts": 0}, {"base_delay": -1.0}, {"max_delay": float("nan")}, {"retry_after_max": -2}],
)
def test_nonsense_policies_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_retry_after_in_seconds_or_as_http_date() -> None:
    now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after(later, now=now.timestamp) == 90.0
    assert parse_retry_after("-5") == 0.0
    for junk in (None, "", "soon", "inf"):
        assert parse_retry_after(junk) is None
