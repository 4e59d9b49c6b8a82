"""``in_order``: tasks several at a time, results in the tasks' order, a bounded window, an
error in its place, and no thread left behind."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from functools import partial

import pytest

from worker.redcap_client.concurrency import abandon_when, in_order, is_abandoned, on_its_own

WHO = contextvars.ContextVar("WHO", default="nobody")
WAIT_S = 10  # an upper bound on a wait for an event, never reached when all is well


def pool_threads(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(name)]


def test_results_come_in_the_tasks_order_whichever_finishes_first() -> None:
    last_done = threading.Event()
    finished: list[int] = []

    def task(n: int) -> Callable[[], int]:
        def run() -> int:
            if n == 0:  # the first task finishes only after the last one
                assert last_done.wait(WAIT_S)
            finished.append(n)
            if n == 2:
                last_done.set()
            return n

        return run

    assert list(in_order([task(n) for n in range(3)], width=3, name="t-order")) == [0, 1, 2]
    assert finished[-1] == 0


def test_width_tasks_run_ahead_of_the_consumer_and_no_more() -> None:
    started: list[int] = []
    changed = threading.Condition()

    def task(n: int) -> Callable[[], int]:
        def run() -> int:
            with changed:
                started.append(n)
                changed.notify_all()
            return n

        return run

    def reached(count: int) -> bool:
        return len(started) >= count

    consumed = 0
    for _ in in_order([task(n) for n in range(20)], width=3, name="t-window"):
        consumed += 1
        ahead = min(consumed + 4, 20)
        with changed:
            # While the consumer holds one result, the next four are done or under way
            # (three running, one waiting for a thread) and no more start.
            assert changed.wait_for(partial(reached, ahead), WAIT_S)
            assert len(started) == ahead
    assert consumed == 20


def test_a_task_starts_as_soon_as_a_thread_is_free_not_when_the_consumer_asks() -> None:
    release = [threading.Event() for _ in range(8)]
    started: list[int] = []
    running = [0, 0]  # now, most at once
    changed = threading.Condition()

    def task(n: int) -> Callable[[], int]:
        def run() -> int:
            with changed:
                started.append(n)
                running[0] += 1
                running[1] = max(running)
                changed.notify_all()
            assert release[n].wait(WAIT_S)
            with changed:
                running[0] -= 1
            return n

        return run

    def reached(count: int) -> bool:
        return len(started) >= count

    results = in_order([task(n) for n in range(8)], width=3, name="t-free")
    got: list[int] = []
    release[1].set()  # the second task ends at once; the first holds its result back
    consumer = threading.Thread(target=lambda: got.append(next(results)))
    consumer.start()
    with changed:
        # The fourth task took the second's thread while no result had been handed on,
        # and nothing more started: three running, one done and waiting its turn.
        assert changed.wait_for(partial(reached, 4), WAIT_S)
        assert sorted(started) == [0, 1, 2, 3]
    release[0].set()
    consumer.join(WAIT_S)
    assert got == [0]
    with changed:
        assert changed.wait_for(partial(reached, 5), WAIT_S)  # the first handed on: one more
        assert started[-1] == 4
    for event in release:
        event.set()
    assert list(results) == [1, 2, 3, 4, 5, 6, 7]
    assert running[1] == 3  # never more than the width at once


def test_an_error_is_raised_in_its_place_and_the_tasks_ahead_are_given_up() -> None:
    boom = RuntimeError("REDCap went away")
    cancel = threading.Event()
    slow_started = threading.Event()
    seen_abandoned: list[bool] = []

    def ok(n: int) -> Callable[[], int]:
        return lambda: n

    def fails() -> int:
        raise boom

    def slow() -> int:  # still running when the failure is reached
        slow_started.set()
        assert cancel.wait(WAIT_S)
        seen_abandoned.append(is_abandoned())  # what the transport asks before a request
        return 99

    results: list[int] = []
    tasks = [ok(0), ok(1), fails, slow, ok(4)]

    def consume() -> None:
        for result in in_order(tasks, width=3, name="t-error", cancel=cancel):
            results.append(result)
            if result == 1:
                assert slow_started.wait(WAIT_S)

    with pytest.raises(RuntimeError) as caught:
        consume()
    assert caught.value is boom
    assert results == [0, 1]
    assert seen_abandoned == [True]
    assert pool_threads("t-error") == []


def test_a_consumer_that_stops_early_leaves_no_thread_running() -> None:
    ran: list[int] = []

    def task(n: int) -> Callable[[], int]:
        def run() -> int:
            ran.append(n)
            return n

        return run

    results = in_order([task(n) for n in range(100)], width=3, name="t-early")
    for result in results:
        if result == 5:
            break
    results.close()
    assert pool_threads("t-early") == []
    assert len(ran) <= 5 + 3


def test_tasks_run_in_a_copy_of_the_starting_context() -> None:
    WHO.set("the check")
    assert list(in_order([WHO.get, WHO.get], width=2, name="t-ctx")) == ["the check"] * 2


def test_width_one_runs_each_task_in_the_consumer_thread_when_asked() -> None:
    here = threading.current_thread()
    ran: list[int] = []

    def task(n: int) -> Callable[[], threading.Thread]:
        def run() -> threading.Thread:
            ran.append(n)
            return threading.current_thread()

        return run

    results = in_order([task(n) for n in range(3)], width=1, name="t-one")
    assert ran == []
    assert next(results) is here
    assert ran == [0]
    assert list(results) == [here, here]


def test_a_cancelled_run_starts_no_further_task() -> None:
    cancel = threading.Event()
    ran: list[int] = []

    def task(n: int) -> Callable[[], int]:
        def run() -> int:
            ran.append(n)
            if n == 1:
                cancel.set()
            return n

        return run

    for width in (1, 2):
        ran.clear()
        cancel.clear()
        results = list(
            in_order([task(n) for n in range(10)], width=width, name="t-cancel", cancel=cancel)
        )
        assert ran[: len(results)] == results
        assert len(ran) <= 1 + width


def test_work_on_its_own_is_not_given_up_with_the_task_that_started_it() -> None:
    with abandon_when(lambda: True):
        assert is_abandoned()
        with on_its_own():
            assert not is_abandoned()
        assert is_abandoned()
