"""Stopping on SIGTERM or SIGINT (worker/stopping.py): the first signal only asks for a stop,
which the work sees at its safe points; waits end as soon as a stop is asked for."""

from __future__ import annotations

import os
import signal

import pytest

from worker.stopping import STOP_POLL_S, Shutdown, wait_unless_stopped


@pytest.fixture
def restore_signals():
    saved = {sig: signal.getsignal(sig) for sig in Shutdown.SIGNALS}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@pytest.mark.usefixtures("restore_signals")
def test_the_first_signal_only_asks_for_a_stop_and_arms_the_second() -> None:
    shutdown = Shutdown()
    shutdown.install()
    os.kill(os.getpid(), signal.SIGTERM)  # raises nothing here: the handler only records it
    assert shutdown()
    assert shutdown.signal_name == "SIGTERM"
    # Now a cold shutdown is armed for both signals (it would _exit: not called here).
    assert signal.getsignal(signal.SIGTERM) == shutdown._cold
    assert signal.getsignal(signal.SIGINT) == shutdown._cold


def test_no_stop_is_asked_for_until_a_signal_comes() -> None:
    shutdown = Shutdown()
    assert not shutdown()
    assert shutdown.signal_name is None


class Sleeper:
    """A clock that records the sleeps and asks for a stop after ``stop_after`` of them."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.slept: list[float] = []
        self.stop_after = stop_after

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    def should_stop(self) -> bool:
        return self.stop_after is not None and len(self.slept) >= self.stop_after


def test_a_wait_without_a_stop_sleeps_all_of_it_in_slices() -> None:
    clock = Sleeper()
    assert wait_unless_stopped(1.2, clock.should_stop, clock.sleep)
    assert clock.slept == [STOP_POLL_S, STOP_POLL_S, pytest.approx(1.2 - 2 * STOP_POLL_S)]


def test_a_stop_ends_the_wait_at_the_next_slice() -> None:
    clock = Sleeper(stop_after=1)
    assert not wait_unless_stopped(10.0, clock.should_stop, clock.sleep)
    assert clock.slept == [STOP_POLL_S]


def test_a_stop_asked_for_before_the_wait_sleeps_not_at_all() -> None:
    clock = Sleeper(stop_after=0)
    assert not wait_unless_stopped(3.0, clock.should_stop, clock.sleep)
    assert clock.slept == []


def test_a_wait_of_nothing_only_reports_the_stop_flag() -> None:
    assert wait_unless_stopped(0, lambda: False, Sleeper().sleep)
    assert not wait_unless_stopped(0, lambda: True, Sleeper().sleep)
