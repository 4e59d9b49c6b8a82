"""Fixtures for the REDCap client tests (helpers live in ``support.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import responses

from tests.support.redcap_client import TOKEN, URL, FakeTime
from worker.redcap_client import RedcapClient, RetryPolicy


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    """The mocked REDCap endpoint; every registered reply must be used."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def make_client(fake_time: FakeTime) -> Callable[..., RedcapClient]:
    """Build a client on fake time, with no jitter surprises (rng fixed at 0.5)."""

    def make(**kwargs: Any) -> RedcapClient:
        kwargs.setdefault("clock", fake_time.clock)
        kwargs.setdefault("sleep", fake_time.sleep)
        kwargs.setdefault("rng", lambda: 0.5)
        kwargs.setdefault("retry", RetryPolicy(attempts=5, base_delay=0.5, max_delay=30.0))
        return RedcapClient(kwargs.pop("url", URL), kwargs.pop("token", TOKEN), **kwargs)

    return make
